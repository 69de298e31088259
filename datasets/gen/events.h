// What happens on the gateway, one event at a time: a logged packet (with
// every header field the kernel or ulogd would print) or another kernel
// message. Formats turn events into bytes; this file decides their content.
//
// Event i of a run depends only on (seed, i's block, i's position in it) and
// the World/Timeline, so blocks can be generated in any order on any thread,
// and all three output formats see the same packets.
#ifndef LOGTALLY_DATASETS_GEN_EVENTS_H_
#define LOGTALLY_DATASETS_GEN_EVENTS_H_

#include <cstdint>

#include "datasets/gen/random.h"
#include "datasets/gen/timeline.h"
#include "datasets/gen/world.h"

namespace logtally::datasets {

// Events per block: the unit of parallel work and of seeding. About 2 MB of
// text, enough to amortise thread hand-offs and to make large write(2)s.
// Changing it changes the output for a given seed.
inline constexpr uint64_t kBlockEvents = 8192;

enum class Proto : uint8_t { kTcp, kUdp, kIcmp, kIcmpv6 };

// TCP flag bits; the kernel prints them in this order, high bit first.
enum TcpFlag : uint8_t {
  kCwr = 0x80, kEce = 0x40, kUrg = 0x20, kAck = 0x10,
  kPsh = 0x08, kRst = 0x04, kSyn = 0x02, kFin = 0x01,
};

// The packet an ICMP error quotes (IPv4 only, as the kernel logs it).
struct InnerPacket {
  uint32_t src = 0, dst = 0;
  uint16_t len = 0, id = 0;
  uint8_t ttl = 0;
  bool df = false;
  Proto proto = Proto::kUdp;
  uint16_t spt = 0, dpt = 0, udp_len = 0, window = 0;
  uint8_t tcp_flags = 0;
  // >= 0: only this many transport bytes were quoted, too few for a TCP
  // header, so the kernel prints "INCOMPLETE [n bytes]" (a nested bracket).
  int16_t incomplete_bytes = -1;
};

struct Packet {
  Iface in = Iface::kNone, out = Iface::kNone;
  bool has_mac = false;
  uint8_t mac[14] = {};  // destination MAC, source MAC, ethertype
  const Address* src = nullptr;
  const Address* dst = nullptr;
  // IPv4 total length, or IPv6 payload length + 40 (what LEN= shows).
  uint16_t len = 0;
  uint8_t tos = 0;   // IPv4 TOS byte / IPv6 traffic class
  uint8_t ttl = 0;   // TTL / hop limit
  uint16_t ip_id = 0;
  bool df = false, mf = false;
  uint16_t frag_offset = 0;  // in 8-byte units; non-zero = later fragment
  uint32_t flow_label = 0;
  Proto proto = Proto::kTcp;
  uint16_t spt = 0, dpt = 0, udp_len = 0, window = 0;
  uint8_t tcp_flags = 0;
  bool tcp_opt_mss = false;    // logged with --log-tcp-options: OPT (020405B4)
  int16_t incomplete_bytes = -1;  // see InnerPacket
  uint8_t icmp_type = 0, icmp_code = 0;
  uint16_t icmp_id = 0, icmp_seq = 0, mtu = 0;
  bool has_inner = false;
  InnerPacket inner;
  // Only ulogd prints these.
  uint32_t tcp_seq = 0;
  uint16_t ip_csum = 0, l4_csum = 0;
};

enum class EventKind : uint8_t {
  kOutbound,  // NEW-OUTBOUND, FORWARD from the inside
  kUfwBlock,  // "[UFW BLOCK] ", INPUT on the WAN side
  kDrop,      // "DROP:" glued to IN=, INPUT on the WAN side, TCP options logged
  kKernel,    // any other kernel message (not in ulogd output)
};

// Non-netfilter kernel messages. kBoot* are the new kernel's boot lines.
enum class KernelMsg : uint8_t {
  kRatelimit, kConntrackFull, kLinkDown, kLinkUp, kAuditApparmor,
  kAuditNetfilterCfg, kSynFlood, kWireguardRetry, kAddrconf,
  kBootFirst,
};
inline constexpr int kBootLines = 8;

enum class TimeStyle : uint8_t { kBsd, kRfc3339Local, kRfc3339Utc };

struct Event {
  uint64_t index = 0;
  int64_t time_us = 0;    // UTC, microseconds since the epoch
  int64_t uptime_us = 0;  // kernel printk time
  int boot = 0;
  EventKind kind = EventKind::kOutbound;
  // Syslog rendering choices (text format only).
  TimeStyle time_style = TimeStyle::kBsd;
  bool show_uptime = true;
  bool compress_v6 = false;  // text/journald: IPv6 as "2a00:1450::1" form
  uint8_t priority = 4;      // syslog severity; LOG's default is warning
  Packet packet;
  KernelMsg msg = KernelMsg::kRatelimit;
  uint32_t arg1 = 0, arg2 = 0;
};

// Generates the events of one block, in order.
class BlockGenerator {
 public:
  BlockGenerator(const World& world, const Timeline& timeline, uint64_t seed, uint64_t block);
  // The next event of the block (call at most kBlockEvents times).
  void Next(Event& ev);

 private:
  void MakeOutbound(Event& ev);
  void MakeIcmpError(Event& ev, const Source& src);
  void MakeInbound(Event& ev);
  void MakeInboundSpecial(Event& ev);
  void MakeKernel(Event& ev);

  const World& world_;
  const Timeline& timeline_;
  uint64_t seed_;
  Rng rng_;
  uint64_t index_;
  int64_t next_base_us_;
};

}  // namespace logtally::datasets

#endif  // LOGTALLY_DATASETS_GEN_EVENTS_H_
