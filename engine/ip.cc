#include "engine/ip.h"

namespace logtally::engine {
namespace {

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

namespace {

void AppendIpv4(std::string& out, const uint8_t* b) {
  for (int i = 0; i < 4; ++i) {
    if (i > 0) out.push_back('.');
    out.append(std::to_string(b[i]));
  }
}

// RFC 5952 text: lower-case hex without leading zeros, the longest run of two
// or more zero groups (the first of equal runs) as `::`, and IPv4-mapped
// addresses as ::ffff:a.b.c.d.
void AppendIpv6(std::string& out, const IpAddr& ip) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint16_t g[8];
  for (int i = 0; i < 8; ++i)
    g[i] = static_cast<uint16_t>(ip.bytes[2 * i] << 8 | ip.bytes[2 * i + 1]);
  if (g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0 && g[5] == 0xffff) {
    out += "::ffff:";
    AppendIpv4(out, ip.bytes.data() + 12);
    return;
  }
  int best = -1, best_len = 1;  // runs of one zero group are not compressed
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (i > 0 && i != best + best_len) out.push_back(':');
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      int nib = g[i] >> shift & 15;
      if (nib != 0 || started || shift == 0) {
        out.push_back(kHex[nib]);
        started = true;
      }
    }
  }
}

}  // namespace

void AppendIp(std::string& out, const IpAddr& a) {
  if (a.v6) {
    AppendIpv6(out, a);
  } else {
    AppendIpv4(out, a.bytes.data());
  }
}

void MaskTo(IpAddr& a, int prefix_len) {
  int width = a.v6 ? 128 : 32;
  for (int bit = prefix_len; bit < width; ++bit) {
    a.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }
}

bool ParseIpv4(std::string_view s, IpAddr* out) {
  IpAddr a;
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
    size_t start = i;
    unsigned v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
    }
    // No leading zeros ("010" is octal to some parsers): rejected, as inet_pton does.
    if (i == start || v > 255 || (i - start > 1 && s[start] == '0')) return false;
    a.bytes[part] = static_cast<uint8_t>(v);
  }
  if (i != s.size()) return false;
  a.v6 = false;
  *out = a;
  return true;
}

bool ParseIpv6(std::string_view s, IpAddr* out) {
  // Up to 8 groups of 1-4 hex digits, one "::" standing for a run of zero
  // groups, optionally a trailing dotted quad in place of the last two.
  uint16_t groups[8] = {};
  int n = 0;
  int gap = -1;  // group index where "::" stands
  size_t i = 0;
  if (s.size() < 2) return false;
  if (s[0] == ':') {
    if (s[1] != ':') return false;
    gap = 0;
    i = 2;
    if (i == s.size()) {
      *out = IpAddr{true, {}};
      return true;
    }
  }
  while (i < s.size()) {
    if (n >= 8) return false;
    size_t start = i;
    unsigned v = 0;
    while (i < s.size() && HexVal(s[i]) >= 0 && i - start < 4) {
      v = v * 16 + static_cast<unsigned>(HexVal(s[i]));
      ++i;
    }
    if (i < s.size() && s[i] == '.') {
      // Embedded IPv4 as the last 32 bits.
      IpAddr v4;
      if (n > 6 || !ParseIpv4(s.substr(start), &v4)) return false;
      groups[n++] = static_cast<uint16_t>(v4.bytes[0] << 8 | v4.bytes[1]);
      groups[n++] = static_cast<uint16_t>(v4.bytes[2] << 8 | v4.bytes[3]);
      i = s.size();
      break;
    }
    if (i == start) return false;
    groups[n++] = static_cast<uint16_t>(v);
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (gap >= 0) return false;
      gap = n;
      ++i;
      if (i == s.size()) break;
    } else if (i == s.size()) {
      return false;  // trailing single ':'
    }
  }
  IpAddr a;
  a.v6 = true;
  if (gap < 0) {
    if (n != 8) return false;
    for (int g = 0; g < 8; ++g) {
      a.bytes[2 * g] = static_cast<uint8_t>(groups[g] >> 8);
      a.bytes[2 * g + 1] = static_cast<uint8_t>(groups[g]);
    }
  } else {
    if (n > 7) return false;
    int zeros = 8 - n;
    int out_g = 0;
    for (int g = 0; g < n + 1; ++g) {
      if (g == gap) {
        out_g += zeros;
      }
      if (g < n) {
        a.bytes[2 * out_g] = static_cast<uint8_t>(groups[g] >> 8);
        a.bytes[2 * out_g + 1] = static_cast<uint8_t>(groups[g]);
        ++out_g;
      }
    }
  }
  *out = a;
  return true;
}

bool ParseIp(std::string_view s, IpAddr* out) {
  if (s.find(':') != std::string_view::npos) return ParseIpv6(s, out);
  return ParseIpv4(s, out);
}

bool ParseCidr(std::string_view s, Cidr* out) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos || slash + 1 >= s.size() || s.size() - slash - 1 > 3) {
    return false;
  }
  Cidr c;
  if (!ParseIp(s.substr(0, slash), &c.net)) return false;
  int len = 0;
  for (char ch : s.substr(slash + 1)) {
    if (ch < '0' || ch > '9') return false;
    len = len * 10 + (ch - '0');
  }
  if (len > (c.net.v6 ? 128 : 32)) return false;
  c.prefix_len = len;
  *out = c;
  return true;
}

bool CidrContains(const Cidr& c, const IpAddr& a) {
  if (a.v6 != c.net.v6) return false;
  int full = c.prefix_len / 8;
  for (int i = 0; i < full; ++i) {
    if (a.bytes[i] != c.net.bytes[i]) return false;
  }
  int rest = c.prefix_len % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (c.net.bytes[full] & mask);
}

}  // namespace logtally::engine
