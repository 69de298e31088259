#include "engine/json_line.h"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <limits>
#include <utility>

#include "engine/arena.h"
#include "engine/ulogd.h"

namespace logtally::engine {
namespace {

namespace od = simdjson::ondemand;

// After a line longer than this, the line buffer, the parser and the arena
// are given back at the next line that fits in it. 1 MiB is ~1000 firewall
// records; what stays allocated per thread is then under ~7 MiB.
constexpr size_t kRetainBytes = size_t{1} << 20;
// What the line buffer and the parser are sized for up front, so that lines
// of ordinary and varying lengths never reallocate them (simdjson would
// otherwise grow to each new longest line, one allocation at a time).
constexpr size_t kInitialCapacity = size_t{64} << 10;
// Arena block: decoded strings and converted fields of an ordinary line are
// a few KiB, so one block serves every line after the first.
constexpr size_t kArenaBlockBytes = size_t{64} << 10;
// Hash tables of the key trie are kept at most 1/4 full, so a key that is
// not wanted (most keys of a line) almost always lands on an empty slot.
constexpr size_t kTableLoadFactor = 4;
constexpr size_t kMinTableSize = 8;

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view TrimRight(const char* begin, const char* end) {
  while (end > begin && IsJsonSpace(end[-1])) --end;
  return std::string_view(begin, static_cast<size_t>(end - begin));
}

// A key as two words: its first 8 bytes (zero-filled past its end) and its
// last 8 (zero when it has 8 or fewer). For keys of up to 16 bytes (nearly
// every key of journald and ulogd lines) equal words and lengths mean equal
// keys, so the lookup compares integers and calls no memcmp.
struct KeyWords {
  uint64_t head;
  uint64_t tail;
};

// p must be readable for max(n, 8) bytes: keys in the line buffer have
// SIMDJSON_PADDING bytes after the line, others are copied into a padded
// temporary first.
inline KeyWords LoadKey(const char* p, size_t n) {
  KeyWords w;
  std::memcpy(&w.head, p, 8);
  if (n < 8) w.head &= (uint64_t{1} << (8 * n)) - 1;
  w.tail = 0;
  if (n > 8) std::memcpy(&w.tail, p + n - 8, 8);
  return w;
}

// Fibonacci hashing of the words and the length; the table index is taken
// from the high bits (Node::shift), which the multiply mixes best.
inline uint64_t HashKey(KeyWords w, size_t n) {
  return (w.head + w.tail * 31 + n) * 0x9E3779B97F4A7C15ull;  // 2^64 / golden ratio, odd
}

bool Hex4(const char* p, const char* end, uint32_t* out) {
  if (end - p < 4) return false;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    char c = p[i];
    uint32_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return false;
    }
    v = v * 16 + d;
  }
  *out = v;
  return true;
}

