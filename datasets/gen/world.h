// The network the synthetic gateway sits in: its interfaces, the inside hosts
// (sources), the outside destinations grouped by what they serve, and the
// Internet scanners that knock on the WAN side.
//
// Built once from (seed, --src-count, --dst-count) before any block is
// generated and only read afterwards, so it is shared by all worker threads.
#ifndef LOGTALLY_DATASETS_GEN_WORLD_H_
#define LOGTALLY_DATASETS_GEN_WORLD_H_

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "datasets/gen/random.h"

namespace logtally::datasets {

// An IPv4 or IPv6 address. IPv4 is host-order in `v4`.
struct Address {
  bool is_v6 = false;
  uint32_t v4 = 0;
  std::array<uint8_t, 16> v6{};
};

enum class Iface : uint8_t { kWan, kLan, kVpn, kNone };
// eth0 faces the ISP, eth1 is $INSIDE, wg0 a WireGuard VPN (no MAC header).
std::string_view IfaceName(Iface iface);
// Interface index as ulogd reports it (lo = 1, then eth0, eth1, wg0).
uint32_t IfaceIndex(Iface iface);

// Operating-system family of a host: decides TTL, SYN size, TCP window,
// ephemeral port range and ping shape.
enum class Os : uint8_t { kLinux, kWindows, kApple, kIot };

struct Source {
  Address v4;              // always present
  Address v6;              // present when has_v6
  bool has_v6 = false;
  bool vpn = false;        // on wg0 (10.8.0.0/24) instead of eth1
  Os os = Os::kLinux;
  std::array<uint8_t, 6> mac{};
  uint16_t ping_id = 0;    // ICMP echo identifier this host's ping uses
};

// Destinations grouped by the service they offer; each pool is a contiguous
// range of destination ids with an IPv4 part and an IPv6 part, and traffic
// to a pool picks ids by Zipf rank, so a few servers get most connections.
enum class Pool : uint8_t { kResolvers, kNtp, kWeb, kMail, kSsh, kOther, kCount };

struct PoolRange {
  uint32_t v4_first = 0, v4_count = 0;
  uint32_t v6_first = 0, v6_count = 0;
  AliasTable v4_zipf, v6_zipf;  // rank -> offset in the part
};

class World {
 public:
  // src_count in [1, kMaxSources], dst_count in [kMinDestinations,
  // kMaxDestinations]; checked by the option parser.
  World(uint64_t seed, uint32_t src_count, uint32_t dst_count);

  static constexpr uint32_t kMaxSources = 60000;
  // Below this the fixed resolvers plus one v4 and one v6 server per pool do
  // not fit without sharing addresses.
  static constexpr uint32_t kMinDestinations = 32;
  static constexpr uint32_t kMaxDestinations = 10000000;

  const Source& PickSource(Rng& rng) const { return sources_[source_pick_.Sample(rng)]; }
  // A destination id of `pool` in the wanted family (falls back to IPv4 when
  // the pool has no IPv6 part). `shift_per_mille` rotates the rank order by
  // that share of the pool, so that, e.g., port 8080's busiest server is not
  // port 443's busiest.
  uint32_t PickDestination(Pool pool, bool want_v6, uint32_t shift_per_mille, Rng& rng) const;
  const Address& destination(uint32_t id) const { return destinations_[id]; }

  const Address& PickScanner(Rng& rng) const { return scanners_[scanner_zipf_.Sample(rng)]; }
  const Address& PickScannerV6(Rng& rng) const {
    return scanners_v6_[rng.Below(static_cast<uint32_t>(scanners_v6_.size()))];
  }

  // The gateway itself.
  static constexpr std::array<uint8_t, 6> kWanMac = {0x00, 0x0d, 0xb9, 0x4a, 0x1c, 0x3d};
  static constexpr std::array<uint8_t, 6> kLanMac = {0x00, 0x0d, 0xb9, 0x4a, 0x1c, 0x3e};
  static constexpr std::array<uint8_t, 6> kIspRouterMac = {0x3c, 0x37, 0x86, 0x11, 0xa0, 0x5f};
  const Address& wan_v4() const { return wan_v4_; }
  const Address& wan_v6() const { return wan_v6_; }

 private:
  void BuildSources(Rng& rng, uint32_t src_count);
  void BuildDestinations(uint32_t dst_count, uint32_t salt);
  void BuildScanners(uint32_t salt, Rng& rng);

  std::vector<Source> sources_;
  AliasTable source_pick_;  // host index, weighted by activity
  std::vector<Address> destinations_;
  std::array<PoolRange, static_cast<size_t>(Pool::kCount)> pools_;
  std::vector<Address> scanners_, scanners_v6_;
  AliasTable scanner_zipf_;
  Address wan_v4_, wan_v6_;
};

}  // namespace logtally::datasets

#endif  // LOGTALLY_DATASETS_GEN_WORLD_H_
