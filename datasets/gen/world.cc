// Construction of the hosts, destination pools and scanners of the World.
#include "datasets/gen/world.h"

#include <utility>

namespace logtally::datasets {
namespace {

Address V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  Address x;
  x.v4 = static_cast<uint32_t>(a) << 24 | static_cast<uint32_t>(b) << 16 |
         static_cast<uint32_t>(c) << 8 | d;
  return x;
}

Address V6(const std::array<uint16_t, 8>& groups) {
  Address x;
  x.is_v6 = true;
  for (int g = 0; g < 8; ++g) {
    x.v6[2 * g] = static_cast<uint8_t>(groups[g] >> 8);
    x.v6[2 * g + 1] = static_cast<uint8_t>(groups[g]);
  }
  return x;
}

// Address space a synthetic public destination must not land in: private,
// shared, loopback, link-local, documentation, benchmarking and multicast /
// reserved ranges, plus the /24s of the fixed well-known resolvers (so no
// hashed server can collide with 8.8.8.8 and friends).
bool IsReservedV4(uint32_t a) {
  struct Range {
    uint32_t net;
    int bits;
  };
  static constexpr Range kReserved[] = {
      {0x00000000, 8},  {0x0a000000, 8},  {0x64400000, 10}, {0x7f000000, 8},
      {0xa9fe0000, 16}, {0xac100000, 12}, {0xc0000000, 24}, {0xc0000200, 24},
      {0xc0a80000, 16}, {0xc6120000, 15}, {0xc6336400, 24}, {0xcb007100, 24},
      {0xe0000000, 3},  {0x01000000, 24}, {0x01010100, 24}, {0x08080400, 24},
      {0x08080800, 24}, {0x09090900, 24}, {0xd043de00, 24},
  };
  for (const Range& r : kReserved) {
    const uint32_t mask = ~uint32_t{0} << (32 - r.bits);
    if ((a & mask) == r.net) return true;
  }
  return false;
}

// A public-looking IPv4 address, distinct for distinct `id`: start from the
// allowed value `base + id` and walk the bijection Perm32 until the value is
// allowed. Walks from distinct allowed starts never meet, because a walk only
// passes through reserved values.
uint32_t HashedV4(uint32_t base, uint32_t id, uint32_t salt) {
  uint32_t x = Perm32(base + id, salt);
  while (IsReservedV4(x)) x = Perm32(x, salt);
  return x;
}

// Shapes of IPv6 server addresses seen from real content networks; kHi/kLo
// mark the two groups that carry a destination's unique 32-bit value, so
// addresses are distinct within a template and templates differ in prefix.
// They give the compressed form all its cases: "::" in the middle, at a
// two-group run, a lone zero group that must stay "0", and no zeros at all.
constexpr uint32_t kHi = 0x10000, kLo = 0x10001;
constexpr std::array<uint32_t, 8> kV6Templates[] = {
    {0x2a00, 0x1450, 0x4001, kHi, 0, 0, 0, kLo},                 // ..:4001:828::200e
    {0x2606, 0x4700, 0x3030, 0, 0, 0, kHi, kLo},                 // ..:3030::6815:1a2b
    {0x2a03, 0x2880, 0xf12f, kHi, 0xface, 0xb00c, 0, kLo},       // ..:face:b00c:0:25de
    {0x2620, 0x01ec, kHi, 0, 0, 0, 0, kLo},                      // 2620:1ec:..::..
    {0x2600, 0x9000, 0x2100, kHi, 0x001a, 0x3b40, 0x9340, kLo},  // no zero group
    {0x2a04, 0x4e42, 0, 0, 0, 0, kHi, kLo},                      // 2a04:4e42::..:..
    {0x2001, 0x41d0, 0x0304, 0x0200, 0, 0, kHi, kLo},
    {0x2a01, 0x04f8, 0x0c17, kHi, 0, 0, 0, kLo},
};

Address HashedV6(uint32_t id, uint32_t salt) {
  const uint32_t value = Perm32(id, salt);
  const auto& t = kV6Templates[Perm32(id, salt ^ 0x5bd1e995U) %
                               (sizeof kV6Templates / sizeof kV6Templates[0])];
  std::array<uint16_t, 8> g{};
  for (int i = 0; i < 8; ++i) {
    if (t[i] == kHi) {
      g[i] = static_cast<uint16_t>(value >> 16);
    } else if (t[i] == kLo) {
      g[i] = static_cast<uint16_t>(value);
    } else {
      g[i] = static_cast<uint16_t>(t[i]);
    }
  }
  return V6(g);
}

// Organisationally unique identifiers (first three MAC bytes) by OS family:
// Raspberry Pi / Intel / QEMU for Linux, Intel and Dell NICs for Windows PCs,
// Apple, and Espressif / Tuya for IoT gadgets.
constexpr std::array<std::array<uint8_t, 3>, 3> kOuis[] = {
    {{{0xdc, 0xa6, 0x32}, {0x3c, 0x7c, 0x3f}, {0x52, 0x54, 0x00}}},
    {{{0x3c, 0xa9, 0xf4}, {0x18, 0xdb, 0xf2}, {0x98, 0xfa, 0x9b}}},
    {{{0xa4, 0x83, 0xe7}, {0xf0, 0x18, 0x98}, {0x3c, 0x22, 0xfb}}},
    {{{0x24, 0x0a, 0xc4}, {0x50, 0x02, 0x91}, {0x68, 0x57, 0x2d}}},
};

}  // namespace

