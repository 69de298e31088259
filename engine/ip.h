// IPv4 and IPv6 address parsing and prefix tests, for CIDR conditions and
// address-prefix keys (SRC/24). Strict: an address is accepted only in a form
// the kernel's LOG target or a user would write (dotted quad; IPv6 in full or
// compressed form, optionally ending in a dotted quad).
#ifndef LOGTALLY_ENGINE_IP_H_
#define LOGTALLY_ENGINE_IP_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace logtally::engine {

struct IpAddr {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4
};

bool ParseIpv4(std::string_view s, IpAddr* out);
bool ParseIpv6(std::string_view s, IpAddr* out);
bool ParseIp(std::string_view s, IpAddr* out);

struct Cidr {
  IpAddr net;
  int prefix_len = 0;
};

// "ADDR/LEN" with LEN within the family's width.
bool ParseCidr(std::string_view s, Cidr* out);

// True when `a` is of the same family as `c` and inside it.
bool CidrContains(const Cidr& c, const IpAddr& a);

// Clears the bits after the first `prefix_len` (the network address).
void MaskTo(IpAddr& a, int prefix_len);

// Canonical text: dotted quad; IPv6 per RFC 5952 (lower-case hex, no leading
// zeros, the longest run of two or more zero groups as `::`, IPv4-mapped
// addresses as ::ffff:a.b.c.d).
void AppendIp(std::string& out, const IpAddr& a);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_IP_H_
