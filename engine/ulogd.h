// ulogd2's JSON output as netfilter records: which JSON keys hold each field
// the LOG target would print (SRC, DPT, PROTO, ...), how their values become
// the kernel's text, and ulogd's time stamps.
//
// JsonLine (json_line.h) finds the keys in a line; LineEvaluator (query.h)
// asks for fields by these names. This file only describes and converts
// values: it parses no JSON. Its date arithmetic is timestamp.h's.
#ifndef LOGTALLY_ENGINE_ULOGD_H_
#define LOGTALLY_ENGINE_ULOGD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace logtally::engine {

// How a ulogd value becomes the text the LOG target prints.
enum class Conv : uint8_t {
  kAsIs,
  kProto,       // protocol number -> name, as nf_log_ipv4/ipv6 name them
  kTrimSpaces,  // the text PREFIX is trimmed of surrounding spaces
  kTos,         // "TOS=0x%02X" of tos & IPTOS_TOS_MASK (0x1E)
  kPrec,        // "PREC=0x%02X" of tos & IPTOS_PREC_MASK (0xE0)
  kMark,        // "MARK=0x%x", printed only when the mark is not 0
};

constexpr size_t kMaxUlogdKeys = 4;

struct UlogdFieldDef {
  std::string_view name;
  Conv conv;
  // ulogd2 JSON keys, first present wins. The JSON plugin writes a key's
  // CIM name when it has one (src_ip, dest_ip, src_port, dest_port), the
  // plain name otherwise; older ulogd2 versions have only the plain names.
  std::string_view keys[kMaxUlogdKeys];
};

// The definition of field `name` ("SRC", "TIME", ...), or nullptr when ulogd
// has no key for it (the field is then always missing).
const UlogdFieldDef* FindUlogdField(std::string_view name);

// The name nf_log prints for PROTO= of protocol number `p`; empty when the
// kernel prints the number.
std::string_view UlogdProtocolName(uint64_t p);

// Parses ulogd's "timestamp": YYYY-MM-DDTHH:MM:SS[.frac][Z|+HHMM|+HH:MM]
// (no offset: UTC). Sets the instant in microseconds since the epoch and,
// when `offset_seconds` is not null, the offset written.
bool ParseUlogdTime(std::string_view text, int64_t* epoch_us, int32_t* offset_seconds);

// TIME as the other inputs show it, RFC 3339: ulogd writes the offset as
// +HHMM, which becomes +HH:MM; anything else is kept as it is. The result is
// in `buf`.
std::string_view UlogdTimeAsRfc3339(std::string_view t, std::string& buf);

// An address as the LOG target prints it: ulogd writes inet_ntop's
// compressed IPv6 form, the kernel writes all 8 groups of 4 hex digits. An
// IPv6 address is written in full into `buf`; anything else is returned as
// it is.
std::string_view UlogdAddressAsKernel(std::string_view v, std::string& buf);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_ULOGD_H_
