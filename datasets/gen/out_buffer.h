// A growable output byte buffer with hand-written formatting of integers, hex,
// IPv4/IPv6/MAC addresses and JSON strings.
//
// The hot path never checks capacity per field: callers Reserve() room for a
// whole event (kMaxEventBytes) once and then append freely. This is what lets
// the generator format hundreds of megabytes per second per core.
#ifndef LOGTALLY_DATASETS_GEN_OUT_BUFFER_H_
#define LOGTALLY_DATASETS_GEN_OUT_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace logtally::datasets {

// Upper bound on the bytes one event formats to, in any output format. The
// longest event is a journald-wrapped audit or boot line (well under 1 KiB);
// 4 KiB leaves room for every field at its maximum width.
inline constexpr size_t kMaxEventBytes = 4096;

class OutBuffer {
 public:
  OutBuffer() = default;
  OutBuffer(const OutBuffer&) = delete;
  OutBuffer& operator=(const OutBuffer&) = delete;

  // Guarantees room for `n` more bytes.
  void Reserve(size_t n) {
    if (static_cast<size_t>(end_ - cur_) < n) Grow(n);
  }
  void Clear() { cur_ = data_.get(); }
  const char* data() const { return data_.get(); }
  size_t size() const { return static_cast<size_t>(cur_ - data_.get()); }

  void Put(char c) { *cur_++ = c; }
  void Put(std::string_view s) {
    std::memcpy(cur_, s.data(), s.size());
    cur_ += s.size();
  }
  // A string literal, its length known at compile time.
  template <size_t N>
  void Lit(const char (&s)[N]) {
    std::memcpy(cur_, s, N - 1);
    cur_ += N - 1;
  }

  // Decimal, no padding.
  void U64(uint64_t v);
  void U32(uint32_t v) { U64(v); }
  // Exactly `width` digits, zero-padded (v must fit).
  void ZeroPadded(uint64_t v, int width);
  // At least `width` characters, right-aligned with spaces (like "%5lu").
  void SpacePadded(uint64_t v, int width);
  // Two uppercase / lowercase hex digits.
  void Hex2Upper(uint8_t v);
  void Hex2Lower(uint8_t v);
  // Lowercase hex, zero-padded to `width` digits (0 = minimal).
  void HexLower(uint64_t v, int width);

  void IPv4(uint32_t addr);
  // The kernel's %pI6: eight groups of four lowercase hex digits.
  void IPv6Full(const uint8_t* addr);
  // RFC 5952: leading zeros dropped, the longest run of 2+ zero groups as "::".
  void IPv6Compressed(const uint8_t* addr);
  // Bytes as lowercase hex pairs joined by ':' (MAC= and mac.str).
  void HexColon(const uint8_t* bytes, size_t n);
  // `s` JSON-escaped (quotes, backslash, control bytes), without the quotes.
  void JsonEscaped(std::string_view s);

 private:
  void Grow(size_t n);

  std::unique_ptr<char[]> data_;
  char* cur_ = nullptr;
  char* end_ = nullptr;
};

}  // namespace logtally::datasets

#endif  // LOGTALLY_DATASETS_GEN_OUT_BUFFER_H_
