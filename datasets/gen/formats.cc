// Byte layouts of the three output formats. The netfilter text follows the
// kernel's nf_log_ipv4/nf_log_ipv6 printing field for field (including the
// trailing space); ulogd objects follow the key order of a
// NFLOG,BASE,IFINDEX,IP2STR,HWHDR,JSON stack with jansson's ", " / ": ".
#include "datasets/gen/formats.h"

#include <cstring>

#include "datasets/gen/timeline.h"

namespace logtally::datasets {
namespace {

constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Identifiers journald would show; fixed, so the output stays deterministic.
constexpr std::string_view kMachineId = "9f2d4b7e1c8a4f3e8b6d0a2c5e7f1b93";
constexpr std::string_view kSeqnumId = "7a1e6c3d9b2f4a08e5c7d1b3f9a2e640";
constexpr std::string_view kBootIds[2] = {"5c3b8f0e2a7d4e19b6c1f08a9d2e7b43",
                                          "e1a94c7f3b0d4268a5f21c9e7d83b06a"};
// Journal sequence numbers of this host were at 0x3b2a10 when the log starts.
constexpr uint64_t kFirstSeqnum = 0x3b2a10;

std::string_view Prefix(EventKind kind) {
  switch (kind) {
    case EventKind::kOutbound: return "NEW-OUTBOUND ";
    case EventKind::kUfwBlock: return "[UFW BLOCK] ";
    case EventKind::kDrop: return "DROP:";
    case EventKind::kKernel: break;
  }
  return "";
}

void PutAddress(const Address& a, bool compress, OutBuffer& out) {
  if (!a.is_v6) {
    out.IPv4(a.v4);
  } else if (compress) {
    out.IPv6Compressed(a.v6.data());
  } else {
    out.IPv6Full(a.v6.data());
  }
}

void PutIface(Iface iface, OutBuffer& out) { out.Put(IfaceName(iface)); }

void TcpFlags(uint8_t flags, OutBuffer& out) {
  static constexpr std::string_view kNames[8] = {"CWR ", "ECE ", "URG ", "ACK ",
                                                 "PSH ", "RST ", "SYN ", "FIN "};
  for (int bit = 0; bit < 8; ++bit) {
    if (flags & (0x80 >> bit)) out.Put(kNames[bit]);
  }
}

// IPv4 header fields from LEN= to the fragment flags (kernel order).
void V4Header(uint16_t len, uint8_t tos, uint8_t ttl, uint16_t id, bool df, bool mf,
              uint16_t frag_offset, OutBuffer& out) {
  out.Lit(" LEN=");
  out.U32(len);
  out.Lit(" TOS=0x");
  out.Hex2Upper(tos & 0x1e);  // IPTOS_TOS_MASK
  out.Lit(" PREC=0x");
  out.Hex2Upper(tos & 0xe0);  // IPTOS_PREC_MASK
  out.Lit(" TTL=");
  out.U32(ttl);
  out.Lit(" ID=");
  out.U32(id);
  out.Put(' ');
  if (df) out.Lit("DF ");
  if (mf) out.Lit("MF ");
  if (frag_offset) {
    out.Lit("FRAG:");
    out.U32(frag_offset);
    out.Put(' ');
  }
}

void Ports(uint16_t spt, uint16_t dpt, OutBuffer& out) {
  out.Lit("SPT=");
  out.U32(spt);
  out.Lit(" DPT=");
  out.U32(dpt);
  out.Put(' ');
}

void Incomplete(int16_t bytes, OutBuffer& out) {
  out.Lit("INCOMPLETE [");
  out.U32(static_cast<uint32_t>(bytes));
  out.Lit(" bytes] ");
}

void Inner(const InnerPacket& in, OutBuffer& out) {
  out.Lit("[SRC=");
  out.IPv4(in.src);
  out.Lit(" DST=");
  out.IPv4(in.dst);
  V4Header(in.len, 0, in.ttl, in.id, in.df, false, 0, out);
  if (in.proto == Proto::kUdp) {
    out.Lit("PROTO=UDP ");
    Ports(in.spt, in.dpt, out);
    out.Lit("LEN=");
    out.U32(in.udp_len);
    out.Put(' ');
  } else {
    out.Lit("PROTO=TCP ");
    if (in.incomplete_bytes >= 0) {
      Incomplete(in.incomplete_bytes, out);
    } else {
      Ports(in.spt, in.dpt, out);
      out.Lit("WINDOW=");
      out.U32(in.window);
      out.Lit(" RES=0x00 ");
      TcpFlags(in.tcp_flags, out);
      out.Lit("URGP=0 ");
    }
  }
  out.Lit("] ");
}

// The kernel's text of a logged packet, from the prefix to the trailing space.
void PacketText(const Event& ev, OutBuffer& out) {
  const Packet& p = ev.packet;
  out.Put(Prefix(ev.kind));
  out.Lit("IN=");
  PutIface(p.in, out);
  out.Lit(" OUT=");
  PutIface(p.out, out);
  out.Lit(" MAC=");
  if (p.has_mac) out.HexColon(p.mac, 14);
  out.Lit(" SRC=");
  PutAddress(*p.src, ev.compress_v6, out);
  out.Lit(" DST=");
  PutAddress(*p.dst, ev.compress_v6, out);
  if (p.src->is_v6) {
    out.Lit(" LEN=");
    out.U32(p.len);
    out.Lit(" TC=");
    out.U32(p.tos);
    out.Lit(" HOPLIMIT=");
    out.U32(p.ttl);
    out.Lit(" FLOWLBL=");
    out.U32(p.flow_label);
    out.Put(' ');
  } else {
    V4Header(p.len, p.tos, p.ttl, p.ip_id, p.df, p.mf, p.frag_offset, out);
  }
  switch (p.proto) {
    case Proto::kTcp:
      out.Lit("PROTO=TCP ");
      if (p.frag_offset) break;  // a later fragment has no TCP header
      if (p.incomplete_bytes >= 0) {
        Incomplete(p.incomplete_bytes, out);
        break;
      }
      Ports(p.spt, p.dpt, out);
      out.Lit("WINDOW=");
      out.U32(p.window);
      out.Lit(" RES=0x00 ");
      TcpFlags(p.tcp_flags, out);
      out.Lit("URGP=0 ");
      if (p.tcp_opt_mss) out.Lit("OPT (020405B4) ");
      break;
    case Proto::kUdp:
      out.Lit("PROTO=UDP ");
      Ports(p.spt, p.dpt, out);
      out.Lit("LEN=");
      out.U32(p.udp_len);
      out.Put(' ');
      break;
    case Proto::kIcmp:
    case Proto::kIcmpv6:
      if (p.proto == Proto::kIcmp) {
        out.Lit("PROTO=ICMP TYPE=");
      } else {
        out.Lit("PROTO=ICMPv6 TYPE=");
      }
      out.U32(p.icmp_type);
      out.Lit(" CODE=");
      out.U32(p.icmp_code);
      out.Put(' ');
      if (p.icmp_type == 8 || p.icmp_type == 128) {
        out.Lit("ID=");
        out.U32(p.icmp_id);
        out.Lit(" SEQ=");
        out.U32(p.icmp_seq);
        out.Put(' ');
      }
      if (p.has_inner) Inner(p.inner, out);
      if (p.icmp_type == 3 && p.icmp_code == 4) {
        out.Lit("MTU=");
        out.U32(p.mtu);
        out.Put(' ');
      }
      break;
  }
}

// Audit records carry the event time as seconds.milliseconds.
void AuditStamp(const Event& ev, OutBuffer& out) {
  out.Lit("audit(");
  out.U64(static_cast<uint64_t>(ev.time_us / 1000000));
  out.Put('.');
  out.ZeroPadded(static_cast<uint64_t>(ev.time_us / 1000 % 1000), 3);
  out.Put(':');
  out.U32(ev.arg1);
  out.Lit("): ");
}

void KernelText(const Event& ev, OutBuffer& out) {
  static constexpr std::string_view kBoot[kBootLines] = {
      "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, "
      "GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
      "Command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 "
      "root=UUID=5b1f3c9e-2d4a-4c8e-9f1a-7e2b6d0c8a41 ro console=ttyS0,115200n8 quiet",
      "igb: Intel(R) Gigabit Ethernet Network Driver",
      "igb 0000:01:00.0 eth0: igb: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX/TX",
      "igb 0000:02:00.0 eth1: igb: eth1 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX/TX",
      "wireguard: WireGuard 1.0.0 loaded. See www.wireguard.com for information.",
      "wireguard: Copyright (C) 2015-2019 Jason A. Donenfeld <Jason@zx2c4.com>. All Rights Reserved.",
      "bridge: filtering via arp/ip/ip6tables is no longer available by default. Update your scripts to load "
      "br_netfilter if you need this.",
  };
  switch (ev.msg) {
    case KernelMsg::kRatelimit:
      out.Lit("net_ratelimit: ");
      out.U32(ev.arg1);
      out.Lit(" callbacks suppressed");
      return;
    case KernelMsg::kConntrackFull:
      out.Lit("nf_conntrack: nf_conntrack: table full, dropping packet");
      return;
    case KernelMsg::kLinkDown:
      out.Lit("igb 0000:01:00.0 eth0: igb: eth0 NIC Link is Down");
      return;
    case KernelMsg::kLinkUp:
      out.Lit("igb 0000:01:00.0 eth0: igb: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX/TX");
      return;
    case KernelMsg::kAuditApparmor:
      out.Lit("audit: type=1400 ");
      AuditStamp(ev, out);
      out.Lit("apparmor=\"DENIED\" operation=\"open\" class=\"file\" profile=\"/usr/sbin/chronyd\" "
              "name=\"/sys/devices/system/clocksource/clocksource0/current_clocksource\" pid=");
      out.U32(ev.arg2);
      out.Lit(" comm=\"chronyd\" requested_mask=\"r\" denied_mask=\"r\" fsuid=0 ouid=0");
      return;
    case KernelMsg::kAuditNetfilterCfg:
      out.Lit("audit: type=1325 ");
      AuditStamp(ev, out);
      // Table generation and entry count vary with the serial.
      out.Lit("table=filter:");
      out.U32(3 + ev.arg1 % 97);
      out.Lit(" family=2 entries=");
      out.U32(40 + ev.arg1 % 30);
      out.Lit(" op=xt_replace pid=");
      out.U32(ev.arg2);
      out.Lit(" subj=unconfined comm=\"iptables-restor\"");
      return;
    case KernelMsg::kSynFlood:
      out.Lit("TCP: request_sock_TCP: Possible SYN flooding on port ");
      out.U32(ev.arg1);
      out.Lit(". Sending cookies.  Check SNMP counters.");
      return;
    case KernelMsg::kWireguardRetry:
      out.Lit("wireguard: wg0: Handshake for peer ");
      out.U32(ev.arg1);
      out.Lit(" (");
      out.IPv4(ev.arg2);
      out.Lit(":51820) did not complete after 5 seconds, retrying (try 2)");
      return;
    case KernelMsg::kAddrconf:
      out.Lit("IPv6: ADDRCONF(NETDEV_CHANGE): eth0: link becomes ready");
      return;
    default: {
      const int boot_line = static_cast<int>(ev.msg) - static_cast<int>(KernelMsg::kBootFirst);
      if (boot_line >= 0 && boot_line < kBootLines) out.Put(kBoot[boot_line]);
      return;
    }
  }
}

// The message text as the kernel emitted it (without the printk time).
void Message(const Event& ev, OutBuffer& out) {
  if (ev.kind == EventKind::kKernel) {
    KernelText(ev, out);
  } else {
    PacketText(ev, out);
  }
}

void Fraction6(int64_t time_us, OutBuffer& out) {
  out.Put('.');
  out.ZeroPadded(static_cast<uint64_t>(time_us % 1000000), 6);
}

// ulogd: `"key": value` separated by ", ".
template <size_t N>
void Key(const char (&key)[N], OutBuffer& out) {
  out.Lit(", \"");
  out.Lit(key);
  out.Lit("\": ");
}
template <size_t N>
void KeyU(const char (&key)[N], uint64_t v, OutBuffer& out) {
  Key(key, out);
  out.U64(v);
}

}  // namespace

void Formatter::UpdateClock(int64_t time_us) {
  const int64_t sec = time_us / 1000000;
  if (sec == clock_sec_) return;
  clock_sec_ = sec;
  auto write2 = [](char* p, int v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  auto iso = [&](char* p, const CivilTime& c) {
    write2(p, c.year / 100);
    write2(p + 2, c.year % 100);
    p[4] = '-';
    write2(p + 5, c.month);
    p[7] = '-';
    write2(p + 8, c.day);
    p[10] = 'T';
    write2(p + 11, c.hour);
    p[13] = ':';
    write2(p + 14, c.minute);
    p[16] = ':';
    write2(p + 17, c.second);
  };
  const CivilTime local = ToCivil(sec + kUtcOffsetSec);
  iso(local_iso_, local);
  iso(utc_iso_, ToCivil(sec));
  std::memcpy(bsd_, kMonths[local.month - 1], 3);
  bsd_[3] = ' ';
  // BSD syslog pads the day of month with a space: "Mar  8".
  bsd_[4] = local.day < 10 ? ' ' : static_cast<char>('0' + local.day / 10);
  bsd_[5] = static_cast<char>('0' + local.day % 10);
  std::memcpy(bsd_ + 6, local_iso_ + 10, 9);  // " HH:MM:SS" after 'T'
  bsd_[6] = ' ';
}

bool Formatter::Format(const Event& ev, OutBuffer& out) {
  switch (format_) {
    case OutputFormat::kText:
      Text(ev, out);
      return true;
    case OutputFormat::kJournald:
      Journald(ev, out);
      return true;
    case OutputFormat::kUlogd:
      if (ev.kind == EventKind::kKernel) return false;
      Ulogd(ev, out);
      return true;
  }
  return false;
}

void Formatter::Text(const Event& ev, OutBuffer& out) {
  UpdateClock(ev.time_us);
  switch (ev.time_style) {
    case TimeStyle::kBsd:
      out.Put(std::string_view(bsd_, sizeof bsd_));
      break;
    case TimeStyle::kRfc3339Local:
      out.Put(std::string_view(local_iso_, sizeof local_iso_));
      Fraction6(ev.time_us, out);
      out.Lit("+01:00");
      break;
    case TimeStyle::kRfc3339Utc:
      out.Put(std::string_view(utc_iso_, sizeof utc_iso_));
      Fraction6(ev.time_us, out);
      out.Put('Z');
      break;
  }
  out.Put(' ');
  out.Put(kHostName);
  out.Lit(" kernel: ");
  if (ev.show_uptime) {
    // printk's "[%5lu.%06lu] ".
    out.Put('[');
    out.SpacePadded(static_cast<uint64_t>(ev.uptime_us / 1000000), 5);
    out.Put('.');
    out.ZeroPadded(static_cast<uint64_t>(ev.uptime_us % 1000000), 6);
    out.Lit("] ");
  }
  Message(ev, out);
  out.Put('\n');
}

void Formatter::Journald(const Event& ev, OutBuffer& out) {
  const uint64_t realtime = static_cast<uint64_t>(ev.time_us);
  // journald stamps the entry 30-400 us after the printk time; derived from
  // the index, not the block's random stream, so formats stay in step.
  const uint64_t mix = Mix64(ev.index ^ 0x6a6f75726e616c64ULL);
  const uint64_t monotonic = static_cast<uint64_t>(ev.uptime_us) + 30 + mix % 371;
  const std::string_view boot_id = kBootIds[ev.boot];
  out.Lit("{\"__CURSOR\":\"s=");
  out.Put(kSeqnumId);
  out.Lit(";i=");
  out.HexLower(kFirstSeqnum + ev.index, 0);
  out.Lit(";b=");
  out.Put(boot_id);
  out.Lit(";m=");
  out.HexLower(monotonic, 0);
  out.Lit(";t=");
  out.HexLower(realtime, 0);
  out.Lit(";x=");
  out.HexLower(mix >> 1 ^ realtime, 16);
  out.Lit("\",\"__REALTIME_TIMESTAMP\":\"");
  out.U64(realtime);
  out.Lit("\",\"__MONOTONIC_TIMESTAMP\":\"");
  out.U64(monotonic);
  out.Lit("\",\"_BOOT_ID\":\"");
  out.Put(boot_id);
  out.Lit("\",\"_SOURCE_MONOTONIC_TIMESTAMP\":\"");
  out.U64(static_cast<uint64_t>(ev.uptime_us));
  out.Lit("\",\"_TRANSPORT\":\"kernel\",\"PRIORITY\":\"");
  out.U32(ev.priority);
  out.Lit("\",\"SYSLOG_FACILITY\":\"0\",\"SYSLOG_IDENTIFIER\":\"kernel\",\"MESSAGE\":\"");
  if (ev.kind == EventKind::kKernel) {
    // Audit lines contain quotes: render, then escape.
    scratch_.Clear();
    scratch_.Reserve(kMaxEventBytes);
    KernelText(ev, scratch_);
    out.JsonEscaped(std::string_view(scratch_.data(), scratch_.size()));
  } else {
    PacketText(ev, out);  // prefixes and fields never need escaping
  }
  out.Lit("\",\"_MACHINE_ID\":\"");
  out.Put(kMachineId);
  out.Lit("\",\"_HOSTNAME\":\"");
  out.Put(kHostName);
  out.Lit("\",\"_RUNTIME_SCOPE\":\"system\"}\n");
}

void Formatter::Ulogd(const Event& ev, OutBuffer& out) {
  UpdateClock(ev.time_us);
  const Packet& p = ev.packet;
  const bool v6 = p.src->is_v6;
  out.Lit("{\"timestamp\": \"");
  out.Put(std::string_view(local_iso_, sizeof local_iso_));
  Fraction6(ev.time_us, out);
  out.Lit("+0100\", \"dvc\": \"Netfilter\"");
  KeyU("raw.pktlen", p.len, out);
  KeyU("raw.pktcount", 1, out);
  Key("oob.prefix", out);
  out.Put('"');
  out.Put(Prefix(ev.kind));
  out.Put('"');
  KeyU("oob.time.sec", static_cast<uint64_t>(ev.time_us / 1000000), out);
  KeyU("oob.time.usec", static_cast<uint64_t>(ev.time_us % 1000000), out);
  KeyU("oob.mark", 0, out);
  KeyU("oob.ifindex_in", IfaceIndex(p.in), out);
  if (p.out != Iface::kNone) KeyU("oob.ifindex_out", IfaceIndex(p.out), out);
  // Netfilter hooks: 1 = LOCAL_IN (INPUT), 2 = FORWARD.
  KeyU("oob.hook", ev.kind == EventKind::kOutbound ? 2 : 1, out);
  KeyU("raw.mac_len", p.has_mac ? 14 : 0, out);
  // Address families 2 (AF_INET) / 10 (AF_INET6); ethertypes 0x0800 / 0x86dd.
  KeyU("oob.family", v6 ? 10 : 2, out);
  KeyU("oob.protocol", v6 ? 0x86dd : 0x0800, out);
  KeyU("raw.label", 0, out);
  // ARPHRD_ETHER (1) or ARPHRD_NONE (65534, a WireGuard tunnel).
  KeyU("raw.type", p.has_mac ? 1 : 65534, out);
  if (p.has_mac) KeyU("raw.mac.addrlen", 6, out);
  // IP protocol numbers: ICMP 1, TCP 6, UDP 17, ICMPv6 58.
  static constexpr uint8_t kProtoNumber[] = {6, 17, 1, 58};
  const uint32_t proto = kProtoNumber[static_cast<int>(p.proto)];
  KeyU("ip.protocol", proto, out);
  if (v6) {
    KeyU("ip6.payloadlen", p.len - 40u, out);
    KeyU("ip6.priority", p.tos, out);
    KeyU("ip6.flowlabel", p.flow_label, out);
    KeyU("ip6.hoplimit", p.ttl, out);
    KeyU("ip6.nexthdr", proto, out);
  } else {
    KeyU("ip.tos", p.tos, out);
    KeyU("ip.ttl", p.ttl, out);
    KeyU("ip.totlen", p.len, out);
    KeyU("ip.ihl", 5, out);
    KeyU("ip.csum", p.ip_csum, out);
    KeyU("ip.id", p.ip_id, out);
    // The raw frag_off field: DF 0x4000, MF 0x2000, offset in 8-byte units.
    KeyU("ip.fragoff", (p.df ? 0x4000u : 0u) | (p.mf ? 0x2000u : 0u) | p.frag_offset, out);
  }
  const bool has_l4 = p.frag_offset == 0 && p.incomplete_bytes < 0;
  switch (p.proto) {
    case Proto::kTcp:
      if (!has_l4) break;
      KeyU("src_port", p.spt, out);
      KeyU("dest_port", p.dpt, out);
      KeyU("tcp.seq", p.tcp_seq, out);
      KeyU("tcp.ackseq", 0, out);
      KeyU("tcp.window", p.window, out);
      KeyU("tcp.offset", 0, out);
      KeyU("tcp.reserved", 0, out);
      KeyU("tcp.urg", (p.tcp_flags & kUrg) ? 1 : 0, out);
      KeyU("tcp.ack", (p.tcp_flags & kAck) ? 1 : 0, out);
      KeyU("tcp.psh", (p.tcp_flags & kPsh) ? 1 : 0, out);
      KeyU("tcp.rst", (p.tcp_flags & kRst) ? 1 : 0, out);
      KeyU("tcp.syn", (p.tcp_flags & kSyn) ? 1 : 0, out);
      KeyU("tcp.fin", (p.tcp_flags & kFin) ? 1 : 0, out);
      KeyU("tcp.res1", 0, out);
      KeyU("tcp.res2", (p.tcp_flags & (kCwr | kEce)) >> 6, out);
      KeyU("tcp.csum", p.l4_csum, out);
      break;
    case Proto::kUdp:
      KeyU("src_port", p.spt, out);
      KeyU("dest_port", p.dpt, out);
      KeyU("udp.len", p.udp_len, out);
      KeyU("udp.csum", p.l4_csum, out);
      break;
    case Proto::kIcmp:
      KeyU("icmp.type", p.icmp_type, out);
      KeyU("icmp.code", p.icmp_code, out);
      if (p.icmp_type == 8) {
        KeyU("icmp.echoid", p.icmp_id, out);
        KeyU("icmp.echoseq", p.icmp_seq, out);
      }
      if (p.icmp_type == 3 && p.icmp_code == 4) KeyU("icmp.fragmtu", p.mtu, out);
      KeyU("icmp.csum", p.l4_csum, out);
      break;
    case Proto::kIcmpv6:
      KeyU("icmpv6.type", p.icmp_type, out);
      KeyU("icmpv6.code", p.icmp_code, out);
      if (p.icmp_type == 128) {
        KeyU("icmpv6.echoid", p.icmp_id, out);
        KeyU("icmpv6.echoseq", p.icmp_seq, out);
      }
      KeyU("icmpv6.csum", p.l4_csum, out);
      break;
  }
  Key("oob.in", out);
  out.Put('"');
  PutIface(p.in, out);
  out.Put('"');
  Key("oob.out", out);
  out.Put('"');
  PutIface(p.out, out);
  out.Put('"');
  // IP2STR prints addresses with inet_ntop, i.e. always compressed.
  Key("src_ip", out);
  out.Put('"');
  PutAddress(*p.src, true, out);
  out.Put('"');
  Key("dest_ip", out);
  out.Put('"');
  PutAddress(*p.dst, true, out);
  out.Put('"');
  if (p.has_mac) {
    Key("mac.saddr.str", out);
    out.Put('"');
    out.HexColon(p.mac + 6, 6);
    out.Put('"');
    Key("mac.daddr.str", out);
    out.Put('"');
    out.HexColon(p.mac, 6);
    out.Put('"');
    Key("mac.str", out);
    out.Put('"');
    out.HexColon(p.mac, 14);
    out.Put('"');
  }
  out.Lit("}\n");
}

}  // namespace logtally::datasets