std::string_view IfaceName(Iface iface) {
  switch (iface) {
    case Iface::kWan: return "eth0";
    case Iface::kLan: return "eth1";
    case Iface::kVpn: return "wg0";
    case Iface::kNone: break;
  }
  return "";
}

uint32_t IfaceIndex(Iface iface) {
  switch (iface) {
    case Iface::kWan: return 2;
    case Iface::kLan: return 3;
    case Iface::kVpn: return 5;  // 4 is eth2, unused here
    case Iface::kNone: break;
  }
  return 0;
}

World::World(uint64_t seed, uint32_t src_count, uint32_t dst_count) {
  Rng rng(SubSeed(seed, /*stream=*/1, 0));
  const auto salt = static_cast<uint32_t>(rng.Next());
  BuildSources(rng, src_count);
  BuildDestinations(dst_count, salt);
  BuildScanners(salt ^ 0x9e3779b9U, rng);
  // The gateway's WAN side: TEST-NET-3 and a /64 of the same delegated IPv6
  // prefix as the LAN, so no real host is named as the victim of scans.
  wan_v4_ = V4(203, 0, 113, 45);
  wan_v6_ = V6({0x2a02, 0x8108, 0x1c40, 0x3eff, 0, 0, 0, 1});
}

void World::BuildSources(Rng& rng, uint32_t src_count) {
  // Activity is Zipf over hosts (exponent 0.9: a few busy machines, a long
  // tail of quiet ones). Each host's rank is drawn at random, but what a host
  // is (OS, VPN peer, dual-stack) follows from its rank, so the traffic shares
  // of those kinds are the same for every seed.
  std::vector<uint32_t> rank_of(src_count);
  for (uint32_t i = 0; i < src_count; ++i) rank_of[i] = i;
  for (uint32_t i = src_count; i > 1; --i) std::swap(rank_of[i - 1], rank_of[rng.Below(i)]);
  const std::vector<double> zipf = ZipfWeights(src_count, 0.9);
  std::vector<double> weight(src_count);

  sources_.resize(src_count);
  uint32_t lan = 0, vpn = 0;
  for (uint32_t s = 0; s < src_count; ++s) {
    Source& h = sources_[s];
    const uint32_t rank = rank_of[s];
    // One host in 20 is a VPN peer on wg0 (the admin logs wg0 with the same
    // rule and prefix); the rest sit on the inside LAN. A VPN peer is a
    // laptop on the road: a fifth of the activity its rank would give it, so
    // empty MAC= stays around 1% of records.
    h.vpn = rank % 20 == 19;
    weight[s] = zipf[rank] * (h.vpn ? 0.2 : 1.0);
    // OS mix of a small office: 30% Linux/Android, 30% Windows, 30% Apple,
    // 10% IoT (multiplying by 7, coprime to 10, spreads the kinds over ranks).
    const uint32_t os_slot = rank * 7 % 10;
    h.os = os_slot < 3 ? Os::kLinux : os_slot < 6 ? Os::kWindows : os_slot < 9 ? Os::kApple : Os::kIot;
    if (h.vpn && h.os == Os::kIot) h.os = Os::kLinux;  // VPN peers are laptops and phones
    const auto& oui = kOuis[static_cast<int>(h.os)][rng.Below(3)];
    h.mac = {oui[0], oui[1], oui[2], static_cast<uint8_t>(rng.Below(256)),
             static_cast<uint8_t>(rng.Below(256)), static_cast<uint8_t>(rng.Below(256))};
    if (h.vpn) {
      // 10.8.0.2 onwards, 250 peers per /24 (.2-.251), like the LAN.
      h.v4 = V4(10, 8, static_cast<uint8_t>(vpn / 250), static_cast<uint8_t>(2 + vpn % 250));
      ++vpn;
    } else {
      // The inside /24 is 192.168.1.0/24 (.1 is the gateway); beyond 250
      // hosts the LAN spills into 192.168.2.0/24 and so on.
      h.v4 = V4(192, 168, static_cast<uint8_t>(1 + lan / 250), static_cast<uint8_t>(2 + lan % 250));
      ++lan;
      // 9 LAN hosts in 20 are dual-stack, the busiest one among them.
      h.has_v6 = rank * 11 % 20 < 9;
      if (h.has_v6) {
        const uint32_t kind = rng.Below(100);
        // A quarter use the ULA /64, the rest the ISP-delegated global /64.
        std::array<uint16_t, 8> g = kind < 25 ? std::array<uint16_t, 8>{0xfd4e, 0x7a21, 0x9c03, 0x0001}
                                              : std::array<uint16_t, 8>{0x2a02, 0x8108, 0x1c40, 0x3e00};
        if (kind < 40) {
          // 40% (the ULA hosts and some global ones): an EUI-64 interface id
          // made from the MAC, universal/local bit flipped.
          g[4] = static_cast<uint16_t>((h.mac[0] ^ 0x02) << 8 | h.mac[1]);
          g[5] = static_cast<uint16_t>(h.mac[2] << 8 | 0xff);
          g[6] = static_cast<uint16_t>(0xfe << 8 | h.mac[3]);
          g[7] = static_cast<uint16_t>(h.mac[4] << 8 | h.mac[5]);
        } else {
          // RFC 4941 privacy address: a random interface id.
          for (int i = 4; i < 8; ++i) g[i] = static_cast<uint16_t>(rng.Below(65536));
        }
        h.v6 = V6(g);
      }
    }
    // Windows ping always uses identifier 1; the others pick one per run.
    h.ping_id = h.os == Os::kWindows ? 1 : static_cast<uint16_t>(rng.Range(1, 65535));
  }
  source_pick_ = AliasTable(weight);
}

