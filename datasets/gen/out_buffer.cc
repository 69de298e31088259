// Formatting primitives of OutBuffer: table-driven decimal, hex and addresses.
#include "datasets/gen/out_buffer.h"

#include <algorithm>
#include <array>

namespace logtally::datasets {
namespace {

// "00".."99": two digits per division halves the divisions.
constexpr std::array<char, 200> MakeDigitPairs() {
  std::array<char, 200> t{};
  for (int i = 0; i < 100; ++i) {
    t[2 * i] = static_cast<char>('0' + i / 10);
    t[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return t;
}
constexpr std::array<char, 200> kDigitPairs = MakeDigitPairs();

// Decimal text of every octet, padded to 4 bytes so one fixed-size copy
// writes it (the caller's Reserve() covers the overshoot).
struct Octet {
  char text[4];
  uint8_t len;
};
constexpr std::array<Octet, 256> MakeOctets() {
  std::array<Octet, 256> t{};
  for (int i = 0; i < 256; ++i) {
    Octet o{};
    if (i >= 100) {
      o.text[0] = static_cast<char>('0' + i / 100);
      o.text[1] = static_cast<char>('0' + i / 10 % 10);
      o.text[2] = static_cast<char>('0' + i % 10);
      o.len = 3;
    } else if (i >= 10) {
      o.text[0] = static_cast<char>('0' + i / 10);
      o.text[1] = static_cast<char>('0' + i % 10);
      o.len = 2;
    } else {
      o.text[0] = static_cast<char>('0' + i);
      o.len = 1;
    }
    t[i] = o;
  }
  return t;
}
constexpr std::array<Octet, 256> kOctets = MakeOctets();

constexpr char kHexLower[] = "0123456789abcdef";

// "00:01:...:ff:", the lowercase hex of every byte followed by a colon.
constexpr std::array<char, 768> MakeHexColon() {
  std::array<char, 768> t{};
  for (int i = 0; i < 256; ++i) {
    t[3 * i] = kHexLower[i >> 4];
    t[3 * i + 1] = kHexLower[i & 15];
    t[3 * i + 2] = ':';
  }
  return t;
}
constexpr std::array<char, 768> kHexColon = MakeHexColon();
constexpr char kHexUpper[] = "0123456789ABCDEF";

// Writes v's decimal digits ending at `end`; returns the first digit.
inline char* DigitsBackward(uint64_t v, char* end) {
  char* p = end;
  while (v >= 100) {
    const unsigned r = static_cast<unsigned>(v % 100);
    v /= 100;
    p -= 2;
    std::memcpy(p, &kDigitPairs[2 * r], 2);
  }
  if (v >= 10) {
    p -= 2;
    std::memcpy(p, &kDigitPairs[2 * v], 2);
  } else {
    *--p = static_cast<char>('0' + v);
  }
  return p;
}

}  // namespace

void OutBuffer::Grow(size_t n) {
  const size_t used = size();
  const size_t capacity = static_cast<size_t>(end_ - data_.get());
  // Doubling keeps appends amortised O(1); 1 MiB is the smallest block worth
  // handing to write(2).
  const size_t want = std::max({capacity * 2, used + n, size_t{1} << 20});
  std::unique_ptr<char[]> bigger(new char[want]);
  if (used) std::memcpy(bigger.get(), data_.get(), used);
  data_ = std::move(bigger);
  cur_ = data_.get() + used;
  end_ = data_.get() + want;
}

void OutBuffer::U64(uint64_t v) {
  // Count the digits first and write them in place: no temporary, no memcpy.
  // bit_width * 1233 / 4096 approximates log10 (1233 / 4096 ~ log10(2));
  // one comparison with a power of ten corrects it.
  static constexpr uint64_t kPow10[20] = {
      1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
      100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
      10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
      100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL};
  const int approx = (64 - __builtin_clzll(v | 1)) * 1233 >> 12;
  // (v | 1) makes 0 count as one digit; it never changes the comparison
  // otherwise, because the powers of ten from 10 up are even.
  const int digits = approx + ((v | 1) >= kPow10[approx] ? 1 : 0);
  cur_ += digits;
  DigitsBackward(v, cur_);
}

void OutBuffer::ZeroPadded(uint64_t v, int width) {
  char* end = cur_ + width;
  char* first = DigitsBackward(v, end);
  while (first > cur_) *--first = '0';
  cur_ = end;
}

void OutBuffer::SpacePadded(uint64_t v, int width) {
  char tmp[20];
  char* first = DigitsBackward(v, tmp + sizeof tmp);
  const int len = static_cast<int>(tmp + sizeof tmp - first);
  for (int i = len; i < width; ++i) *cur_++ = ' ';
  std::memcpy(cur_, first, static_cast<size_t>(len));
  cur_ += len;
}

void OutBuffer::Hex2Upper(uint8_t v) {
  cur_[0] = kHexUpper[v >> 4];
  cur_[1] = kHexUpper[v & 15];
  cur_ += 2;
}

void OutBuffer::Hex2Lower(uint8_t v) {
  cur_[0] = kHexLower[v >> 4];
  cur_[1] = kHexLower[v & 15];
  cur_ += 2;
}

void OutBuffer::HexLower(uint64_t v, int width) {
  int digits = 1;
  while (digits < 16 && (v >> (4 * digits)) != 0) ++digits;
  if (digits < width) digits = width;
  for (int i = digits - 1; i >= 0; --i) *cur_++ = kHexLower[(v >> (4 * i)) & 15];
}

void OutBuffer::IPv4(uint32_t addr) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    const Octet& o = kOctets[(addr >> shift) & 0xff];
    std::memcpy(cur_, o.text, 4);
    cur_ += o.len;
    *cur_ = '.';
    cur_ += shift ? 1 : 0;
  }
}

void OutBuffer::IPv6Full(const uint8_t* addr) {
  for (int g = 0; g < 8; ++g) {
    if (g) *cur_++ = ':';
    Hex2Lower(addr[2 * g]);
    Hex2Lower(addr[2 * g + 1]);
  }
}

void OutBuffer::IPv6Compressed(const uint8_t* addr) {
  uint16_t groups[8];
  for (int g = 0; g < 8; ++g) groups[g] = static_cast<uint16_t>(addr[2 * g] << 8 | addr[2 * g + 1]);
  // Longest run of zero groups; the first one wins a tie (RFC 5952 4.2.3).
  int best_start = -1, best_len = 0;
  for (int g = 0; g < 8;) {
    if (groups[g] != 0) {
      ++g;
      continue;
    }
    int end = g;
    while (end < 8 && groups[end] == 0) ++end;
    if (end - g > best_len) {
      best_start = g;
      best_len = end - g;
    }
    g = end;
  }
  if (best_len < 2) best_start = -1;  // a single zero group stays "0"
  for (int g = 0; g < 8;) {
    if (g == best_start) {
      Lit("::");
      g += best_len;
      continue;
    }
    // Right after "::" no separator is needed.
    if (g != 0 && g != best_start + best_len) *cur_++ = ':';
    HexLower(groups[g], 0);
    ++g;
  }
}

void OutBuffer::HexColon(const uint8_t* bytes, size_t n) {
  if (n == 0) return;
  // "xx:" per byte as one 3-byte copy from a table; the last ':' is dropped.
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(cur_, &kHexColon[3 * bytes[i]], 3);
    cur_ += 3;
  }
  --cur_;
}

void OutBuffer::JsonEscaped(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      *cur_++ = '\\';
      *cur_++ = static_cast<char>(c);
    } else if (c < 0x20) {
      Lit("\\u00");
      Hex2Lower(c);
    } else {
      *cur_++ = static_cast<char>(c);
    }
  }
}

}  // namespace logtally::datasets