// UTF-8 of code point cp (surrogates included, as WTF-8 does); returns bytes.
size_t EncodeUtf8(uint32_t cp, char* o) {
  if (cp < 0x80) {
    o[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    o[0] = static_cast<char>(0xC0 | (cp >> 6));
    o[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = static_cast<char>(0xE0 | (cp >> 12));
    o[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    o[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = static_cast<char>(0xF0 | (cp >> 18));
  o[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  o[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  o[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

// Decodes the content of a JSON string (between its quotes) into `out`,
// which has room for n bytes: no escape decodes to more bytes than it takes
// (\uXXXX: 6 -> at most 3; a surrogate pair: 12 -> 4). Returns bytes
// written. Lenient (see the header): an unknown or broken escape keeps its
// backslash and goes on; a lone surrogate is written as 3 bytes.
size_t Unescape(const char* in, size_t n, char* out) {
  const char* end = in + n;
  char* o = out;
  while (in < end) {
    const char* bs = static_cast<const char*>(std::memchr(in, '\\', static_cast<size_t>(end - in)));
    if (bs == nullptr) {
      std::memcpy(o, in, static_cast<size_t>(end - in));
      o += end - in;
      break;
    }
    std::memcpy(o, in, static_cast<size_t>(bs - in));
    o += bs - in;
    in = bs;
    if (end - in < 2) {
      *o++ = '\\';
      ++in;
      break;
    }
    char c = in[1];
    char simple = 0;
    switch (c) {
      case '"':
      case '\\':
      case '/':
        simple = c;
        break;
      case 'b':
        simple = '\b';
        break;
      case 'f':
        simple = '\f';
        break;
      case 'n':
        simple = '\n';
        break;
      case 'r':
        simple = '\r';
        break;
      case 't':
        simple = '\t';
        break;
      case 'u': {
        uint32_t cp;
        if (!Hex4(in + 2, end, &cp)) break;
        in += 6;
        uint32_t lo;
        if (cp >= 0xD800 && cp <= 0xDBFF && end - in >= 6 && in[0] == '\\' && in[1] == 'u' &&
            Hex4(in + 2, end, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          in += 6;
        }
        o += EncodeUtf8(cp, o);
        continue;
      }
      default:
        break;
    }
    if (simple != 0) {
      *o++ = simple;
      in += 2;
    } else {
      *o++ = '\\';  // kept as written; what follows is copied as ordinary bytes
      ++in;
    }
  }
  return static_cast<size_t>(o - out);
}

// A whole decimal integer (optional '-'), without overflow.
bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return false;
  *out = v;
  return true;
}

// An unsigned decimal integer made only of digits, up to `max`.
bool ParseDigits(std::string_view s, uint64_t max, uint64_t* out) {
  if (s.empty() || !IsDigit(s[0])) return false;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return false;
  *out = v;
  return true;
}

// ---- ulogd fields ------------------------------------------------------------

}  // namespace

// ---- The key trie ------------------------------------------------------------
//
// Node 0 is the root object. Each node lists the keys wanted at that level;
// an entry has a slot (its value is wanted) and/or a child node (a path goes
// on inside its value). Slots hold where the value's JSON text is in the line
// buffer, stamped with the line's generation so nothing is cleared per line.

struct JsonLine::Impl {
  struct Entry {
    std::string key;
    int32_t slot = -1;
    int32_t child = -1;
    uint64_t seen_walk = 0;  // only the first occurrence of a key counts
  };
  struct Node {
    std::vector<Entry> entries;
    struct Bucket {
      KeyWords words = {0, 0};
      size_t size = 0;
      int32_t entry = -1;  // -1: empty
    };
    std::vector<Bucket> table;  // open addressing on HashKey's top bits
    size_t mask = 0;
    int shift = 64;
    bool has_index_keys = false;  // some key is all digits: arrays are entered
  };
  struct Slot {
    const char* raw = nullptr;  // the value's JSON text, without surrounding spaces
    size_t raw_size = 0;
    uint32_t gen = 0;            // present on this line when == Impl::gen
    const char* text = nullptr;  // decoded value, cached for the line
    size_t text_size = 0;
    uint32_t text_gen = 0;
  };
  struct UlogdQuery {
    std::string name;
    const UlogdFieldDef* def = nullptr;  // null: a name that is never set
    int32_t slots[kMaxUlogdKeys] = {-1, -1, -1, -1};
    std::string_view cache;
    uint32_t cache_gen = 0;
  };

  explicit Impl(size_t max_bytes) : max_line_bytes(max_bytes) {
    nodes.emplace_back();
    RebuildTable(0);
    slot_message = SlotFor(0, "MESSAGE");
    slot_realtime = SlotFor(0, "__REALTIME_TIMESTAMP");
    slot_transport = SlotFor(0, "_TRANSPORT");
    slot_hostname = SlotFor(0, "_HOSTNAME");
    slot_src_ip = SlotFor(0, "src_ip");
    slot_oob_prefix = SlotFor(0, "oob.prefix");
    slot_dvc = SlotFor(0, "dvc");
    SizeBuffers();
  }

  // The line buffer and the parser at their ordinary size.
  void SizeBuffers() {
    buf_capacity = kInitialCapacity + simdjson::SIMDJSON_PADDING;
    buf.reset(new char[buf_capacity]);
    // A failed allocation is retried by Load (the line is then malformed).
    [[maybe_unused]] simdjson::error_code error = parser.allocate(kInitialCapacity);
  }

  // ---- registration (construction time, or a new ulogd name) ----

  void RebuildTable(int32_t n) {
    Node& node = nodes[static_cast<size_t>(n)];
    size_t size = kMinTableSize;
    while (size < node.entries.size() * kTableLoadFactor) size *= 2;
    node.table.assign(size, Node::Bucket{});
    node.mask = size - 1;
    node.shift = 64 - static_cast<int>(std::countr_zero(size));
    for (size_t e = 0; e < node.entries.size(); ++e) {
      const std::string& key = node.entries[e].key;
      std::string padded = key + std::string(8, '\0');
      KeyWords w = LoadKey(padded.data(), key.size());
      size_t i = HashKey(w, key.size()) >> node.shift;
      while (node.table[i].entry >= 0) i = (i + 1) & node.mask;
      node.table[i] = Node::Bucket{w, key.size(), static_cast<int32_t>(e)};
    }
  }

  int32_t EntryFor(int32_t n, std::string_view key) {
    Node& node = nodes[static_cast<size_t>(n)];
    for (size_t e = 0; e < node.entries.size(); ++e) {
      if (node.entries[e].key == key) return static_cast<int32_t>(e);
    }
    node.entries.push_back(Entry{std::string(key)});
    if (!key.empty() && std::all_of(key.begin(), key.end(), IsDigit)) node.has_index_keys = true;
    RebuildTable(n);
    return static_cast<int32_t>(node.entries.size() - 1);
  }

  int32_t SlotFor(int32_t n, std::string_view key) {
    int32_t e = EntryFor(n, key);
    Entry& entry = nodes[static_cast<size_t>(n)].entries[static_cast<size_t>(e)];
    if (entry.slot < 0) {
      entry.slot = static_cast<int32_t>(slots.size());
      slots.emplace_back();
    }
    return entry.slot;
  }

  int32_t ChildFor(int32_t n, std::string_view key) {
    int32_t e = EntryFor(n, key);
    int32_t child = nodes[static_cast<size_t>(n)].entries[static_cast<size_t>(e)].child;
    if (child < 0) {
      child = static_cast<int32_t>(nodes.size());
      nodes.emplace_back();
      RebuildTable(child);
      nodes[static_cast<size_t>(n)].entries[static_cast<size_t>(e)].child = child;
    }
    return child;
  }

  // The candidates of segments [k, end) at node n, in the order of the path
  // rule: the rest as one literal key, then the first segment and recurse.
  void AddPath(int32_t n, const std::vector<std::string_view>& segs, size_t k,
               std::vector<int32_t>* out) {
    std::string literal;
    for (size_t i = k; i < segs.size(); ++i) {
      if (i > k) literal += '.';
      literal.append(segs[i]);
    }
    out->push_back(SlotFor(n, literal));
    if (segs.size() - k > 1) AddPath(ChildFor(n, segs[k]), segs, k + 1, out);
  }

  void AddPath(std::string_view path) {
    std::vector<int32_t> candidates;
    if (!path.empty() && path[0] == '.') path.remove_prefix(1);
    path_is_root.push_back(path.empty());
    if (!path.empty()) {
      std::vector<std::string_view> segs;
      size_t start = 0;
      for (;;) {
        size_t dot = path.find('.', start);
        segs.push_back(path.substr(start, dot == std::string_view::npos ? dot : dot - start));
        if (dot == std::string_view::npos) break;
        start = dot + 1;
      }
      AddPath(0, segs, 0, &candidates);
    }
    path_slots.push_back(std::move(candidates));
  }

  // Index into `ulogd` of `name`, registering it (and walking the current
  // line again when it brings new keys).
  size_t UlogdIndex(std::string_view name) {
    for (size_t i = 0; i < ulogd.size(); ++i) {
      if (ulogd[i].name == name) return i;
    }
    UlogdQuery q;
    q.name = std::string(name);
    size_t slots_before = slots.size();
    if (const UlogdFieldDef* def = FindUlogdField(name); def != nullptr) {
      q.def = def;
      for (size_t k = 0; k < kMaxUlogdKeys && !def->keys[k].empty(); ++k) {
        q.slots[k] = SlotFor(0, def->keys[k]);
      }
    }
    ulogd.push_back(std::move(q));
    // Rescan: this line was walked without the new keys. Same generation, so
    // what was captured stays (and views already handed out stay valid).
    if (slots.size() != slots_before && walked) {
      (void)Walk();
    }
    return ulogd.size() - 1;
  }

  // ---- per line ----

  void NextLine() {
    if (++gen == 0) {  // wrapped after 2^32 lines: clear the stamps once
      for (Slot& s : slots) s.gen = s.text_gen = 0;
      for (UlogdQuery& q : ulogd) q.cache_gen = 0;
      gen = 1;
    }
    arena.Reset();
    walked = false;
  }

  // Copies the line into the padded buffer.
  bool Load(std::string_view line) {
    if (buf_capacity > kRetainBytes + simdjson::SIMDJSON_PADDING && line.size() <= kRetainBytes) {
      parser = od::parser();
      SizeBuffers();
      arena.Trim();
    }
    size_t need = line.size() + simdjson::SIMDJSON_PADDING;
    if (need > buf_capacity) {
      // Geometric growth, so a run of slowly longer lines costs few copies.
      buf_capacity =
          std::max(need, std::min(2 * buf_capacity, max_line_bytes + simdjson::SIMDJSON_PADDING));
      buf.reset(new char[buf_capacity]);
    }
    std::memcpy(buf.get(), line.data(), line.size());
    // simdjson does not need the padding zeroed, but LoadKey's 8-byte loads may
    // read it, and defined bytes keep sanitizers quiet.
    std::memset(buf.get() + line.size(), 0, simdjson::SIMDJSON_PADDING);
    line_size = line.size();
    line_has_backslash = std::memchr(line.data(), '\\', line.size()) != nullptr;
    if (line.size() > parser.capacity()) {
      size_t cap = std::max(line.size(), std::min(2 * parser.capacity(), max_line_bytes));
      if (parser.allocate(cap) != simdjson::SUCCESS) return false;
    }
    return true;
  }

  // Stage 1 and the walk over the root object; false when the line is
  // malformed. The document lives only for the walk, so no parser state is
  // kept between calls; a re-walk for a new ulogd name runs stage 1 again
  // (once per name and thread: ~0.3 us).
  bool Walk() {
    ++walk_id;
    od::document doc;
    if (parser.iterate(buf.get(), line_size, buf_capacity).get(doc) != simdjson::SUCCESS) {
      return false;
    }
    od::object root;
    if (doc.get_object().get(root) != simdjson::SUCCESS) return false;
    if (!WalkObject(root, 0)) return false;
    // Anything after the root object (`{} {}`, `{"a":1}x`) is not one value.
    const char* rest;
    if (doc.current_location().get(rest) == simdjson::SUCCESS) return false;
    walked = true;
    return true;
  }

  // Entry of the key whose unescaped bytes are [key, key + n) at node, or -1.
  int32_t Find(const Node& node, const char* key, size_t n) const {
    const KeyWords w = LoadKey(key, n);
    size_t i = HashKey(w, n) >> node.shift;
    for (;;) {
      const Node::Bucket& bucket = node.table[i];
      if (bucket.entry < 0) return -1;
      if (bucket.words.head == w.head && bucket.words.tail == w.tail && bucket.size == n &&
          (n <= 16 || std::memcmp(node.entries[static_cast<size_t>(bucket.entry)].key.data() + 8,
                                  key + 8, n - 16) == 0)) {
        return bucket.entry;
      }
      i = (i + 1) & node.mask;
    }
  }

  // As Find, for a key's raw bytes (between its quotes).
  int32_t Lookup(const Node& node, const char* key, size_t n) {
    // Most lines hold no backslash at all (Load checks once per line), and
    // then no key needs decoding.
    if (!line_has_backslash || std::memchr(key, '\\', n) == nullptr) return Find(node, key, n);
    key_scratch.resize(n + 8);
    size_t k = Unescape(key, n, key_scratch.data());
    std::memset(key_scratch.data() + k, 0, 8);  // LoadKey's padding
    return Find(node, key_scratch.data(), k);
  }

  // The fields of `object` at node n: every key is looked up, only wanted
  // values are visited, the rest are skipped by the iterator. This loop is
  // the per-line cost; see the comments inside before changing it.
  bool WalkObject(od::object object, int32_t n) {
    // Nodes are only added between walks, so this reference holds.
    const Node& node = nodes[static_cast<size_t>(n)];
    for (auto field_result : object) {
      // Used in place. Moving it into an od::field stores its parts
      // separately and reloads them as one 16-byte word: a store-forwarding
      // stall that took a third of the whole parse (perf, 1.5 -> 0.8 us/line).
      if (field_result.error() != simdjson::SUCCESS) return false;
      od::field& field = field_result.value_unsafe();
      // The key ends at the quote before the ':' before the value: simdjson
      // has checked that shape, and stepping back over `": ` from the value
      // is cheaper than scanning the key forward for its closing quote.
      const char* key = field.key().raw();
      const char* q = field.value().raw_json_token().data() - 1;
      if (q[0] == ':' && q[-1] == '"') {  // "key":value, as journald writes
        --q;
      } else if (q[0] == ' ' && q[-1] == ':' && q[-2] == '"') {  // "key": value, as jansson (ulogd)
        q -= 2;
      } else {
        while (IsJsonSpace(*q)) --q;  // to the ':'
        --q;
        while (IsJsonSpace(*q)) --q;  // to the key's closing quote
      }
      int32_t e = Lookup(node, key, static_cast<size_t>(q - key));
      if (e < 0) continue;  // the iterator skips the value
      od::value value = field.value();
      if (!Visit(value, n, e)) return false;
    }
    return true;
  }

  bool WalkArray(od::array array, int32_t n) {
    size_t index = 0;
    for (auto element_result : array) {
      if (element_result.error() != simdjson::SUCCESS) return false;
      od::value& element = element_result.value_unsafe();
      char digits[24] = {};  // 20 digits at most, then zeros for LoadKey's 8-byte load
      auto [end, ec] = std::to_chars(digits, digits + 20, index);
      int32_t e = Lookup(nodes[static_cast<size_t>(n)], digits, static_cast<size_t>(end - digits));
      if (e >= 0 && !Visit(element, n, e)) return false;
      ++index;
    }
    return true;
  }

  bool Visit(od::value& value, int32_t n, int32_t e) {
    Entry& entry = nodes[static_cast<size_t>(n)].entries[static_cast<size_t>(e)];
    if (entry.seen_walk == walk_id) return true;  // a duplicate key: the first one counts
    entry.seen_walk = walk_id;
    const int32_t slot = entry.slot;
    const int32_t child = entry.child;
    std::string_view token = value.raw_json_token();
    if (token.empty()) return false;
    const char c = token[0];
    if (child >= 0 &&
        (c == '{' || (c == '[' && nodes[static_cast<size_t>(child)].has_index_keys))) {
      const char* begin = token.data();
      if (c == '{') {
        od::object object;
        if (value.get_object().get(object) != simdjson::SUCCESS || !WalkObject(object, child)) {
          return false;
        }
      } else {
        od::array array;
        if (value.get_array().get(array) != simdjson::SUCCESS || !WalkArray(array, child)) {
          return false;
        }
      }
      if (slot >= 0) {
        // The value ends before the next token (',' or the parent's close).
        const char* next;
        if (value.current_location().get(next) != simdjson::SUCCESS) return false;
        Capture(slot, TrimRight(begin, next));
      }
      return true;
    }
    if (slot < 0) return true;
    if (c == '{') {
      od::object object;
      std::string_view raw;
      if (value.get_object().get(object) != simdjson::SUCCESS ||
          object.raw_json().get(raw) != simdjson::SUCCESS) {
        return false;
      }
      Capture(slot, TrimRight(raw.data(), raw.data() + raw.size()));
    } else if (c == '[') {
      od::array array;
      std::string_view raw;
      if (value.get_array().get(array) != simdjson::SUCCESS ||
          array.raw_json().get(raw) != simdjson::SUCCESS) {
        return false;
      }
      Capture(slot, TrimRight(raw.data(), raw.data() + raw.size()));
    } else {
      Capture(slot, TrimRight(token.data(), token.data() + token.size()));
    }
    return true;
  }

  void Capture(int32_t s, std::string_view raw) {
    Slot& slot = slots[static_cast<size_t>(s)];
    if (slot.gen == gen) return;  // a re-walk: keep what views already point at
    slot.raw = raw.data();
    slot.raw_size = raw.size();
    slot.gen = gen;
  }

  bool Present(int32_t s) const { return slots[static_cast<size_t>(s)].gen == gen; }

  std::string_view Raw(int32_t s) const {
    const Slot& slot = slots[static_cast<size_t>(s)];
    return std::string_view(slot.raw, slot.raw_size);
  }

  // The value's text (see PathValue); the slot must be present.
  std::string_view Text(int32_t s) {
    Slot& slot = slots[static_cast<size_t>(s)];
    if (slot.text_gen == gen) return std::string_view(slot.text, slot.text_size);
    std::string_view out;
    std::string_view raw(slot.raw, slot.raw_size);
    if (raw[0] == '"') {
      std::string_view inner = raw.substr(1, raw.size() - 2);
      if (inner.find('\\') == std::string_view::npos) {
        out = inner;
      } else {
        char* dst = arena.Alloc(inner.size());
        out = std::string_view(dst, Unescape(inner.data(), inner.size(), dst));
      }
    } else if (raw[0] != 'n') {  // null reads as empty; numbers, true, false, {..}, [..] as written
      out = raw;
    }
    slot.text = out.data();
    slot.text_size = out.size();
    slot.text_gen = gen;
    return out;
  }

  // journald's MESSAGE as an array of byte values: `[78, 69, 255]`.
  bool DecodeByteArray(std::string_view raw, std::string_view* out) {
    const char* p = raw.data() + 1;
    const char* end = raw.data() + raw.size() - 1;  // the ']'
    char* dst = arena.Alloc(raw.size());            // at most one byte per 2 bytes of text
    size_t n = 0;
    auto skip_space = [&] {
      while (p < end && IsJsonSpace(*p)) ++p;
    };
    skip_space();
    while (p < end) {
      unsigned v = 0;
      const char* digits = p;
      // Four digits are enough to tell a value over 255 (without overflow).
      while (p < end && IsDigit(*p) && p - digits < 4) {
        v = v * 10 + static_cast<unsigned>(*p - '0');
        ++p;
      }
      if (p == digits || v > 255) return false;
      dst[n++] = static_cast<char>(v);
      skip_space();
      if (p == end) break;
      if (*p != ',') return false;
      ++p;
      skip_space();
      if (p == end) return false;  // a trailing comma
    }
    *out = std::string_view(dst, n);
    return true;
  }

  std::string_view UlogdValue(UlogdQuery& q) {
    if (q.cache_gen == gen) return q.cache;
    std::string_view v;
    if (q.def != nullptr) {
      for (int32_t s : q.slots) {
        if (s < 0) break;
        if (!Present(s)) continue;
        v = Convert(q.def->conv, Text(s));
        break;
      }
    }
    q.cache = v;
    q.cache_gen = gen;
    return v;
  }

  std::string_view Convert(Conv conv, std::string_view v) {
    uint64_t x;
    switch (conv) {
      case Conv::kAsIs:
        return v;
      case Conv::kProto: {
        if (!ParseDigits(v, 255, &x)) return v;
        std::string_view name = UlogdProtocolName(x);
        return name.empty() ? v : name;
      }
      case Conv::kTrimSpaces: {
        size_t b = v.find_first_not_of(' ');
        if (b == std::string_view::npos) return {};
        return v.substr(b, v.find_last_not_of(' ') - b + 1);
      }
      case Conv::kTos:
      case Conv::kPrec: {
        if (!ParseDigits(v, 255, &x)) return v;
        static constexpr char kHex[] = "0123456789ABCDEF";
        x &= conv == Conv::kTos ? 0x1E : 0xE0;  // IPTOS_TOS_MASK, IPTOS_PREC_MASK
        char* dst = arena.Alloc(4);
        dst[0] = '0';
        dst[1] = 'x';
        dst[2] = kHex[x >> 4];
        dst[3] = kHex[x & 15];
        return std::string_view(dst, 4);
      }
      case Conv::kMark: {
        if (!ParseDigits(v, std::numeric_limits<uint32_t>::max(), &x)) return v;
        if (x == 0) return {};
        char* dst = arena.Alloc(2 + 8);
        dst[0] = '0';
        dst[1] = 'x';
        auto [end, ec] = std::to_chars(dst + 2, dst + 10, x, 16);
        return std::string_view(dst, static_cast<size_t>(end - dst));
      }
    }
    return v;
  }

  od::parser parser;
  std::unique_ptr<char[]> buf;
  size_t buf_capacity = 0;
  size_t line_size = 0;
  bool line_has_backslash = false;
  size_t max_line_bytes;
  bool walked = false;
  uint32_t gen = 0;
  uint64_t walk_id = 0;
  // Decoded strings and converted fields of the current line.
  Arena arena{kArenaBlockBytes, kArenaBlockBytes};
  std::string key_scratch;
  std::vector<Node> nodes;
  std::vector<Slot> slots;
  std::vector<std::vector<int32_t>> path_slots;  // per path: candidate slots, best first
  std::vector<bool> path_is_root;
  std::vector<UlogdQuery> ulogd;
  int32_t slot_message, slot_realtime, slot_transport, slot_hostname;
  int32_t slot_src_ip, slot_oob_prefix, slot_dvc;
};

JsonLine::JsonLine(std::vector<std::string> paths, size_t max_line_bytes)
    : impl_(std::make_unique<Impl>(max_line_bytes)) {
  for (const std::string& p : paths) impl_->AddPath(p);
}

JsonLine::~JsonLine() = default;

JsonLine::Kind JsonLine::Parse(std::string_view line) {
  Impl& m = *impl_;
  m.NextLine();
  message_ = {};
  hostname_ = {};
  has_time_ = false;
  realtime_us_ = 0;
  kind_ = Kind::kMalformed;
  if (line.size() > m.max_line_bytes || !m.Load(line) || !m.Walk()) {
    ++malformed_count_;
    return kind_;
  }
  kind_ = Classify();
  if (kind_ == Kind::kJournald) SetJournald();
  return kind_;
}

JsonLine::Kind JsonLine::Classify() {
  const Impl& m = *impl_;
  if (m.Present(m.slot_message) && (m.Present(m.slot_realtime) || m.Present(m.slot_transport))) {
    return Kind::kJournald;
  }
  if (m.Present(m.slot_src_ip) || m.Present(m.slot_oob_prefix) || m.Present(m.slot_dvc)) {
    return Kind::kUlogd;
  }
  return Kind::kOther;
}

void JsonLine::SetJournald() {
  Impl& m = *impl_;
  std::string_view raw = m.Raw(m.slot_message);
  if (raw[0] != '[' || !m.DecodeByteArray(raw, &message_)) message_ = m.Text(m.slot_message);
  if (m.Present(m.slot_hostname)) hostname_ = m.Text(m.slot_hostname);
  if (m.Present(m.slot_realtime)) has_time_ = ParseInt64(m.Text(m.slot_realtime), &realtime_us_);
  if (!has_time_) realtime_us_ = 0;
}

std::string_view JsonLine::UlogdField(std::string_view name) {
  if (kind_ != Kind::kUlogd) return {};
  Impl& m = *impl_;
  return m.UlogdValue(m.ulogd[m.UlogdIndex(name)]);
}

size_t JsonLine::UlogdFieldId(std::string_view name) { return impl_->UlogdIndex(name); }

std::string_view JsonLine::UlogdFieldAt(size_t id) {
  Impl& m = *impl_;
  if (kind_ != Kind::kUlogd || id >= m.ulogd.size()) return {};
  return m.UlogdValue(m.ulogd[id]);
}

bool JsonLine::UlogdTime(int64_t* epoch_us) {
  return ParseUlogdTime(UlogdField("TIME"), epoch_us, nullptr);
}

std::string_view JsonLine::PathValue(size_t i) {
  Impl& m = *impl_;
  if (kind_ == Kind::kMalformed || i >= m.path_slots.size()) return {};
  if (m.path_is_root[i]) {
    std::string_view all(m.buf.get(), m.line_size);
    size_t b = all.find_first_not_of(" \t\n\r");  // a valid line holds an object
    return TrimRight(all.data() + b, all.data() + all.size());
  }
  for (int32_t s : m.path_slots[i]) {
    if (m.Present(s)) return m.Text(s);
  }
  return {};
}

size_t JsonLine::path_count() const { return impl_->path_slots.size(); }

}  // namespace logtally::engine
