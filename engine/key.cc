#include "engine/key.h"

namespace logtally::engine {

size_t ParseVarintSlow(const char* p, size_t avail, uint64_t* v) {
  uint64_t x = 0;
  for (size_t i = 0; i < avail && i < kMaxVarint; ++i) {
    uint8_t b = static_cast<uint8_t>(p[i]);
    x |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      *v = x;
      return i + 1;
    }
  }
  return 0;
}

void DecodeKey(std::string_view key, size_t columns, std::string_view* values) {
  size_t p = 0;
  for (size_t c = 0; c < columns; ++c) {
    uint64_t v = 0;
    p += ParseVarint(key.data() + p, key.size() - p, &v);
    size_t len = v == 0 ? 0 : v - 1;
    values[c] = key.substr(p, len);
    p += len;
  }
}

}  // namespace logtally::engine