void World::BuildDestinations(uint32_t dst_count, uint32_t salt) {
  destinations_.resize(dst_count);
  // Ids 0-9: the public resolvers everyone uses; 8.8.8.8 is rank 0.
  const Address kResolvers[] = {
      V4(8, 8, 8, 8), V4(1, 1, 1, 1), V4(8, 8, 4, 4), V4(9, 9, 9, 9), V4(1, 0, 0, 1),
      V4(208, 67, 222, 222),
      V6({0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888}),
      V6({0x2606, 0x4700, 0x4700, 0, 0, 0, 0, 0x1111}),
      V6({0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8844}),
      V6({0x2620, 0x00fe, 0, 0, 0, 0, 0, 0x00fe}),
  };
  constexpr uint32_t kResolverV4 = 6, kResolverCount = 10;
  for (uint32_t i = 0; i < kResolverCount; ++i) destinations_[i] = kResolvers[i];

  // The rest, split by service. Shares in per mille of the remaining ids;
  // the web takes whatever the others leave (about 82%).
  struct Share {
    Pool pool;
    uint32_t per_mille;
    double zipf;
  };
  constexpr Share kShares[] = {
      {Pool::kNtp, 10, 0.8}, {Pool::kMail, 30, 0.9}, {Pool::kSsh, 20, 0.9},
      {Pool::kOther, 120, 0.7}, {Pool::kWeb, 0, 1.0},
  };
  const uint32_t rest = dst_count - kResolverCount;
  uint32_t next = kResolverCount, used = 0;
  for (const Share& share : kShares) {
    uint32_t size = share.pool == Pool::kWeb ? rest - used
                                             : static_cast<uint32_t>(uint64_t{rest} * share.per_mille / 1000);
    if (size < 2) size = 2;  // one IPv4 and one IPv6 server at least
    used += size;
    // A tenth of every pool's servers are IPv6-only names (at least one).
    const uint32_t v6 = size / 10 ? size / 10 : 1;
    PoolRange& p = pools_[static_cast<size_t>(share.pool)];
    p.v4_first = next;
    p.v4_count = size - v6;
    p.v6_first = next + size - v6;
    p.v6_count = v6;
    p.v4_zipf = AliasTable(ZipfWeights(p.v4_count, share.zipf));
    p.v6_zipf = AliasTable(ZipfWeights(p.v6_count, share.zipf));
    for (uint32_t id = p.v4_first; id < p.v4_first + p.v4_count; ++id) {
      destinations_[id] = Address{};
      // 0x02000000 (2.0.0.0): the walk starts in an allowed /8, see HashedV4.
      destinations_[id].v4 = HashedV4(0x02000000U, id, salt);
    }
    for (uint32_t id = p.v6_first; id < p.v6_first + p.v6_count; ++id) {
      destinations_[id] = HashedV6(id, salt);
    }
    next += size;
  }
  // Resolvers: 8.8.8.8 dominates (Zipf exponent 1.2).
  PoolRange& r = pools_[static_cast<size_t>(Pool::kResolvers)];
  r.v4_first = 0;
  r.v4_count = kResolverV4;
  r.v6_first = kResolverV4;
  r.v6_count = kResolverCount - kResolverV4;
  r.v4_zipf = AliasTable(ZipfWeights(r.v4_count, 1.2));
  r.v6_zipf = AliasTable(ZipfWeights(r.v6_count, 1.2));
}

