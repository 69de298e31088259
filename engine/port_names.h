// Port names for the derived keys `DPT.name` and `SPT.name`: the name that
// /etc/services gives a port for the record's protocol (`22`/TCP -> `ssh`).
//
// This file owns the lookup. The names come from engine/data/services.txt,
// a committed copy of Debian's /etc/services (its header says where from),
// not from the machine running logtally: output must not depend on which
// host counts the logs, and getservbyport is neither fast nor thread-safe.
// engine/data/gen_port_names.py turns the data file into a sorted C++ table
// at build time (port_names_table.cc in the build directory); a lookup is a
// binary search over a few hundred entries, with no allocation.
#ifndef LOGTALLY_ENGINE_PORT_NAMES_H_
#define LOGTALLY_ENGINE_PORT_NAMES_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace logtally::engine {

// The service name of `port` (decimal, 1-5 digits, 0..65535) for `proto`
// (TCP, UDP, SCTP or DCCP in any case), or an empty view when the data file
// has none, the protocol has no ports (ICMP, a number, ...) or the port is
// not a port. The view points into static storage.
std::string_view PortName(std::string_view proto, std::string_view port);

namespace port_names_internal {

// The generated table (port_names_table.cc). Kept here so that the
// generator's output and the lookup agree on one declaration.
struct Entry {
  uint16_t port;
  uint16_t name_offset;  // into kNamePool
  uint8_t name_len;
};
struct ProtoTable {
  const Entry* entries;  // sorted by port, one entry per port
  size_t count;
};
// Index by protocol: 0 tcp, 1 udp, 2 sctp, 3 dccp.
inline constexpr size_t kNumProtos = 4;
extern const char kNamePool[];
extern const ProtoTable kTables[kNumProtos];

}  // namespace port_names_internal
}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_PORT_NAMES_H_
