#include "engine/ulogd.h"

#include "engine/ip.h"
#include "engine/timestamp.h"

namespace logtally::engine {
namespace {

// From ulogd2's BASE, IFINDEX, IP2STR, HWHDR and NFLOG keys and the kernel's
// nf_log_ipv4/nf_log_ipv6 formats. Where the kernel prints a key twice (ID=
// of IPv4 and then of an ICMP echo; LEN= of IP and then of UDP), the first is
// the field (docs/choices.md), so ID is ip.id, and only IPv6 (which has no
// IP ID) shows the ICMPv6 echo id. LEN is the IP total length; for IPv6 the
// kernel prints payload + 40, which is raw.pktlen. Flags (DF, SYN, ...) are
// not key=value fields. TCP SEQ=/ACK= need --log-tcp-sequence and are left
// out; tcp.seq is still reachable as a path.
constexpr UlogdFieldDef kUlogdFields[] = {
    {"SRC", Conv::kAsIs, {"src_ip", "ip.saddr.str"}},
    {"DST", Conv::kAsIs, {"dest_ip", "ip.daddr.str"}},
    {"SPT", Conv::kAsIs, {"src_port", "tcp.sport", "udp.sport", "sctp.sport"}},
    {"DPT", Conv::kAsIs, {"dest_port", "tcp.dport", "udp.dport", "sctp.dport"}},
    {"PROTO", Conv::kProto, {"ip.protocol", "ip6.nexthdr"}},
    {"PREFIX", Conv::kTrimSpaces, {"oob.prefix"}},
    {"IN", Conv::kAsIs, {"oob.in"}},
    {"OUT", Conv::kAsIs, {"oob.out"}},
    {"MAC", Conv::kAsIs, {"mac.str"}},
    {"LEN", Conv::kAsIs, {"ip.totlen", "raw.pktlen"}},
    {"TTL", Conv::kAsIs, {"ip.ttl"}},
    {"ID", Conv::kAsIs, {"ip.id", "icmpv6.echoid"}},
    {"TOS", Conv::kTos, {"ip.tos"}},
    {"PREC", Conv::kPrec, {"ip.tos"}},
    {"TC", Conv::kAsIs, {"ip6.priority"}},  // ulogd2 stores the whole traffic class there
    {"HOPLIMIT", Conv::kAsIs, {"ip6.hoplimit"}},
    {"FLOWLBL", Conv::kAsIs, {"ip6.flowlabel"}},
    {"TYPE", Conv::kAsIs, {"icmp.type", "icmpv6.type"}},
    {"CODE", Conv::kAsIs, {"icmp.code", "icmpv6.code"}},
    {"SEQ", Conv::kAsIs, {"icmp.echoseq", "icmpv6.echoseq"}},
    {"MTU", Conv::kAsIs, {"icmp.fragmtu"}},
    {"WINDOW", Conv::kAsIs, {"tcp.window"}},
    {"URGP", Conv::kAsIs, {"tcp.urgp"}},
    {"MARK", Conv::kMark, {"oob.mark"}},
    {"UID", Conv::kAsIs, {"oob.uid"}},
    {"GID", Conv::kAsIs, {"oob.gid"}},
    // The JSON plugin's own field; "@timestamp" in its eventv1 mode.
    {"TIME", Conv::kAsIs, {"timestamp", "@timestamp"}},
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The n-digit decimal number at s[i], or -1.
int Digits(std::string_view s, size_t i, size_t n) {
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    if (!IsDigit(s[i + k])) return -1;
    v = v * 10 + (s[i + k] - '0');
  }
  return v;
}

}  // namespace

const UlogdFieldDef* FindUlogdField(std::string_view name) {
  for (const UlogdFieldDef& def : kUlogdFields) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

// The names nf_log prints for PROTO=. ICMPv6 is named only by the IPv6
// logger, but IPv4 packets of protocol 58 are rare enough not to look up
// oob.family for them.
std::string_view UlogdProtocolName(uint64_t p) {
  switch (p) {
    case 1:
      return "ICMP";
    case 6:
      return "TCP";
    case 17:
      return "UDP";
    case 50:
      return "ESP";
    case 51:
      return "AH";
    case 58:
      return "ICMPv6";
    case 136:
      return "UDPLITE";
    default:
      return {};
  }
}

bool ParseUlogdTime(std::string_view s, int64_t* epoch_us, int32_t* offset_seconds) {
  // Widest offset accepted: 23:59, the syntactic range (as the engine's RFC
  // 3339 parser); real zones span -12:00..+14:00.
  constexpr int kMaxOffsetHours = 23;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') {
    return false;
  }
  const int year = Digits(s, 0, 4), month = Digits(s, 5, 2), day = Digits(s, 8, 2);
  const int hour = Digits(s, 11, 2), minute = Digits(s, 14, 2);
  int second = Digits(s, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) ||
      hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) {
    return false;
  }
  if (second == 60) second = 59;  // a leap second stays in its minute
  size_t i = 19;
  int64_t micros = 0;
  if (i < s.size() && s[i] == '.') {
    size_t f0 = ++i;
    while (i < s.size() && IsDigit(s[i])) {
      if (i - f0 < 6) micros = micros * 10 + (s[i] - '0');
      ++i;
    }
    if (i == f0) return false;
    for (size_t k = i - f0; k < 6; ++k) micros *= 10;
  }
  int32_t offset = 0;
  if (i < s.size()) {
    std::string_view z = s.substr(i);
    if (z == "Z") {
      offset = 0;
    } else if ((z[0] == '+' || z[0] == '-') && (z.size() == 5 || (z.size() == 6 && z[3] == ':'))) {
      int oh = Digits(z, 1, 2);
      int om = Digits(z, z.size() - 2, 2);
      if (oh < 0 || oh > kMaxOffsetHours || om < 0 || om > 59) return false;
      offset = (oh * 3600 + om * 60) * (z[0] == '-' ? -1 : 1);
    } else {
      return false;
    }
  }
  const int64_t epoch =
      DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  *epoch_us = epoch * 1000000 + micros;
  if (offset_seconds != nullptr) *offset_seconds = offset;
  return true;
}

std::string_view UlogdTimeAsRfc3339(std::string_view t, std::string& buf) {
  buf.clear();
  size_t m = t.size();
  if (m >= 5 && (t[m - 5] == '+' || t[m - 5] == '-') && t.find(':', m - 5) == std::string_view::npos) {
    buf.append(t.substr(0, m - 2));
    buf.push_back(':');
    buf.append(t.substr(m - 2));
  } else {
    buf.append(t);
  }
  return buf;
}

std::string_view UlogdAddressAsKernel(std::string_view v, std::string& buf) {
  IpAddr ip;
  if (v.find(':') == std::string_view::npos || v.size() >= 40 || !ParseIpv6(v, &ip)) return v;
  buf.resize(39);
  static constexpr char kHex[] = "0123456789abcdef";
  for (int g = 0; g < 8; ++g) {
    for (int d = 0; d < 4; ++d) {
      int byte = ip.bytes[2 * g + d / 2];
      buf[5 * g + d] = kHex[(d % 2 == 0 ? byte >> 4 : byte) & 15];
    }
    if (g < 7) buf[5 * g + 4] = ':';
  }
  return buf;
}

}  // namespace logtally::engine