void World::BuildScanners(uint32_t salt, Rng& rng) {
  // 2000 Internet hosts scan the WAN address; a handful of them (Zipf 1.1)
  // send most of the probes, as mass scanners do. 0x03000000 (3.0.0.0) keeps
  // their walk apart from the destinations' start values.
  constexpr uint32_t kScanners = 2000;
  scanners_.resize(kScanners);
  for (uint32_t k = 0; k < kScanners; ++k) scanners_[k].v4 = HashedV4(0x03000000U, k, salt);
  scanner_zipf_ = AliasTable(ZipfWeights(kScanners, 1.1));
  // 50 IPv6 scanners in hosting space (2001:470::/32, 2a0e:97c0::/29...).
  constexpr uint32_t kScannersV6 = 50;
  constexpr std::array<uint16_t, 2> kPrefixes[] = {{0x2001, 0x0470}, {0x2a0e, 0x97c0}, {0x2604, 0xa880}};
  scanners_v6_.resize(kScannersV6);
  for (uint32_t k = 0; k < kScannersV6; ++k) {
    const auto& p = kPrefixes[k % 3];
    const auto subnet = static_cast<uint16_t>(rng.Below(65536));
    const auto hi = static_cast<uint16_t>(rng.Below(65536));
    const auto lo = static_cast<uint16_t>(rng.Below(65536));
    scanners_v6_[k] = V6({p[0], p[1], subnet, static_cast<uint16_t>(k + 1), 0, 0, hi, lo});
  }
}

uint32_t World::PickDestination(Pool pool, bool want_v6, uint32_t shift_per_mille, Rng& rng) const {
  const PoolRange& p = pools_[static_cast<size_t>(pool)];
  const bool v6 = want_v6 && p.v6_count;
  const uint32_t first = v6 ? p.v6_first : p.v4_first;
  const uint32_t count = v6 ? p.v6_count : p.v4_count;
  const uint32_t rank = (v6 ? p.v6_zipf : p.v4_zipf).Sample(rng);
  if (shift_per_mille == 0) return first + rank;
  return first + (rank + static_cast<uint32_t>(uint64_t{count} * shift_per_mille / 1000)) % count;
}

}  // namespace logtally::datasets
