#include "engine/port_names.h"

#include "io/strings.h"

namespace logtally::engine {
namespace {

// Index into port_names_internal::kTables, or -1 for a protocol without
// named ports.
int ProtoIndex(std::string_view proto) {
  static constexpr std::string_view kNames[port_names_internal::kNumProtos] = {"tcp", "udp", "sctp",
                                                                               "dccp"};
  for (size_t i = 0; i < port_names_internal::kNumProtos; ++i) {
    std::string_view n = kNames[i];
    if (proto.size() != n.size()) continue;
    size_t k = 0;
    while (k < n.size() && LowerAscii(proto[k]) == n[k]) ++k;
    if (k == n.size()) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

std::string_view PortName(std::string_view proto, std::string_view port) {
  if (port.empty() || port.size() > 5) return {};
  uint32_t p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return {};
    p = p * 10 + static_cast<uint32_t>(c - '0');
  }
  if (p > 65535) return {};
  int proto_index = ProtoIndex(proto);
  if (proto_index < 0) return {};
  const port_names_internal::ProtoTable& t = port_names_internal::kTables[proto_index];
  size_t lo = 0;
  size_t hi = t.count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t.entries[mid].port < p) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == t.count || t.entries[lo].port != p) return {};
  const port_names_internal::Entry& e = t.entries[lo];
  return std::string_view(port_names_internal::kNamePool + e.name_offset, e.name_len);
}

}  // namespace logtally::engine
