// The key codec: how a group's column values become the bytes that are
// hashed, counted, spilled and sorted on, and back. Also the LEB128 varints
// that the key and the temporary-file records (spill.h, external_merge.h)
// share, so the encoding is written once.
//
// An encoded key is, per column, a varint of (value length + 1), 0 for a
// missing or empty value, then the value's bytes. Distinct groups have
// distinct encodings, and a key is self-delimiting given its column count.
//
// This file does not know what the columns mean (query.h) or how a value is
// shown (display.h). The encoders are inline: LineEvaluator encodes one key
// per counted line.
#ifndef LOGTALLY_ENGINE_KEY_H_
#define LOGTALLY_ENGINE_KEY_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace logtally::engine {

// The longest varint of a 64-bit value.
inline constexpr size_t kMaxVarint = 10;

// Writes v's varint to out (room for kMaxVarint bytes); returns its length.
inline size_t EncodeVarint(uint64_t v, char* out) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out[n++] = static_cast<char>(v);
  return n;
}

inline void AppendVarint(std::string& out, uint64_t v) {
  char b[kMaxVarint];
  out.append(b, EncodeVarint(v, b));
}

// Parses a varint at p (at most `avail` bytes); returns bytes used, 0 if it
// is cut short or longer than kMaxVarint.
size_t ParseVarintSlow(const char* p, size_t avail, uint64_t* v);
inline size_t ParseVarint(const char* p, size_t avail, uint64_t* v) {
  // One byte (under 128) is the common case: counts of 1, short keys.
  if (avail > 0 && (static_cast<uint8_t>(p[0]) & 0x80) == 0) {
    *v = static_cast<uint8_t>(p[0]);
    return 1;
  }
  return ParseVarintSlow(p, avail, v);
}

// The most bytes one column of value `v` takes in a key.
inline size_t MaxKeyValueSize(std::string_view v) { return kMaxVarint + v.size(); }

// Writes one column of a key at `out` (room for MaxKeyValueSize(v) bytes);
// returns the end of what was written.
inline char* EncodeKeyValue(std::string_view v, char* out) {
  out += EncodeVarint(v.empty() ? 0 : v.size() + 1, out);
  if (!v.empty()) std::memcpy(out, v.data(), v.size());
  return out + v.size();
}

// Appends one column of a key to `key`.
inline void AppendKeyValue(std::string& key, std::string_view value) {
  AppendVarint(key, value.empty() ? 0 : value.size() + 1);
  key.append(value);
}

// Decodes the first `columns` values of an encoded key into values[0,
// columns); a missing or empty value comes back empty. The key must be a
// whole key of at least that many columns.
void DecodeKey(std::string_view key, size_t columns, std::string_view* values);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_KEY_H_
