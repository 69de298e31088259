// The traffic model: which services the inside hosts use and how often, what
// the Internet sends to the WAN side, what each packet's headers look like on
// each OS, and the sprinkling of other kernel messages.
#include "datasets/gen/events.h"

#include <algorithm>
#include <vector>

namespace logtally::datasets {
namespace {

// ---- Outbound services ---------------------------------------------------

enum class Shape : uint8_t { kTcp, kUdp, kEcho, kIcmpError };

struct Service {
  Shape shape;
  uint16_t port;     // 0: a high port (stable per destination, see HighPort)
  Pool pool;
  uint16_t shift;    // rank rotation in per mille (see World::PickDestination)
  uint32_t weight;   // share of NEW-OUTBOUND records, in 1/10000
};

// The service mix of NEW-OUTBOUND records. It is fixed, so a count over any
// seed or size gives the same shares: HTTPS ~45%, DNS ~20%, QUIC and HTTP 8%
// each, and the grep traps (5353 vs 53; 8080/8000 vs 80; 8443 vs 443) present
// in small but countable numbers.
constexpr Service kServices[] = {
    {Shape::kUdp, 53, Pool::kResolvers, 0, 2000},  // DNS
    {Shape::kTcp, 53, Pool::kResolvers, 0, 40},    // DNS over TCP (large answers)
    {Shape::kTcp, 443, Pool::kWeb, 0, 4520},       // HTTPS
    {Shape::kUdp, 443, Pool::kWeb, 0, 800},        // QUIC / HTTP/3
    {Shape::kTcp, 80, Pool::kWeb, 0, 800},         // HTTP
    {Shape::kUdp, 123, Pool::kNtp, 0, 200},        // NTP
    {Shape::kTcp, 22, Pool::kSsh, 0, 120},         // SSH
    {Shape::kTcp, 25, Pool::kMail, 0, 30},         // SMTP
    {Shape::kTcp, 465, Pool::kMail, 0, 20},        // SMTPS
    {Shape::kTcp, 587, Pool::kMail, 0, 60},        // submission
    {Shape::kTcp, 143, Pool::kMail, 0, 20},        // IMAP
    {Shape::kTcp, 993, Pool::kMail, 0, 130},       // IMAPS
    {Shape::kUdp, 5353, Pool::kOther, 0, 60},      // trap: not DNS
    {Shape::kTcp, 8080, Pool::kWeb, 300, 120},     // trap: not HTTP
    {Shape::kTcp, 8000, Pool::kWeb, 600, 50},      // trap: not HTTP
    {Shape::kTcp, 8443, Pool::kWeb, 450, 80},      // trap: not HTTPS
    {Shape::kTcp, 0, Pool::kOther, 0, 300},        // games, VPNs, odd apps
    {Shape::kUdp, 0, Pool::kOther, 500, 400},      // VoIP, games, STUN
    {Shape::kEcho, 0, Pool::kResolvers, 0, 150},   // ping (8.8.8.8 or a website)
    {Shape::kIcmpError, 0, Pool::kOther, 0, 100},  // ICMP type 3 quoting a packet
};

// ---- WAN-side probes -------------------------------------------------------

struct ScanTarget {
  Shape shape;
  uint16_t port;  // 0: any port
  uint32_t weight;
};

// What Internet background radiation asks for, roughly as honeypot reports
// rank it: SSH and Telnet first, then RDP, SMB, web and database ports.
constexpr ScanTarget kScanTargets[] = {
    {Shape::kTcp, 22, 1500},   {Shape::kTcp, 23, 1400},   {Shape::kTcp, 3389, 800},
    {Shape::kTcp, 445, 700},   {Shape::kTcp, 80, 500},    {Shape::kTcp, 443, 400},
    {Shape::kTcp, 8080, 500},  {Shape::kTcp, 1433, 300},  {Shape::kTcp, 3306, 250},
    {Shape::kTcp, 5900, 250},  {Shape::kTcp, 6379, 200},  {Shape::kTcp, 2323, 200},
    {Shape::kTcp, 8443, 150},  {Shape::kTcp, 81, 150},    {Shape::kTcp, 0, 1600},
    {Shape::kUdp, 53, 300},    {Shape::kUdp, 123, 150},   {Shape::kUdp, 161, 150},
    {Shape::kUdp, 1900, 150},  {Shape::kUdp, 5060, 200},  {Shape::kUdp, 0, 200},
    {Shape::kEcho, 0, 400},
};

// ---- Other kernel messages -------------------------------------------------

struct KernelShare {
  KernelMsg msg;
  uint32_t weight;
};
// Rate-limit notices dominate on a box that logs every new connection.
constexpr KernelShare kKernelShares[] = {
    {KernelMsg::kRatelimit, 40},       {KernelMsg::kConntrackFull, 8},
    {KernelMsg::kAuditApparmor, 15},   {KernelMsg::kAuditNetfilterCfg, 6},
    {KernelMsg::kSynFlood, 5},         {KernelMsg::kWireguardRetry, 12},
    {KernelMsg::kAddrconf, 4},
};

// Per-10000 shares of event kinds outside the boot sequence and link flaps.
constexpr uint32_t kKernelPer10k = 40;   // 0.4% other kernel messages
constexpr uint32_t kUfwPer10k = 200;     // 2% "[UFW BLOCK] " probes
constexpr uint32_t kDropPer10k = 100;    // 1% "DROP:" probes
// A link flap (down, then up on the next event) per 200000 events.
constexpr uint64_t kFlapPerMillion = 5;

// Uptimes of the boot lines, microseconds (see formats.cc for their text).
constexpr int64_t kBootUptimeUs[kBootLines] = {0, 0, 1873512, 5104338, 5211907, 9662071, 9662074, 11218830};

template <typename T, size_t N>
AliasTable TableOf(const T (&rows)[N]) {
  std::vector<double> w;
  for (const T& r : rows) w.push_back(r.weight);
  return AliasTable(w);
}

struct Tables {
  AliasTable service = TableOf(kServices);
  AliasTable scan = TableOf(kScanTargets);
  AliasTable kernel = TableOf(kKernelShares);
};
const Tables& GetTables() {
  static const Tables tables;
  return tables;
}

// ---- Per-OS header details -------------------------------------------------

uint16_t Ephemeral(Os os, Rng& rng) {
  // Linux's default ip_local_port_range; everybody else uses the IANA range.
  if (os == Os::kLinux || os == Os::kIot) return static_cast<uint16_t>(rng.Range(32768, 60999));
  return static_cast<uint16_t>(rng.Range(49152, 65535));
}

// IPv4 length of a SYN: 20 + 20 + options. Linux: MSS, SACK-permitted,
// timestamps, window scale (20 bytes); Windows: no timestamps (12); Apple:
// timestamps and an extra EOL pad (24); small IoT stacks: MSS only (4).
uint16_t SynLen(Os os) {
  switch (os) {
    case Os::kLinux: return 60;
    case Os::kWindows: return 52;
    case Os::kApple: return 64;
    case Os::kIot: return 44;
  }
  return 60;
}

// Initial receive window of a SYN: 64240 is 44 x 1460 (Linux >= 4.19 and
// Windows 10); macOS/iOS advertise 65535; lwIP-style stacks 4 x 1460.
uint16_t SynWindow(Os os) {
  switch (os) {
    case Os::kApple: return 65535;
    case Os::kIot: return 5840;
    default: return 64240;
  }
}

// A destination without a well-known service talks on a port of its own most
// of the time (a game server, a VPN endpoint), else anywhere. The trap ports
// are only produced by their own service rows, so their counts stay exact.
uint16_t HighPort(uint32_t dst_id, Rng& rng) {
  uint16_t port = rng.Chance(7000) ? static_cast<uint16_t>(1024 + Perm32(dst_id, 0x7f4a7c15U) % 64512)
                                   : static_cast<uint16_t>(rng.Range(1024, 65535));
  if (port == 5353 || port == 8000 || port == 8080 || port == 8443) ++port;
  return port;
}

void SetMac(Packet& p, const std::array<uint8_t, 6>& dst, const std::array<uint8_t, 6>& src, bool v6) {
  p.has_mac = true;
  std::copy(dst.begin(), dst.end(), p.mac);
  std::copy(src.begin(), src.end(), p.mac + 6);
  // Ethertype 0x0800 (IPv4) or 0x86dd (IPv6).
  p.mac[12] = v6 ? 0x86 : 0x08;
  p.mac[13] = v6 ? 0xdd : 0x00;
}

void SetLanMac(Packet& p, const Source& s, bool v6) {
  // wg0 is a layer-3 tunnel: no link-layer header, so the kernel logs "MAC=".
  if (s.vpn) return;
  SetMac(p, World::kLanMac, s.mac, v6);
}

uint16_t Rand16(Rng& rng) { return static_cast<uint16_t>(rng.Next() >> 48); }

// Bytes of the quoted packet an ICMP error carries: the kernel quotes as much
// as fits in 576 bytes (RFC 1812), i.e. up to 548 after the 28 bytes of
// outer IP and ICMP headers.
uint16_t IcmpErrorLen(const InnerPacket& in) {
  const uint16_t quoted = in.incomplete_bytes >= 0 ? static_cast<uint16_t>(20 + in.incomplete_bytes)
                                                   : std::min<uint16_t>(in.len, 548);
  return static_cast<uint16_t>(20 + 8 + quoted);
}

bool IsLinkDown(uint64_t seed, uint64_t index) {
  return Mix64(SubSeed(seed, /*stream=*/3, index)) % 1000000 < kFlapPerMillion;
}

}  // namespace

BlockGenerator::BlockGenerator(const World& world, const Timeline& timeline, uint64_t seed, uint64_t block)
    : world_(world),
      timeline_(timeline),
      seed_(seed),
      rng_(SubSeed(seed, /*stream=*/2, block)),
      index_(block * kBlockEvents),
      next_base_us_(timeline.BaseOffsetUs(block * kBlockEvents)) {
  GetTables();
}

void BlockGenerator::Next(Event& ev) {
  const uint64_t i = index_++;
  const int64_t base = next_base_us_;
  next_base_us_ = timeline_.BaseOffsetUs(i + 1);
  ev = Event{};
  ev.index = i;
  // Anywhere in [base(i), base(i+1)): random gaps, still never out of order.
  const int64_t gap = next_base_us_ - base;
  ev.time_us = kStartUtcSec * 1000000 + base + (gap > 0 ? static_cast<int64_t>(rng_.Below64(gap)) : 0);
  ev.boot = timeline_.BootOf(i);
  ev.uptime_us = timeline_.UptimeUs(ev.boot, ev.time_us);
  // Syslog rendering: 95% BSD timestamps, 4% RFC 3339 local with offset, 1%
  // RFC 3339 UTC ("Z"); 2% of lines without the uptime bracket; 15% of IPv6
  // records with compressed addresses.
  const uint32_t style = rng_.Below(10000);
  ev.time_style = style < 9500   ? TimeStyle::kBsd
                  : style < 9900 ? TimeStyle::kRfc3339Local
                                 : TimeStyle::kRfc3339Utc;
  ev.show_uptime = rng_.Chance(9800);
  ev.compress_v6 = rng_.Chance(1500);

  const uint64_t reboot = timeline_.reboot_index();
  if (i >= reboot && i < reboot + kBootLines) {
    ev.kind = EventKind::kKernel;
    ev.msg = static_cast<KernelMsg>(static_cast<int>(KernelMsg::kBootFirst) + (i - reboot));
    ev.uptime_us = kBootUptimeUs[i - reboot];
    // syslog reads the new kernel's ring buffer in one go: all boot lines
    // carry the same time, the earliest the reboot index allows.
    ev.time_us = kStartUtcSec * 1000000 + timeline_.BaseOffsetUs(reboot);
    ev.show_uptime = true;
    ev.priority = i - reboot == 0 ? 5 : 6;  // "Linux version" is notice
    return;
  }
  if (i > 0 && IsLinkDown(seed_, i - 1)) {
    ev.kind = EventKind::kKernel;
    ev.msg = KernelMsg::kLinkUp;
    ev.priority = 6;
    return;
  }
  if (IsLinkDown(seed_, i)) {
    ev.kind = EventKind::kKernel;
    ev.msg = KernelMsg::kLinkDown;
    ev.priority = 6;
    return;
  }
  const uint32_t roll = rng_.Below(10000);
  if (roll < kKernelPer10k) {
    MakeKernel(ev);
  } else if (roll < kKernelPer10k + kUfwPer10k) {
    ev.kind = EventKind::kUfwBlock;
    MakeInbound(ev);
  } else if (roll < kKernelPer10k + kUfwPer10k + kDropPer10k) {
    ev.kind = EventKind::kDrop;
    MakeInbound(ev);
  } else {
    MakeOutbound(ev);
  }
}

void BlockGenerator::MakeOutbound(Event& ev) {
  ev.kind = EventKind::kOutbound;
  const Source& s = world_.PickSource(rng_);
  Packet& p = ev.packet;
  p.in = s.vpn ? Iface::kVpn : Iface::kLan;
  p.out = Iface::kWan;
  const Service& svc = kServices[GetTables().service.Sample(rng_)];
  if (svc.shape == Shape::kIcmpError) {
    MakeIcmpError(ev, s);
    return;
  }
  // Dual-stack hosts reach a quarter of their destinations over IPv6, which
  // makes about 12% of NEW-OUTBOUND records IPv6.
  const bool want_v6 = s.has_v6 && rng_.Chance(2500);
  Pool pool = svc.pool;
  // Pings go to 8.8.8.8 and friends 40% of the time, else to a website.
  if (svc.shape == Shape::kEcho && !rng_.Chance(4000)) pool = Pool::kWeb;
  const uint32_t dst_id = world_.PickDestination(pool, want_v6, svc.shift, rng_);
  p.dst = &world_.destination(dst_id);
  const bool v6 = p.dst->is_v6;
  p.src = v6 ? &s.v6 : &s.v4;
  SetLanMac(p, s, v6);
  // Logged in FORWARD, after the gateway decremented TTL / hop limit.
  p.ttl = s.os == Os::kWindows ? 127 : 63;
  p.ip_id = Rand16(rng_);
  // Windows leaves the IPv6 flow label at 0; others hash the flow (20 bits).
  p.flow_label = s.os == Os::kWindows ? 0 : rng_.Below(1u << 20);
  p.ip_csum = Rand16(rng_);
  p.l4_csum = Rand16(rng_);
  const uint16_t l3 = v6 ? 40 : 20;
  switch (svc.shape) {
    case Shape::kTcp: {
      p.proto = Proto::kTcp;
      p.spt = Ephemeral(s.os, rng_);
      p.dpt = svc.port ? svc.port : HighPort(dst_id, rng_);
      p.tcp_flags = kSyn;
      // Apple stacks negotiate ECN on a share of connections: CWR ECE SYN.
      if (s.os == Os::kApple && rng_.Chance(4000)) p.tcp_flags |= kCwr | kEce;
      p.len = static_cast<uint16_t>(SynLen(s.os) + (v6 ? 20 : 0));
      p.window = SynWindow(s.os);
      // Everyone sets DF on TCP except half of the tiny IoT stacks.
      p.df = s.os != Os::kIot || rng_.Chance(5000);
      p.tcp_seq = static_cast<uint32_t>(rng_.Next());
      break;
    }
    case Shape::kUdp: {
      p.proto = Proto::kUdp;
      uint16_t payload;
      p.spt = Ephemeral(s.os, rng_);
      switch (svc.port) {
        case 53:  // a query: 12-byte header, name, type/class, often EDNS
          payload = static_cast<uint16_t>(rng_.Range(28, 80));
          break;
        case 443:  // a QUIC Initial: Chrome pads to 1250 bytes, Firefox 1357
          payload = rng_.Chance(7500) ? 1250 : 1357;
          break;
        case 123:  // an NTPv4 packet without extensions
          payload = 48;
          // ntpd and Windows' w32time send from port 123; chrony does not.
          if (s.os == Os::kWindows || (s.os == Os::kLinux && rng_.Chance(5000))) p.spt = 123;
          break;
        case 5353:  // mDNS always sends from 5353
          payload = static_cast<uint16_t>(rng_.Range(30, 300));
          p.spt = 5353;
          break;
        default:
          payload = static_cast<uint16_t>(rng_.Range(20, 1200));
          break;
      }
      p.dpt = svc.port ? svc.port : HighPort(dst_id, rng_);
      p.udp_len = static_cast<uint16_t>(8 + payload);
      p.len = static_cast<uint16_t>(p.udp_len + l3);
      p.df = s.os == Os::kLinux || s.os == Os::kApple;
      break;
    }
    case Shape::kEcho: {
      p.proto = v6 ? Proto::kIcmpv6 : Proto::kIcmp;
      p.icmp_type = v6 ? 128 : 8;  // echo request
      p.icmp_id = s.ping_id;
      p.icmp_seq = static_cast<uint16_t>(rng_.Range(1, 600));
      // Unix ping sends 56 data bytes, Windows 32; plus 8 bytes of ICMP.
      p.len = static_cast<uint16_t>((s.os == Os::kWindows ? 40 : 64) + l3);
      p.df = s.os == Os::kLinux;
      break;
    }
    case Shape::kIcmpError:
      break;
  }
}

// An inside host reports a problem with a packet it received from outside:
// mostly "port unreachable" for a DNS exchange, sometimes "fragmentation
// needed" for a full-size TCP segment it routes to a container.
void BlockGenerator::MakeIcmpError(Event& ev, const Source& s) {
  Packet& p = ev.packet;
  p.proto = Proto::kIcmp;
  p.icmp_type = 3;
  p.src = &s.v4;
  SetLanMac(p, s, false);
  p.tos = 0xc0;  // Linux sends ICMP errors with precedence "internetwork control"
  p.ttl = 63;
  p.ip_id = Rand16(rng_);
  p.ip_csum = Rand16(rng_);
  p.l4_csum = Rand16(rng_);
  p.has_inner = true;
  InnerPacket& in = p.inner;
  in.dst = s.v4.v4;
  in.id = Rand16(rng_);
  in.ttl = static_cast<uint8_t>(rng_.Range(40, 120));
  uint32_t peer_id;
  if (rng_.Chance(1000)) {
    // 10%: fragmentation needed; the host routes to a Docker bridge
    // (172.17.0.0/16) behind a smaller-MTU path.
    peer_id = world_.PickDestination(Pool::kWeb, false, 0, rng_);
    p.icmp_code = 4;
    constexpr uint16_t kMtus[] = {1420, 1480, 1492};  // WireGuard, 6in4, PPPoE
    p.mtu = kMtus[rng_.Below(3)];
    in.dst = 0xac110000u | rng_.Range(2, 40);
    in.proto = Proto::kTcp;
    in.spt = 443;
    in.dpt = Ephemeral(Os::kLinux, rng_);
    in.len = 1500;
    in.df = true;
    in.window = static_cast<uint16_t>(rng_.Range(200, 2000));
    in.tcp_flags = kAck;
  } else {
    // Port unreachable mostly; host unreachable, host/admin prohibited too.
    const uint32_t code_roll = rng_.Below(100);
    p.icmp_code = code_roll < 70 ? 3 : code_roll < 82 ? 1 : code_roll < 90 ? 10 : 13;
    const uint32_t what = rng_.Below(100);
    if (what < 50) {
      // Someone queries a DNS server that a port forward used to reach.
      peer_id = world_.PickDestination(Pool::kOther, false, 0, rng_);
      in.proto = Proto::kUdp;
      in.spt = static_cast<uint16_t>(rng_.Range(1024, 65535));
      in.dpt = 53;
      in.len = static_cast<uint16_t>(20 + 8 + rng_.Range(28, 60));
    } else if (what < 85) {
      // A DNS answer that arrived after the client gave up.
      peer_id = world_.PickDestination(Pool::kResolvers, false, 0, rng_);
      in.proto = Proto::kUdp;
      in.spt = 53;
      in.dpt = Ephemeral(s.os, rng_);
      in.len = static_cast<uint16_t>(20 + 8 + rng_.Range(60, 500));
      in.df = rng_.Chance(5000);
    } else if (what < 93) {
      // An old device that quotes only 8 bytes of the TCP header: the
      // kernel prints "INCOMPLETE [8 bytes]" inside the brackets.
      peer_id = world_.PickDestination(Pool::kOther, false, 0, rng_);
      in.proto = Proto::kTcp;
      in.len = static_cast<uint16_t>(rng_.Range(40, 60));
      in.df = true;
      in.incomplete_bytes = 8;
    } else {
      // A traceroute probe (UDP to 33434 and up).
      peer_id = world_.PickDestination(Pool::kOther, false, 0, rng_);
      in.proto = Proto::kUdp;
      in.spt = static_cast<uint16_t>(rng_.Range(32768, 60999));
      in.dpt = static_cast<uint16_t>(33434 + rng_.Below(30));
      in.len = 60;
    }
  }
  p.dst = &world_.destination(peer_id);
  in.src = p.dst->v4;
  in.udp_len = static_cast<uint16_t>(in.len - 20);
  p.len = IcmpErrorLen(in);
}

// A probe from the Internet to the WAN address, logged by UFW's block rule
// or by the admin's own "DROP:" rule (which also logs TCP options).
void BlockGenerator::MakeInbound(Event& ev) {
  Packet& p = ev.packet;
  p.in = Iface::kWan;
  p.out = Iface::kNone;
  const bool drop = ev.kind == EventKind::kDrop;
  // 8% of DROP: records are fragments and ICMP errors.
  if (drop && rng_.Chance(800)) {
    MakeInboundSpecial(ev);
    return;
  }
  // 10% of UFW's records are IPv6.
  const bool v6 = !drop && rng_.Chance(1000);
  p.src = v6 ? &world_.PickScannerV6(rng_) : &world_.PickScanner(rng_);
  p.dst = v6 ? &world_.wan_v6() : &world_.wan_v4();
  SetMac(p, World::kWanMac, World::kIspRouterMac, v6);
  // Scanners send from Linux boxes (TTL 64, arriving at 40-60) or with raw
  // sockets at TTL 255 (masscan/zmap, arriving at 225-250).
  p.ttl = static_cast<uint8_t>(rng_.Chance(6000) ? rng_.Range(40, 60) : rng_.Range(225, 250));
  // zmap's fixed IP ID is 54321.
  p.ip_id = rng_.Chance(3000) ? 54321 : Rand16(rng_);
  p.df = rng_.Chance(2000);
  p.tos = rng_.Chance(1000) ? 0x28 : 0;  // some transit networks mark AF11
  p.flow_label = rng_.Below(1u << 20);
  p.ip_csum = Rand16(rng_);
  p.l4_csum = Rand16(rng_);
  const ScanTarget& t = kScanTargets[GetTables().scan.Sample(rng_)];
  const uint16_t l3 = v6 ? 40 : 20;
  switch (t.shape) {
    case Shape::kTcp: {
      p.proto = Proto::kTcp;
      p.spt = static_cast<uint16_t>(rng_.Range(1024, 65535));
      p.dpt = t.port ? t.port : static_cast<uint16_t>(rng_.Range(1, 65535));
      p.tcp_flags = rng_.Chance(9500) ? kSyn : kAck;  // a few ACK scans
      constexpr uint16_t kWindows[] = {1024, 65535, 29200, 14600};
      p.window = kWindows[rng_.Below(4)];
      p.tcp_seq = static_cast<uint32_t>(rng_.Next());
      uint16_t tcp_len;
      if (drop) {
        // nmap's SYN carries exactly one option, MSS 1460: OPT (020405B4).
        p.tcp_opt_mss = p.tcp_flags == kSyn && rng_.Chance(7000);
        tcp_len = p.tcp_opt_mss ? 24 : 20;
      } else {
        const uint32_t r = rng_.Below(100);
        tcp_len = r < 60 ? 20 : r < 85 ? 24 : 40;
      }
      p.len = static_cast<uint16_t>(l3 + tcp_len);
      break;
    }
    case Shape::kUdp: {
      p.proto = Proto::kUdp;
      p.spt = static_cast<uint16_t>(rng_.Range(1024, 65535));
      p.dpt = t.port ? t.port : static_cast<uint16_t>(rng_.Range(1, 65535));
      p.udp_len = static_cast<uint16_t>(8 + rng_.Range(0, 80));
      p.len = static_cast<uint16_t>(l3 + p.udp_len);
      break;
    }
    default: {
      p.proto = v6 ? Proto::kIcmpv6 : Proto::kIcmp;
      p.icmp_type = v6 ? 128 : 8;
      p.icmp_id = Rand16(rng_);
      p.icmp_seq = Rand16(rng_);
      p.len = static_cast<uint16_t>(l3 + 8 + rng_.Range(0, 56));
      break;
    }
  }
}

// DROP: only: tiny TCP fragments (nmap -f) and ICMP errors about the
// gateway's own traffic, the sources of "INCOMPLETE [n bytes]" and FRAG:.
void BlockGenerator::MakeInboundSpecial(Event& ev) {
  Packet& p = ev.packet;
  p.src = &world_.PickScanner(rng_);
  p.dst = &world_.wan_v4();
  SetMac(p, World::kWanMac, World::kIspRouterMac, false);
  p.ip_id = Rand16(rng_);
  p.ip_csum = Rand16(rng_);
  p.l4_csum = Rand16(rng_);
  if (rng_.Chance(5000)) {
    p.proto = Proto::kTcp;
    p.ttl = static_cast<uint8_t>(rng_.Range(40, 60));
    if (rng_.Chance(5000)) {
      // First fragment: 8 bytes of TCP header, too short to print ports.
      p.mf = true;
      p.incomplete_bytes = 8;
      p.len = 28;
    } else {
      // Second fragment (offset 8 bytes): no transport header at all.
      p.frag_offset = 1;
      p.len = 32;
    }
    return;
  }
  p.proto = Proto::kIcmp;
  p.tos = 0xc0;
  p.ttl = static_cast<uint8_t>(rng_.Range(240, 250));
  p.has_inner = true;
  InnerPacket& in = p.inner;
  in.src = world_.wan_v4().v4;
  in.dst = world_.destination(world_.PickDestination(Pool::kOther, false, 0, rng_)).v4;
  in.id = Rand16(rng_);
  if (rng_.Chance(5000)) {
    // Time exceeded for the gateway's own traceroute probe (TTL ran out).
    p.icmp_type = 11;
    p.icmp_code = 0;
    in.ttl = 1;
    in.proto = Proto::kUdp;
    in.spt = static_cast<uint16_t>(rng_.Range(32768, 60999));
    in.dpt = static_cast<uint16_t>(33434 + rng_.Below(30));
    in.len = 60;
  } else {
    // Host unreachable from a router quoting only 8 bytes of TCP.
    p.icmp_type = 3;
    p.icmp_code = 1;
    in.ttl = static_cast<uint8_t>(rng_.Range(50, 62));
    in.df = true;
    in.proto = Proto::kTcp;
    in.len = 60;
    in.incomplete_bytes = 8;
  }
  in.udp_len = static_cast<uint16_t>(in.len - 20);
  p.len = IcmpErrorLen(in);
}

void BlockGenerator::MakeKernel(Event& ev) {
  ev.kind = EventKind::kKernel;
  ev.msg = kKernelShares[GetTables().kernel.Sample(rng_)].msg;
  switch (ev.msg) {
    case KernelMsg::kRatelimit:
      ev.priority = 4;
      ev.arg1 = rng_.Range(2, 400);  // callbacks suppressed
      break;
    case KernelMsg::kAuditApparmor:
    case KernelMsg::kAuditNetfilterCfg:
      ev.priority = 5;
      ev.arg1 = rng_.Range(100, 99999);  // audit serial
      ev.arg2 = rng_.Range(300, 4000);   // pid
      break;
    case KernelMsg::kSynFlood:
      ev.priority = 6;
      ev.arg1 = rng_.Chance(7000) ? 22 : 443;  // the gateway's sshd / web UI
      break;
    case KernelMsg::kAddrconf:
      ev.priority = 6;
      break;
    case KernelMsg::kWireguardRetry:
      ev.priority = 7;
      ev.arg1 = rng_.Range(1, 12);  // peer number
      ev.arg2 = world_.PickScanner(rng_).v4;  // the peer's endpoint
      break;
    default:
      ev.priority = 4;
      break;
  }
}

}  // namespace logtally::datasets
