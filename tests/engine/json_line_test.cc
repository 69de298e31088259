// JSON lines (engine/json_line.h): journald, ulogd and other objects, the
// ulogd fields as the text LOG target prints them, generic paths, and bad
// input of every kind.
#include "engine/json_line.h"
#include "engine/ulogd.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace logtally::engine {
namespace {

using Kind = JsonLine::Kind;

// ---- lines from logtally-gen (--seed 1), one of each shape ----------------------

// journald, a NEW-OUTBOUND TCP record.
const std::string kJournaldTcp =
    R"({"__CURSOR":"s=7a1e6c3d9b2f4a08e5c7d1b3f9a2e640;i=3b2a10;b=5c3b8f0e2a7d4e19b6c1f08a9d2e7b43;m=16fed9473ee;t=613284f9b6df4;x=4ac1fd4fadad900a","__REALTIME_TIMESTAMP":"1709913715469812","__MONOTONIC_TIMESTAMP":"1580238926830","_BOOT_ID":"5c3b8f0e2a7d4e19b6c1f08a9d2e7b43","_SOURCE_MONOTONIC_TIMESTAMP":"1580238926601","_TRANSPORT":"kernel","PRIORITY":"4","SYSLOG_FACILITY":"0","SYSLOG_IDENTIFIER":"kernel","MESSAGE":"NEW-OUTBOUND IN=eth1 OUT=eth0 MAC=00:0d:b9:4a:1c:3e:3c:a9:f4:3b:72:67:08:00 SRC=192.168.1.171 DST=195.10.245.186 LEN=52 TOS=0x00 PREC=0x00 TTL=127 ID=48608 DF PROTO=TCP SPT=59353 DPT=443 WINDOW=64240 RES=0x00 SYN URGP=0 ","_MACHINE_ID":"9f2d4b7e1c8a4f3e8b6d0a2c5e7f1b93","_HOSTNAME":"gw01","_RUNTIME_SCOPE":"system"})";

// ulogd, the same packet.
const std::string kUlogdTcp =
    R"({"timestamp": "2024-03-08T17:01:55.469812+0100", "dvc": "Netfilter", "raw.pktlen": 52, "raw.pktcount": 1, "oob.prefix": "NEW-OUTBOUND ", "oob.time.sec": 1709913715, "oob.time.usec": 469812, "oob.mark": 0, "oob.ifindex_in": 3, "oob.ifindex_out": 2, "oob.hook": 2, "raw.mac_len": 14, "oob.family": 2, "oob.protocol": 2048, "raw.label": 0, "raw.type": 1, "raw.mac.addrlen": 6, "ip.protocol": 6, "ip.tos": 0, "ip.ttl": 127, "ip.totlen": 52, "ip.ihl": 5, "ip.csum": 55837, "ip.id": 48608, "ip.fragoff": 16384, "src_port": 59353, "dest_port": 443, "tcp.seq": 3624876396, "tcp.ackseq": 0, "tcp.window": 64240, "tcp.offset": 0, "tcp.reserved": 0, "tcp.urg": 0, "tcp.ack": 0, "tcp.psh": 0, "tcp.rst": 0, "tcp.syn": 1, "tcp.fin": 0, "tcp.res1": 0, "tcp.res2": 0, "tcp.csum": 20085, "oob.in": "eth1", "oob.out": "eth0", "src_ip": "192.168.1.171", "dest_ip": "195.10.245.186", "mac.saddr.str": "3c:a9:f4:3b:72:67", "mac.daddr.str": "00:0d:b9:4a:1c:3e", "mac.str": "00:0d:b9:4a:1c:3e:3c:a9:f4:3b:72:67:08:00"})";

// ulogd, UDP (udp.len is the second LEN of the text form).
const std::string kUlogdUdp =
    R"({"timestamp": "2024-03-08T17:04:13.890948+0100", "dvc": "Netfilter", "raw.pktlen": 605, "raw.pktcount": 1, "oob.prefix": "NEW-OUTBOUND ", "oob.time.sec": 1709913853, "oob.time.usec": 890948, "oob.mark": 0, "oob.ifindex_in": 3, "oob.ifindex_out": 2, "oob.hook": 2, "raw.mac_len": 14, "oob.family": 2, "oob.protocol": 2048, "raw.label": 0, "raw.type": 1, "raw.mac.addrlen": 6, "ip.protocol": 17, "ip.tos": 0, "ip.ttl": 63, "ip.totlen": 605, "ip.ihl": 5, "ip.csum": 14942, "ip.id": 30416, "ip.fragoff": 16384, "src_port": 39492, "dest_port": 22094, "udp.len": 585, "udp.csum": 35731, "oob.in": "eth1", "oob.out": "eth0", "src_ip": "192.168.1.9", "dest_ip": "106.250.159.222", "mac.saddr.str": "dc:a6:32:e8:e4:89", "mac.daddr.str": "00:0d:b9:4a:1c:3e", "mac.str": "00:0d:b9:4a:1c:3e:dc:a6:32:e8:e4:89:08:00"})";

// ulogd, ICMP "fragmentation needed" (MTU), tos 192 (PREC=0xC0).
const std::string kUlogdIcmpMtu =
    R"({"timestamp": "2024-03-09T22:06:33.933021+0100", "dvc": "Netfilter", "raw.pktlen": 576, "raw.pktcount": 1, "oob.prefix": "NEW-OUTBOUND ", "oob.time.sec": 1710018393, "oob.time.usec": 933021, "oob.mark": 0, "oob.ifindex_in": 3, "oob.ifindex_out": 2, "oob.hook": 2, "raw.mac_len": 14, "oob.family": 2, "oob.protocol": 2048, "raw.label": 0, "raw.type": 1, "raw.mac.addrlen": 6, "ip.protocol": 1, "ip.tos": 192, "ip.ttl": 63, "ip.totlen": 576, "ip.ihl": 5, "ip.csum": 42371, "ip.id": 3066, "ip.fragoff": 0, "icmp.type": 3, "icmp.code": 4, "icmp.fragmtu": 1480, "icmp.csum": 55990, "oob.in": "eth1", "oob.out": "eth0", "src_ip": "192.168.1.42", "dest_ip": "186.218.168.177", "mac.saddr.str": "3c:a9:f4:2b:23:b2", "mac.daddr.str": "00:0d:b9:4a:1c:3e", "mac.str": "00:0d:b9:4a:1c:3e:3c:a9:f4:2b:23:b2:08:00"})";

// ulogd, ICMP echo (IP ID first, then the echo id: ID is the IP one).
const std::string kUlogdPing =
    R"({"timestamp": "2024-03-08T22:11:00.665096+0100", "dvc": "Netfilter", "raw.pktlen": 84, "raw.pktcount": 1, "oob.prefix": "NEW-OUTBOUND ", "oob.time.sec": 1709932260, "oob.time.usec": 665096, "oob.mark": 0, "oob.ifindex_in": 3, "oob.ifindex_out": 2, "oob.hook": 2, "raw.mac_len": 14, "oob.family": 2, "oob.protocol": 2048, "raw.label": 0, "raw.type": 1, "raw.mac.addrlen": 6, "ip.protocol": 1, "ip.tos": 0, "ip.ttl": 63, "ip.totlen": 84, "ip.ihl": 5, "ip.csum": 54040, "ip.id": 10033, "ip.fragoff": 16384, "icmp.type": 8, "icmp.code": 0, "icmp.echoid": 14443, "icmp.echoseq": 415, "icmp.csum": 23132, "oob.in": "eth1", "oob.out": "eth0", "src_ip": "192.168.1.98", "dest_ip": "8.8.8.8", "mac.saddr.str": "52:54:00:5c:d7:21", "mac.daddr.str": "00:0d:b9:4a:1c:3e", "mac.str": "00:0d:b9:4a:1c:3e:52:54:00:5c:d7:21:08:00"})";

// ulogd, IPv6 TCP.
const std::string kUlogdTcp6 =
    R"({"timestamp": "2024-03-08T17:15:54.846118+0100", "dvc": "Netfilter", "raw.pktlen": 80, "raw.pktcount": 1, "oob.prefix": "NEW-OUTBOUND ", "oob.time.sec": 1709914554, "oob.time.usec": 846118, "oob.mark": 0, "oob.ifindex_in": 3, "oob.ifindex_out": 2, "oob.hook": 2, "raw.mac_len": 14, "oob.family": 10, "oob.protocol": 34525, "raw.label": 0, "raw.type": 1, "raw.mac.addrlen": 6, "ip.protocol": 6, "ip6.payloadlen": 40, "ip6.priority": 0, "ip6.flowlabel": 716476, "ip6.hoplimit": 63, "ip6.nexthdr": 6, "src_port": 50697, "dest_port": 443, "tcp.seq": 3979929040, "tcp.ackseq": 0, "tcp.window": 64240, "tcp.offset": 0, "tcp.reserved": 0, "tcp.urg": 0, "tcp.ack": 0, "tcp.psh": 0, "tcp.rst": 0, "tcp.syn": 1, "tcp.fin": 0, "tcp.res1": 0, "tcp.res2": 0, "tcp.csum": 55247, "oob.in": "eth1", "oob.out": "eth0", "src_ip": "2a02:8108:1c40:3e00:dea6:32ff:fee8:e489", "dest_ip": "2620:1ec:35dc::9516", "mac.saddr.str": "dc:a6:32:e8:e4:89", "mac.daddr.str": "00:0d:b9:4a:1c:3e", "mac.str": "00:0d:b9:4a:1c:3e:dc:a6:32:e8:e4:89:86:dd"})";

// ulogd, ICMPv6 echo (no IP ID: ID is the echo id).
const std::string kUlogdPing6 =
    R"({"timestamp": "2024-03-08T22:53:06.729011+0100", "dvc": "Netfilter", "raw.pktlen": 104, "raw.pktcount": 1, "oob.prefix": "NEW-OUTBOUND ", "oob.time.sec": 1709934786, "oob.time.usec": 729011, "oob.mark": 0, "oob.ifindex_in": 3, "oob.ifindex_out": 2, "oob.hook": 2, "raw.mac_len": 14, "oob.family": 10, "oob.protocol": 34525, "raw.label": 0, "raw.type": 1, "raw.mac.addrlen": 6, "ip.protocol": 58, "ip6.payloadlen": 64, "ip6.priority": 0, "ip6.flowlabel": 838716, "ip6.hoplimit": 63, "ip6.nexthdr": 58, "icmpv6.type": 128, "icmpv6.code": 0, "icmpv6.echoid": 58254, "icmpv6.echoseq": 481, "icmpv6.csum": 10976, "oob.in": "eth1", "oob.out": "eth0", "src_ip": "2a02:8108:1c40:3e00:dea6:32ff:fee8:e489", "dest_ip": "2a04:4e42::9703:5a3", "mac.saddr.str": "dc:a6:32:e8:e4:89", "mac.daddr.str": "00:0d:b9:4a:1c:3e", "mac.str": "00:0d:b9:4a:1c:3e:dc:a6:32:e8:e4:89:86:dd"})";

// ulogd, inbound [UFW BLOCK]: empty oob.out, prefix with a space and brackets.
const std::string kUlogdUfw =
    R"({"timestamp": "2024-03-08T18:35:00.945680+0100", "dvc": "Netfilter", "raw.pktlen": 40, "raw.pktcount": 1, "oob.prefix": "[UFW BLOCK] ", "oob.time.sec": 1709919300, "oob.time.usec": 945680, "oob.mark": 0, "oob.ifindex_in": 2, "oob.hook": 1, "raw.mac_len": 14, "oob.family": 2, "oob.protocol": 2048, "raw.label": 0, "raw.type": 1, "raw.mac.addrlen": 6, "ip.protocol": 6, "ip.tos": 0, "ip.ttl": 40, "ip.totlen": 40, "ip.ihl": 5, "ip.csum": 63991, "ip.id": 33149, "ip.fragoff": 0, "src_port": 51483, "dest_port": 22, "tcp.seq": 2146154754, "tcp.ackseq": 0, "tcp.window": 14600, "tcp.offset": 0, "tcp.reserved": 0, "tcp.urg": 0, "tcp.ack": 0, "tcp.psh": 0, "tcp.rst": 0, "tcp.syn": 1, "tcp.fin": 0, "tcp.res1": 0, "tcp.res2": 0, "tcp.csum": 33362, "oob.in": "eth0", "oob.out": "", "src_ip": "22.156.210.135", "dest_ip": "203.0.113.45", "mac.saddr.str": "3c:37:86:11:a0:5f", "mac.daddr.str": "00:0d:b9:4a:1c:3d", "mac.str": "00:0d:b9:4a:1c:3d:3c:37:86:11:a0:5f:08:00"})";

// ulogd, a WireGuard peer: no MAC header, so no mac.* keys.
const std::string kUlogdWg =
    R"({"timestamp": "2024-03-08T18:23:42.528895+0100", "dvc": "Netfilter", "raw.pktlen": 52, "raw.pktcount": 1, "oob.prefix": "NEW-OUTBOUND ", "oob.time.sec": 1709918622, "oob.time.usec": 528895, "oob.mark": 0, "oob.ifindex_in": 5, "oob.ifindex_out": 2, "oob.hook": 2, "raw.mac_len": 0, "oob.family": 2, "oob.protocol": 2048, "raw.label": 0, "raw.type": 65534, "ip.protocol": 6, "ip.tos": 0, "ip.ttl": 127, "ip.totlen": 52, "ip.ihl": 5, "ip.csum": 2500, "ip.id": 55644, "ip.fragoff": 16384, "src_port": 52405, "dest_port": 80, "tcp.seq": 2572786037, "tcp.ackseq": 0, "tcp.window": 64240, "tcp.offset": 0, "tcp.reserved": 0, "tcp.urg": 0, "tcp.ack": 0, "tcp.psh": 0, "tcp.rst": 0, "tcp.syn": 1, "tcp.fin": 0, "tcp.res1": 0, "tcp.res2": 0, "tcp.csum": 37505, "oob.in": "wg0", "oob.out": "eth0", "src_ip": "10.8.0.5", "dest_ip": "166.123.61.165"})";

const std::vector<std::string>& AllSamples() {
  static const std::vector<std::string> kAll = {kJournaldTcp,  kUlogdTcp,  kUlogdUdp,
                                                kUlogdIcmpMtu, kUlogdPing, kUlogdTcp6,
                                                kUlogdPing6,   kUlogdUfw,  kUlogdWg};
  return kAll;
}

std::string S(std::string_view v) { return std::string(v); }

// Value of path `path` in `line` (a fresh JsonLine), or "<malformed>".
std::string Path(const std::string& line, const std::string& path) {
  JsonLine j({path});
  if (j.Parse(line) == Kind::kMalformed) return "<malformed>";
  return S(j.PathValue(0));
}

std::string Ulogd(JsonLine& j, const std::string& name) { return S(j.UlogdField(name)); }

// Where the optional inputs are: the shared samples and the generator.
std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : std::string(fallback);
}
#ifndef LOGTALLY_SAMPLES_DIR
#define LOGTALLY_SAMPLES_DIR "../shared/samples/real"
#endif
#ifndef LOGTALLY_GEN
#define LOGTALLY_GEN ""
#endif

// ---- journald -------------------------------------------------------------------------

TEST(JsonLineJournaldTest, GeneratorLine) {
  JsonLine j({});
  ASSERT_EQ(j.Parse(kJournaldTcp), Kind::kJournald);
  EXPECT_EQ(j.kind(), Kind::kJournald);
  EXPECT_EQ(S(j.message()),
            "NEW-OUTBOUND IN=eth1 OUT=eth0 MAC=00:0d:b9:4a:1c:3e:3c:a9:f4:3b:72:67:08:00 "
            "SRC=192.168.1.171 DST=195.10.245.186 LEN=52 TOS=0x00 PREC=0x00 TTL=127 ID=48608 DF "
            "PROTO=TCP SPT=59353 DPT=443 WINDOW=64240 RES=0x00 SYN URGP=0 ");
  EXPECT_TRUE(j.has_time());
  EXPECT_EQ(j.realtime_us(), 1709913715469812);
  EXPECT_EQ(S(j.hostname()), "gw01");
  EXPECT_EQ(S(j.UlogdField("DST")), "");  // not a ulogd line
  EXPECT_EQ(j.malformed_count(), 0u);
}

TEST(JsonLineJournaldTest, EscapedMessage) {
  JsonLine j({});
  ASSERT_EQ(j.Parse(R"({"MESSAGE":"a \"q\" \\ \t\u00e9\ud83d\ude00 IN=x","_TRANSPORT":"kernel"})"),
            Kind::kJournald);
  EXPECT_EQ(S(j.message()), "a \"q\" \\ \t\xc3\xa9\xf0\x9f\x98\x80 IN=x");
  EXPECT_FALSE(j.has_time());  // only _TRANSPORT
  EXPECT_EQ(j.realtime_us(), 0);
  EXPECT_EQ(S(j.hostname()), "");
}

TEST(JsonLineJournaldTest, ByteArrayMessage) {
  JsonLine j({});
  // journald writes a MESSAGE that is not UTF-8 as its bytes.
  ASSERT_EQ(j.Parse(R"({"__REALTIME_TIMESTAMP":"5","MESSAGE":[ 68,82, 79 ,80,32,255,0,10,128 ]})"),
            Kind::kJournald);
  EXPECT_EQ(S(j.message()), std::string("DROP \xff\0\n\x80", 9));
  EXPECT_EQ(j.realtime_us(), 5);
  ASSERT_EQ(j.Parse(R"({"__REALTIME_TIMESTAMP":"5","MESSAGE":[]})"), Kind::kJournald);
  EXPECT_EQ(S(j.message()), "");
  // Not a byte array after all: read as its JSON text.
  for (std::string bad :
       {"[256]", "[1,]", "[1 2]", "[-1]", "[1.5]", "[\"a\"]", "[[1]]", "[1,,2]"}) {
    std::string line = R"({"_TRANSPORT":"kernel","MESSAGE":)" + bad + "}";
    JsonLine::Kind k = j.Parse(line);
    if (k == Kind::kMalformed) continue;  // "[1,]", "[1,,2]", "[1 2]" may be caught by simdjson
    ASSERT_EQ(k, Kind::kJournald) << bad;
    EXPECT_EQ(S(j.message()), bad);
  }
  ASSERT_EQ(j.Parse(R"({"_TRANSPORT":"kernel","MESSAGE":null})"), Kind::kJournald);
  EXPECT_EQ(S(j.message()), "");
  ASSERT_EQ(j.Parse(R"({"_TRANSPORT":"kernel","MESSAGE":42})"), Kind::kJournald);
  EXPECT_EQ(S(j.message()), "42");
}

TEST(JsonLineJournaldTest, RealtimeForms) {
  JsonLine j({});
  ASSERT_EQ(j.Parse(R"({"MESSAGE":"m","__REALTIME_TIMESTAMP":1709913715469812})"), Kind::kJournald);
  EXPECT_TRUE(j.has_time());
  EXPECT_EQ(j.realtime_us(), 1709913715469812);
  for (std::string bad : {"\"\"", "\"12x\"", "\"99999999999999999999\"", "1.5", "null", "true"}) {
    ASSERT_EQ(j.Parse(R"({"MESSAGE":"m","__REALTIME_TIMESTAMP":)" + bad + "}"), Kind::kJournald)
        << bad;
    EXPECT_FALSE(j.has_time()) << bad;
    EXPECT_EQ(j.realtime_us(), 0) << bad;
  }
  // The state of one line never leaks into the next.
  ASSERT_EQ(j.Parse(kJournaldTcp), Kind::kJournald);
  ASSERT_EQ(j.Parse(R"({"MESSAGE":"m","_TRANSPORT":"k"})"), Kind::kJournald);
  EXPECT_FALSE(j.has_time());
  EXPECT_EQ(S(j.hostname()), "");
}

// The Elastic integration's test event (a filebeat document, pretty-printed,
// whose `message` came from journald), read where it lies: its message as a
// journald MESSAGE, and the event itself through generic paths.
TEST(JsonLineJournaldTest, ElasticSample) {
  std::string file = EnvOr("LOGTALLY_SAMPLES", LOGTALLY_SAMPLES_DIR) +
                     "/elastic-integrations-iptables-test-journald.json";
  std::ifstream in(file);
  if (!in) GTEST_SKIP() << "no " << file;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  // JSON whitespace between tokens: one line once newlines are spaces.
  for (char& c : doc) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  JsonLine j({".events.0.message", ".events.0.input.type", ".events.0.log.syslog.priority",
              ".events.0.host.ip", ".events.0.host.ip.0", ".events.1.message", ".events"});
  ASSERT_EQ(j.Parse(doc), Kind::kOther);
  std::string message = S(j.PathValue(0));
  EXPECT_EQ(message.rfind("iptables DROP_INPUT: IN=eth0 OUT= MAC=", 0), 0u) << message;
  EXPECT_NE(message.find(" SRC=10.10.10.18 DST=10.10.10.34 "), std::string::npos);
  EXPECT_EQ(S(j.PathValue(1)), "journald");
  EXPECT_EQ(S(j.PathValue(2)), "7");
  std::string ips = S(j.PathValue(3));  // raw JSON as written, inner spaces and all
  std::erase(ips, ' ');
  EXPECT_EQ(ips, R"(["10.10.10.34"])");
  EXPECT_EQ(S(j.PathValue(4)), "10.10.10.34");
  EXPECT_EQ(S(j.PathValue(5)), "");
  EXPECT_EQ(S(j.PathValue(6)).front(), '[');
  EXPECT_EQ(S(j.PathValue(6)).back(), ']');

  // The same text as a journald export would carry it, escaped back to JSON.
  std::string escaped;
  for (char c : message) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c;
  }
  std::string line = R"({"__REALTIME_TIMESTAMP":"1641991438224000","_TRANSPORT":"kernel",)"
                     R"("_HOSTNAME":"f780e7ca37a7","MESSAGE":")" +
                     escaped + R"("})";
  ASSERT_EQ(j.Parse(line), Kind::kJournald);
  EXPECT_EQ(S(j.message()), message);
  EXPECT_EQ(S(j.hostname()), "f780e7ca37a7");
  EXPECT_EQ(j.realtime_us(), 1641991438224000);
}

// ---- classification ---------------------------------------------------------------------

TEST(JsonLineKindTest, Shapes) {
  JsonLine j({});
  EXPECT_EQ(j.Parse(R"({"MESSAGE":"x","__REALTIME_TIMESTAMP":"1"})"), Kind::kJournald);
  EXPECT_EQ(j.Parse(R"({"MESSAGE":"x","_TRANSPORT":"kernel"})"), Kind::kJournald);
  EXPECT_EQ(j.Parse(R"({"MESSAGE":"x"})"), Kind::kOther);  // journald needs a time or transport
  EXPECT_EQ(j.Parse(R"({"__REALTIME_TIMESTAMP":"1","_TRANSPORT":"k"})"), Kind::kOther);
  EXPECT_EQ(j.Parse(R"({"src_ip":"1.2.3.4"})"), Kind::kUlogd);
  EXPECT_EQ(j.Parse(R"({"oob.prefix":""})"), Kind::kUlogd);
  EXPECT_EQ(j.Parse(R"({"dvc":"Netfilter"})"), Kind::kUlogd);
  EXPECT_EQ(j.Parse(R"({"dvc":null})"), Kind::kUlogd);  // the key is there
  // Both shapes: journald wins.
  EXPECT_EQ(j.Parse(R"({"dvc":"x","MESSAGE":"m","_TRANSPORT":"k"})"), Kind::kJournald);
  // Keys count only at the top level.
  EXPECT_EQ(j.Parse(R"({"x":{"src_ip":"1.2.3.4","MESSAGE":"m","_TRANSPORT":"k"}})"), Kind::kOther);
  EXPECT_EQ(j.Parse(R"({"status":200,"http":{"hostname":"a"}})"), Kind::kOther);
  EXPECT_EQ(j.Parse("{}"), Kind::kOther);
  EXPECT_EQ(j.Parse(" \t{ } \t"), Kind::kOther);    // JSON whitespace around the object
  EXPECT_EQ(j.Parse("{\"a\":1}\r"), Kind::kOther);  // a CR the reader did not strip is whitespace
  EXPECT_EQ(j.malformed_count(), 0u);
}

TEST(JsonLineKindTest, NotAnObjectIsMalformed) {
  // A log record is an object; a bare array, string, number or literal is
  // not one, so it is not a JSON log line: kMalformed, counted.
  JsonLine j({".a"});
  for (std::string line : {"[]", "[{\"src_ip\":\"1.2.3.4\"}]", "\"text\"", "42", "true", "null"}) {
    EXPECT_EQ(j.Parse(line), Kind::kMalformed) << line;
  }
  EXPECT_EQ(j.malformed_count(), 6u);
}

// ---- ulogd ----------------------------------------------------------------------------------

TEST(JsonLineUlogdTest, TcpEveryField) {
  JsonLine j({});
  ASSERT_EQ(j.Parse(kUlogdTcp), Kind::kUlogd);
  const std::map<std::string, std::string> want = {
      {"SRC", "192.168.1.171"},
      {"DST", "195.10.245.186"},
      {"SPT", "59353"},
      {"DPT", "443"},
      {"PROTO", "TCP"},
      {"PREFIX", "NEW-OUTBOUND"},
      {"IN", "eth1"},
      {"OUT", "eth0"},
      {"MAC", "00:0d:b9:4a:1c:3e:3c:a9:f4:3b:72:67:08:00"},
      {"LEN", "52"},
      {"TTL", "127"},
      {"ID", "48608"},
      {"TOS", "0x00"},
      {"PREC", "0x00"},
      {"WINDOW", "64240"},
      {"TIME", "2024-03-08T17:01:55.469812+0100"},
      {"MARK", ""},  // 0: the kernel prints no MARK=
      {"URGP", ""},  // ulogd2 sets tcp.urgp only with URG
      {"TYPE", ""},
      {"CODE", ""},
      {"SEQ", ""},
      {"MTU", ""},
      {"TC", ""},
      {"HOPLIMIT", ""},
      {"FLOWLBL", ""},
      {"UID", ""},
      {"GID", ""},
      {"HOST", ""},  // ulogd has no host name
      {"NOSUCH", ""},
      {"dest_ip", ""},  // names are netfilter keys, not JSON keys
  };
  for (const auto& [name, value] : want) EXPECT_EQ(Ulogd(j, name), value) << name;
  int64_t us = 0;
  ASSERT_TRUE(j.UlogdTime(&us));
  EXPECT_EQ(us, 1709913715469812);  // the journald export's __REALTIME_TIMESTAMP of this packet
  // Asking again is answered from the cache, and equal.
  EXPECT_EQ(Ulogd(j, "DST"), "195.10.245.186");
}

TEST(JsonLineUlogdTest, OtherShapes) {
  JsonLine j({});
  ASSERT_EQ(j.Parse(kUlogdUdp), Kind::kUlogd);
  EXPECT_EQ(Ulogd(j, "PROTO"), "UDP");
  EXPECT_EQ(Ulogd(j, "LEN"), "605");  // the IP length, not udp.len
  EXPECT_EQ(Ulogd(j, "DPT"), "22094");

  ASSERT_EQ(j.Parse(kUlogdIcmpMtu), Kind::kUlogd);
  EXPECT_EQ(Ulogd(j, "PROTO"), "ICMP");
  EXPECT_EQ(Ulogd(j, "TYPE"), "3");
  EXPECT_EQ(Ulogd(j, "CODE"), "4");
  EXPECT_EQ(Ulogd(j, "MTU"), "1480");
  EXPECT_EQ(Ulogd(j, "TOS"), "0x00");
  EXPECT_EQ(Ulogd(j, "PREC"), "0xC0");
  EXPECT_EQ(Ulogd(j, "SPT"), "");
  EXPECT_EQ(Ulogd(j, "DPT"), "");

  ASSERT_EQ(j.Parse(kUlogdPing), Kind::kUlogd);
  EXPECT_EQ(Ulogd(j, "ID"), "10033");  // the IP ID comes first in the text form
  EXPECT_EQ(Ulogd(j, "SEQ"), "415");
  EXPECT_EQ(Ulogd(j, "TYPE"), "8");
  EXPECT_EQ(Ulogd(j, "MTU"), "");

  ASSERT_EQ(j.Parse(kUlogdTcp6), Kind::kUlogd);
  EXPECT_EQ(Ulogd(j, "SRC"), "2a02:8108:1c40:3e00:dea6:32ff:fee8:e489");
  EXPECT_EQ(Ulogd(j, "DST"), "2620:1ec:35dc::9516");
  EXPECT_EQ(Ulogd(j, "PROTO"), "TCP");
  EXPECT_EQ(Ulogd(j, "LEN"), "80");  // payload + 40, as nf_log_ipv6 prints it
  EXPECT_EQ(Ulogd(j, "TC"), "0");
  EXPECT_EQ(Ulogd(j, "HOPLIMIT"), "63");
  EXPECT_EQ(Ulogd(j, "FLOWLBL"), "716476");
  EXPECT_EQ(Ulogd(j, "TTL"), "");
  EXPECT_EQ(Ulogd(j, "ID"), "");
  EXPECT_EQ(Ulogd(j, "TOS"), "");
  EXPECT_EQ(Ulogd(j, "MAC"), "00:0d:b9:4a:1c:3e:dc:a6:32:e8:e4:89:86:dd");

  ASSERT_EQ(j.Parse(kUlogdPing6), Kind::kUlogd);
  EXPECT_EQ(Ulogd(j, "PROTO"), "ICMPv6");
  EXPECT_EQ(Ulogd(j, "TYPE"), "128");
  EXPECT_EQ(Ulogd(j, "CODE"), "0");
  EXPECT_EQ(Ulogd(j, "ID"), "58254");  // no IP ID in IPv6: the echo id
  EXPECT_EQ(Ulogd(j, "SEQ"), "481");

  ASSERT_EQ(j.Parse(kUlogdUfw), Kind::kUlogd);
  EXPECT_EQ(Ulogd(j, "PREFIX"), "[UFW BLOCK]");
  EXPECT_EQ(Ulogd(j, "OUT"), "");
  EXPECT_EQ(Ulogd(j, "IN"), "eth0");
  EXPECT_EQ(Ulogd(j, "DPT"), "22");

  ASSERT_EQ(j.Parse(kUlogdWg), Kind::kUlogd);
  EXPECT_EQ(Ulogd(j, "MAC"), "");
  EXPECT_EQ(Ulogd(j, "IN"), "wg0");
}

TEST(JsonLineUlogdTest, ProtocolNames) {
  JsonLine j({});
  const std::map<std::string, std::string> want = {
      {"6", "TCP"},   {"17", "UDP"},  {"1", "ICMP"},      {"58", "ICMPv6"}, {"136", "UDPLITE"},
      {"50", "ESP"},  {"51", "AH"},   {"2", "2"},         {"132", "132"},   {"0", "0"},
      {"255", "255"}, {"256", "256"}, {"\"tcp\"", "tcp"}, {"6.0", "6.0"},   {"null", ""},
  };
  for (const auto& [json, name] : want) {
    ASSERT_EQ(j.Parse(R"({"dvc":"Netfilter","ip.protocol":)" + json + "}"), Kind::kUlogd) << json;
    EXPECT_EQ(Ulogd(j, "PROTO"), name) << json;
  }
  // Without ip.protocol, the IPv6 next header.
  ASSERT_EQ(j.Parse(R"({"dvc":"Netfilter","ip6.nexthdr":17})"), Kind::kUlogd);
  EXPECT_EQ(Ulogd(j, "PROTO"), "UDP");
}

TEST(JsonLineUlogdTest, KernelForms) {
  JsonLine j({});
  auto with = [&](const std::string& body) {
    EXPECT_EQ(j.Parse(R"({"dvc":"Netfilter",)" + body + "}"), Kind::kUlogd) << body;
  };
  with(R"("ip.tos": 184)");  // 0xB8: TOS bits 0x18, precedence 0xA0
  EXPECT_EQ(Ulogd(j, "TOS"), "0x18");
  EXPECT_EQ(Ulogd(j, "PREC"), "0xA0");
  with(R"("ip.tos": 255)");
  EXPECT_EQ(Ulogd(j, "TOS"), "0x1E");
  EXPECT_EQ(Ulogd(j, "PREC"), "0xE0");
  with(R"("ip.tos": 300)");  // not a byte: as written
  EXPECT_EQ(Ulogd(j, "TOS"), "300");
  with(R"("oob.mark": 212)");
  EXPECT_EQ(Ulogd(j, "MARK"), "0xd4");
  with(R"("oob.mark": 4294967295)");
  EXPECT_EQ(Ulogd(j, "MARK"), "0xffffffff");
  with(R"("oob.mark": 0)");
  EXPECT_EQ(Ulogd(j, "MARK"), "");
  with(R"("oob.prefix": "  DROP IN  ")");
  EXPECT_EQ(Ulogd(j, "PREFIX"), "DROP IN");
  with(R"("oob.prefix": "   ")");
  EXPECT_EQ(Ulogd(j, "PREFIX"), "");
  with(R"("oob.prefix": "\tx\u0020")");  // only spaces are trimmed, as in text
  EXPECT_EQ(Ulogd(j, "PREFIX"), "\tx");
  with(R"("oob.uid": 1000, "oob.gid": 100, "tcp.urgp": 7, "tcp.window": 0)");
  EXPECT_EQ(Ulogd(j, "UID"), "1000");
  EXPECT_EQ(Ulogd(j, "GID"), "100");
  EXPECT_EQ(Ulogd(j, "URGP"), "7");
  EXPECT_EQ(Ulogd(j, "WINDOW"), "0");
  with(R"("dest_port": 1e3, "src_port": "53")");  // numbers as written; strings decoded
  EXPECT_EQ(Ulogd(j, "DPT"), "1e3");
  EXPECT_EQ(Ulogd(j, "SPT"), "53");
}

TEST(JsonLineUlogdTest, OlderKeyNames) {
  // ulogd2 before the CIM names, and a present null that stops the fallback.
  JsonLine j({});
  ASSERT_EQ(j.Parse(R"({"oob.prefix":"x","ip.saddr.str":"1.1.1.1","ip.daddr.str":"2.2.2.2",)"
                    R"("udp.sport":5,"udp.dport":53,"raw.pktlen":99})"),
            Kind::kUlogd);
  EXPECT_EQ(Ulogd(j, "SRC"), "1.1.1.1");
  EXPECT_EQ(Ulogd(j, "DST"), "2.2.2.2");
  EXPECT_EQ(Ulogd(j, "SPT"), "5");
  EXPECT_EQ(Ulogd(j, "DPT"), "53");
  EXPECT_EQ(Ulogd(j, "LEN"), "99");
  ASSERT_EQ(j.Parse(R"({"src_ip":null,"ip.saddr.str":"1.1.1.1","tcp.dport":80,"dest_port":443})"),
            Kind::kUlogd);
  EXPECT_EQ(Ulogd(j, "SRC"), "");     // src_ip is there (null): no fallback
  EXPECT_EQ(Ulogd(j, "DPT"), "443");  // the preferred key wins wherever it is
}

TEST(JsonLineUlogdTest, NewNameMidLineKeepsEarlierViews) {
  JsonLine j({".oob.in"});
  ASSERT_EQ(j.Parse(kUlogdTcp), Kind::kUlogd);
  std::string_view dst = j.UlogdField("DST");  // registers, walks this line again
  std::string_view path = j.PathValue(0);
  std::string_view tos = j.UlogdField("TOS");  // again, with an arena value
  std::string_view spt = j.UlogdField("SPT");
  EXPECT_EQ(S(dst), "195.10.245.186");
  EXPECT_EQ(S(path), "eth1");
  EXPECT_EQ(S(tos), "0x00");
  EXPECT_EQ(S(spt), "59353");
  EXPECT_EQ(S(j.PathValue(0)), "eth1");
  // Later lines find the registered keys in their one walk.
  ASSERT_EQ(j.Parse(kUlogdUfw), Kind::kUlogd);
  EXPECT_EQ(Ulogd(j, "DST"), "203.0.113.45");
  EXPECT_EQ(Ulogd(j, "SPT"), "51483");
  // A name first asked on a non-ulogd line is registered later.
  JsonLine k({});
  ASSERT_EQ(k.Parse(kJournaldTcp), Kind::kJournald);
  EXPECT_EQ(Ulogd(k, "DPT"), "");
  ASSERT_EQ(k.Parse(kUlogdUdp), Kind::kUlogd);
  EXPECT_EQ(Ulogd(k, "DPT"), "22094");
}

TEST(JsonLineUlogdTest, FieldIds) {
  JsonLine j({});
  size_t dst = j.UlogdFieldId("DST");  // before any line: no walk
  size_t dpt = j.UlogdFieldId("DPT");
  EXPECT_EQ(j.UlogdFieldId("DST"), dst);
  EXPECT_NE(dst, dpt);
  EXPECT_EQ(S(j.UlogdFieldAt(dst)), "");
  ASSERT_EQ(j.Parse(kUlogdTcp), Kind::kUlogd);
  EXPECT_EQ(S(j.UlogdFieldAt(dst)), "195.10.245.186");
  EXPECT_EQ(S(j.UlogdFieldAt(dpt)), "443");
  EXPECT_EQ(S(j.UlogdFieldAt(999)), "");
  EXPECT_EQ(S(j.UlogdField("DPT")), "443");  // the same registration
  size_t proto = j.UlogdFieldId("PROTO");    // mid-line: this line is walked again
  EXPECT_EQ(S(j.UlogdFieldAt(proto)), "TCP");
  ASSERT_EQ(j.Parse(kJournaldTcp), Kind::kJournald);
  EXPECT_EQ(S(j.UlogdFieldAt(dst)), "");
  ASSERT_EQ(j.Parse("{"), Kind::kMalformed);
  size_t mac = j.UlogdFieldId("MAC");  // after a bad line: nothing to walk
  EXPECT_EQ(S(j.UlogdFieldAt(mac)), "");
  ASSERT_EQ(j.Parse(kUlogdUdp), Kind::kUlogd);
  EXPECT_EQ(S(j.UlogdFieldAt(mac)), "00:0d:b9:4a:1c:3e:dc:a6:32:e8:e4:89:08:00");
}

TEST(JsonLineUlogdTest, Time) {
  int64_t us = 0;
  int32_t off = 0;
  ASSERT_TRUE(ParseUlogdTime("2024-03-08T17:00:00.577348+0100", &us, &off));
  EXPECT_EQ(us, 1709913600577348);  // 16:00:00.577348Z
  EXPECT_EQ(off, 3600);
  ASSERT_TRUE(ParseUlogdTime("2024-03-08T16:00:00Z", &us, &off));
  EXPECT_EQ(us, 1709913600000000);
  EXPECT_EQ(off, 0);
  ASSERT_TRUE(ParseUlogdTime("2024-03-08T12:30:00-03:30", &us, nullptr));
  EXPECT_EQ(us, 1709913600000000);
  ASSERT_TRUE(ParseUlogdTime("2024-03-08T16:00:00", &us, &off));  // no offset: as UTC
  EXPECT_EQ(us, 1709913600000000);
  ASSERT_TRUE(ParseUlogdTime("2024-03-08T16:00:00.1234567891Z", &us, nullptr));
  EXPECT_EQ(us, 1709913600123456);  // truncated to microseconds
  ASSERT_TRUE(ParseUlogdTime("2016-12-31T23:59:60Z", &us, nullptr));
  EXPECT_EQ(us, 1483228799000000);  // a leap second stays in its minute
  ASSERT_TRUE(ParseUlogdTime("1969-12-31T23:59:59Z", &us, nullptr));
  EXPECT_EQ(us, -1000000);
  ASSERT_TRUE(ParseUlogdTime("2024-02-29T00:00:00Z", &us, nullptr));
  for (std::string bad :
       {"", "2024-03-08", "2024-03-08 16:00:00Z", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
        "2024-03-08T24:00:00Z", "2024-03-08T16:00:00.Z", "2024-03-08T16:00:00+1",
        "2024-03-08T16:00:00+01:0", "2024-03-08T16:00:00ZZ", "2024-03-08T16:00:00+2400",
        "x024-03-08T16:00:00Z"}) {
    EXPECT_FALSE(ParseUlogdTime(bad, &us, nullptr)) << bad;
  }
  JsonLine j({});
  ASSERT_EQ(j.Parse(R"({"dvc":"x"})"), Kind::kUlogd);
  EXPECT_FALSE(j.UlogdTime(&us));
  ASSERT_EQ(j.Parse(R"({"dvc":"x","@timestamp":"2024-03-08T16:00:00Z"})"), Kind::kUlogd);
  ASSERT_TRUE(j.UlogdTime(&us));
  EXPECT_EQ(us, 1709913600000000);
}

// ---- generic paths ----------------------------------------------------------------------

TEST(JsonLinePathTest, Values) {
  const std::string line =
      R"({"status":200,"neg":-1.5e3,"t":true,"f":false,"n":null,"s":"a\nb","e":"",)"
      R"("http":{"hostname":"example.org","port":8080,"deep":{"x":[1,{"y":"z"}]}},)"
      R"("arr":[ 1, "two" , null ],"obj":{ "k" : [ ] } , "last": "end" })";
  EXPECT_EQ(Path(line, ".status"), "200");
  EXPECT_EQ(Path(line, "status"), "200");  // the leading '.' is optional
  EXPECT_EQ(Path(line, ".neg"), "-1.5e3");
  EXPECT_EQ(Path(line, ".t"), "true");
  EXPECT_EQ(Path(line, ".f"), "false");
  EXPECT_EQ(Path(line, ".n"), "");
  EXPECT_EQ(Path(line, ".s"), "a\nb");
  EXPECT_EQ(Path(line, ".e"), "");
  EXPECT_EQ(Path(line, ".missing"), "");
  EXPECT_EQ(Path(line, ".http.hostname"), "example.org");
  EXPECT_EQ(Path(line, ".http.port"), "8080");
  EXPECT_EQ(Path(line, ".http.nope"), "");
  EXPECT_EQ(Path(line, ".http.deep.x.1.y"), "z");
  EXPECT_EQ(Path(line, ".http.deep.x.0"), "1");
  EXPECT_EQ(Path(line, ".http.deep.x.2"), "");
  EXPECT_EQ(Path(line, ".http.deep"), R"({"x":[1,{"y":"z"}]})");
  EXPECT_EQ(Path(line, ".arr"), R"([ 1, "two" , null ])");
  EXPECT_EQ(Path(line, ".arr.1"), "two");
  EXPECT_EQ(Path(line, ".arr.2"), "");
  EXPECT_EQ(Path(line, ".obj"), R"({ "k" : [ ] })");
  EXPECT_EQ(Path(line, ".obj.k"), "[ ]");
  EXPECT_EQ(Path(line, ".status.x"), "");  // through a scalar
  EXPECT_EQ(Path(line, ".s.0"), "");       // a string is not an array
  EXPECT_EQ(Path(line, ".last"), "end");
  EXPECT_EQ(Path(line, "."), line);
  EXPECT_EQ(Path("  " + line + " ", "."), line);
}

TEST(JsonLinePathTest, SeveralPathsShareOneWalk) {
  JsonLine j({".http.hostname", ".http", ".http.port", ".status", ".http.hostname", ".src_ip"});
  ASSERT_EQ(j.Parse(R"({"status":"ok","http":{"port":1,"hostname":"h"},"src_ip":"9.9.9.9"})"),
            Kind::kUlogd);
  EXPECT_EQ(j.path_count(), 6u);
  EXPECT_EQ(S(j.PathValue(0)), "h");
  EXPECT_EQ(S(j.PathValue(1)), R"({"port":1,"hostname":"h"})");
  EXPECT_EQ(S(j.PathValue(2)), "1");
  EXPECT_EQ(S(j.PathValue(3)), "ok");
  EXPECT_EQ(S(j.PathValue(4)), "h");
  EXPECT_EQ(S(j.PathValue(5)), "9.9.9.9");  // a path and the classification share a key
  EXPECT_EQ(Ulogd(j, "SRC"), "9.9.9.9");
  EXPECT_EQ(S(j.PathValue(6)), "");  // out of range
}

TEST(JsonLinePathTest, DottedKeys) {
  // The literal key first, then the split.
  EXPECT_EQ(Path(kUlogdTcp, ".oob.prefix"), "NEW-OUTBOUND ");
  EXPECT_EQ(Path(kUlogdTcp, ".raw.mac.addrlen"), "6");
  EXPECT_EQ(Path(R"({"oob":{"prefix":"nested"}})", ".oob.prefix"), "nested");
  EXPECT_EQ(Path(R"({"oob":{"prefix":"nested"},"oob.prefix":"literal"})", ".oob.prefix"),
            "literal");
  EXPECT_EQ(Path(R"({"oob.prefix":"literal","oob":{"prefix":"nested"}})", ".oob.prefix"),
            "literal");
  EXPECT_EQ(Path(R"({"oob.prefix":null,"oob":{"prefix":"nested"}})", ".oob.prefix"), "");
  EXPECT_EQ(Path(R"({"a":{"b.c":1}})", ".a.b.c"), "1");
  EXPECT_EQ(Path(R"({"a":{"b":{"c":2}}})", ".a.b.c"), "2");
  EXPECT_EQ(Path(R"({"a":{"b":{"c":2},"b.c":1}})", ".a.b.c"), "1");
  EXPECT_EQ(Path(R"({"a.b":{"c":3}})", ".a.b.c"), "");  // a prefix of 2+ segments is never a key
  EXPECT_EQ(Path(R"({"a.b.c":4,"a":{"b":{"c":2}}})", ".a.b.c"), "4");
  EXPECT_EQ(Path(R"({"":{"":"empty keys"}})", ".."), "empty keys");
}

TEST(JsonLinePathTest, DuplicateKeysFirstWins) {
  EXPECT_EQ(Path(R"({"a":1,"a":2})", ".a"), "1");
  EXPECT_EQ(Path(R"({"a":{"b":1},"a":{"b":2}})", ".a.b"), "1");
  EXPECT_EQ(Path(R"({"a":5,"a":{"b":1}})", ".a.b"), "");  // .a is 5
  EXPECT_EQ(Path(R"({"src_ip":"1.1.1.1","src_ip":"2.2.2.2"})", ".src_ip"), "1.1.1.1");
  JsonLine j({});
  ASSERT_EQ(j.Parse(R"({"dvc":"x","dest_port":1,"dest_port":2})"), Kind::kUlogd);
  EXPECT_EQ(Ulogd(j, "DPT"), "1");
}

TEST(JsonLinePathTest, Strings) {
  EXPECT_EQ(Path(R"({"a":"\"\\\/\b\f\n\r\t"})", ".a"), "\"\\/\b\f\n\r\t");
  EXPECT_EQ(Path(R"({"a":"\u0041\u00e9\u20ac\ud83d\ude00"})", ".a"),
            "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_EQ(Path(R"({"a":"x\u0000y"})", ".a"), std::string("x\0y", 3));
  // Lenient: a lone surrogate as WTF-8, an unknown or broken escape as written.
  EXPECT_EQ(Path(R"({"a":"\ud800"})", ".a"), "\xed\xa0\x80");
  EXPECT_EQ(Path(R"({"a":"\udc00\ud800x"})", ".a"), "\xed\xb0\x80\xed\xa0\x80x");
  EXPECT_EQ(Path(R"({"a":"\q"})", ".a"), "\\q");
  EXPECT_EQ(Path(R"({"a":"\u12"})", ".a"), "\\u12");
  EXPECT_EQ(Path(R"({"a":"\uZZZZ!"})", ".a"), "\\uZZZZ!");
  EXPECT_EQ(Path("{\"a\":\"\xc3\xa9\xf0\x9f\x98\x80\"}", ".a"), "\xc3\xa9\xf0\x9f\x98\x80");
  // Escaped keys are compared unescaped.
  EXPECT_EQ(Path(R"({"s\u0072c_ip":"1.2.3.4"})", ".src_ip"), "1.2.3.4");
  EXPECT_EQ(Path(R"({"a\"b":1})", R"(.a"b)"), "1");
  EXPECT_EQ(Path(R"({"a\\":{"b":2}})", R"(.a\.b)"), "2");
  JsonLine j({});
  EXPECT_EQ(j.Parse(R"({"\u0064vc":"x"})"), Kind::kUlogd);
}

TEST(JsonLinePathTest, ValuesStayValidUntilNextParse) {
  JsonLine j({".a", ".b", ".c"});
  ASSERT_EQ(j.Parse(R"({"a":"x\ty","b":"plain","c":[1,2]})"), Kind::kOther);
  std::string_view a = j.PathValue(0), b = j.PathValue(1), c = j.PathValue(2);
  for (int i = 0; i < 100; ++i) {
    (void)j.PathValue(static_cast<size_t>(i % 3));
    (void)j.UlogdField("DST");
  }
  EXPECT_EQ(S(a), "x\ty");
  EXPECT_EQ(S(b), "plain");
  EXPECT_EQ(S(c), "[1,2]");
  // The input buffer may go away right after Parse.
  {
    std::string temp = R"({"a":"gone\n"})";
    ASSERT_EQ(j.Parse(temp), Kind::kOther);
    temp.assign(temp.size(), 'X');
  }
  EXPECT_EQ(S(j.PathValue(0)), "gone\n");
}

// ---- bad input ----------------------------------------------------------------------------

TEST(JsonLineMalformedTest, Listed) {
  JsonLine j({".a", ".a.b"});
  const std::vector<std::string> bad = {
      "",
      " ",
      " \t ",
      "\n",
      "{",
      "}",
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\":1,}",
      "{,\"a\":1}",
      "{\"a\":1 \"b\":2}",
      "{\"a\" 1}",
      "{a:1}",
      "{'a':1}",
      "{\"a\":1}}",
      "{\"a\":1}{\"b\":2}",
      "{\"a\":1} x",
      "{\"a\":1},",
      "{\"a\":\"unclosed}",
      "{\"a\":\"tab\tinside\"}",  // control characters must be escaped
      "{\"a\":\"\x01\"}",
      "{\"a\":\"\xff\"}",                  // invalid UTF-8
      "{\"a\":\"\xc3\"}",                  // truncated UTF-8
      std::string("{\"a\":\"x\0y\"}", 9),  // raw NUL
      std::string("\0\0\0", 3),
      std::string("{\"a\":1}\0", 8),  // a NUL after the object is not whitespace
      "{\"a\":[1,2}",
      "{\"a\":{\"b\":1}",
      "NEW-OUTBOUND IN=eth1 OUT=eth0 SRC=1.2.3.4",  // a text record
      "\xef\xbb\xbf{\"a\":1}",                      // a byte order mark is not JSON
  };
  size_t n = 0;
  for (const std::string& line : bad) {
    EXPECT_EQ(j.Parse(line), Kind::kMalformed) << line;
    ++n;
    EXPECT_EQ(j.malformed_count(), n);
    EXPECT_EQ(S(j.PathValue(0)), "");
    EXPECT_EQ(S(j.PathValue(1)), "");
    EXPECT_EQ(S(j.UlogdField("DST")), "");
    EXPECT_EQ(S(j.message()), "");
  }
}

TEST(JsonLineMalformedTest, EveryPrefixOfAValidLine) {
  std::vector<std::string> lines = AllSamples();
  lines.push_back(R"({"a":{"b":[1,{"c":"d\"e"}],"f":-1.5e-3},"g":true,"h":null})");
  JsonLine j({".a.b.1.c", ".oob.prefix", ".MESSAGE"});
  size_t expected = 0;
  for (const std::string& line : lines) {
    ASSERT_NE(j.Parse(line), Kind::kMalformed) << line;
    for (size_t k = 0; k < line.size(); ++k) {
      std::string_view prefix(line.data(), k);
      ASSERT_EQ(j.Parse(prefix), Kind::kMalformed) << prefix;
      ++expected;
      EXPECT_EQ(S(j.PathValue(0)), "");
      EXPECT_EQ(S(j.UlogdField("DPT")), "");
      EXPECT_EQ(S(j.message()), "");
    }
  }
  EXPECT_EQ(j.malformed_count(), expected);
  // And a good line right after a bad one reads normally.
  ASSERT_EQ(j.Parse(kUlogdTcp), Kind::kUlogd);
  EXPECT_EQ(Ulogd(j, "DPT"), "443");
  EXPECT_EQ(S(j.PathValue(1)), "NEW-OUTBOUND ");
}

TEST(JsonLineMalformedTest, DeepNesting) {
  constexpr size_t kDepth = 100000;
  JsonLine j({".a", ".a.0", ".b"});
  // A root array, unclosed, 100k deep: not an object.
  EXPECT_EQ(j.Parse(std::string(kDepth, '[')), Kind::kMalformed);
  EXPECT_EQ(j.Parse(std::string(kDepth, '[') + std::string(kDepth, ']')), Kind::kMalformed);
  EXPECT_EQ(j.Parse(std::string(kDepth, '{')), Kind::kMalformed);
  // Inside an object and unclosed: the object never closes.
  EXPECT_EQ(j.Parse("{\"a\":" + std::string(kDepth, '[')), Kind::kMalformed);
  EXPECT_EQ(j.Parse("{\"a\":" + std::string(kDepth, '[') + "}"), Kind::kMalformed);
  // Balanced and deep: skipped without recursion (nothing descends more
  // levels than the longest path has segments), so it is an ordinary object
  // and no depth limit is needed to keep the stack safe.
  std::string deep = std::string(kDepth, '[') + std::string(kDepth, ']');
  ASSERT_EQ(j.Parse("{\"a\":" + deep + ",\"b\":1}"), Kind::kOther);
  EXPECT_EQ(S(j.PathValue(0)), deep);
  EXPECT_EQ(S(j.PathValue(1)), std::string(kDepth - 1, '[') + std::string(kDepth - 1, ']'));
  EXPECT_EQ(S(j.PathValue(2)), "1");
  std::string deep_objects;
  for (size_t i = 0; i < kDepth; ++i) deep_objects += "{\"a\":";
  deep_objects += "1" + std::string(kDepth, '}');
  ASSERT_EQ(j.Parse(deep_objects), Kind::kOther);
  EXPECT_EQ(S(j.PathValue(1)), "");
  EXPECT_EQ(j.Parse(deep_objects.substr(0, deep_objects.size() - 1)), Kind::kMalformed);
}

TEST(JsonLineMalformedTest, HugeLines) {
  // Over the limit: malformed, without being copied or parsed.
  JsonLine small({".a"}, 1000);
  std::string line = R"({"a":")" + std::string(1000, 'x') + R"("})";
  EXPECT_EQ(small.Parse(line), Kind::kMalformed);
  EXPECT_EQ(small.malformed_count(), 1u);
  EXPECT_EQ(small.Parse(R"({"a":"fits"})"), Kind::kOther);
  EXPECT_EQ(S(small.PathValue(0)), "fits");

  // The default limit, just over and just under.
  JsonLine j({".a", ".MESSAGE"});
  std::string over(JsonLine::kDefaultMaxLineBytes + 1, ' ');
  over.front() = '{';
  over.back() = '}';
  EXPECT_EQ(j.Parse(over), Kind::kMalformed);
  // A 4 MiB MESSAGE (larger than the memory kept between lines), escaped.
  std::string text;
  for (int i = 0; i < (4 << 20) / 8; ++i) text += "IN=e\\t0 ";
  std::string big = R"({"_TRANSPORT":"kernel","MESSAGE":")" + text + R"(","a":7})";
  ASSERT_EQ(j.Parse(big), Kind::kJournald);
  EXPECT_EQ(j.message().size(), (4u << 20) / 8 * 7);
  EXPECT_EQ(S(j.message().substr(0, 14)), "IN=e\t0 IN=e\t0 ");
  EXPECT_EQ(S(j.PathValue(0)), "7");
  // Then ordinary lines again (the big buffers are given back here).
  ASSERT_EQ(j.Parse(kJournaldTcp), Kind::kJournald);
  EXPECT_EQ(S(j.hostname()), "gw01");
  ASSERT_EQ(j.Parse(big), Kind::kJournald);
  EXPECT_EQ(S(j.PathValue(0)), "7");
  EXPECT_EQ(j.malformed_count(), 1u);
}

TEST(JsonLineMalformedTest, RandomDamageNeverCrashes) {
  // Bytes flipped, dropped and duplicated in valid lines: whatever the
  // outcome, the accessors answer and the counts add up.
  std::mt19937 rng(12345);  // fixed seed: the same cases every run
  JsonLine j({".a.b.1.c", ".oob.prefix", ".http", ".0"});
  const std::string kBytes = "{}[]:,\"\\ 0aZ.-e\xff\x80\x00";
  size_t malformed = 0;
  std::vector<std::string> lines = AllSamples();
  lines.push_back(R"({"a":{"b":[1,{"c":"d\"e"}],"f":-1.5e-3},"g":true,"h":null,"http":{"x":[]}})");
  for (int iter = 0; iter < 20000; ++iter) {
    std::string line = lines[rng() % lines.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !line.empty(); ++e) {
      size_t pos = rng() % line.size();
      switch (rng() % 3) {
        case 0:
          line[pos] = kBytes[rng() % kBytes.size()];
          break;
        case 1:
          line.erase(pos, 1 + rng() % 3);
          break;
        default:
          line.insert(pos, 1, kBytes[rng() % kBytes.size()]);
          break;
      }
    }
    if (j.Parse(line) == Kind::kMalformed) ++malformed;
    for (size_t p = 0; p < j.path_count(); ++p) (void)j.PathValue(p);
    for (const char* f : {"SRC", "DST", "DPT", "PROTO", "TOS", "MARK", "PREFIX", "TIME"}) {
      (void)j.UlogdField(f);
    }
    (void)j.message();
  }
  EXPECT_EQ(j.malformed_count(), malformed);
  EXPECT_GT(malformed, 1000u);
}

// ---- against the generator: the same packets as journald and ulogd ---------------------

// The fields of a text record (docs/choices.md, reduced to what the
// generator writes): PREFIX before IN=, then first occurrences of KEY=VALUE
// tokens outside brackets.
std::map<std::string, std::string> TextFields(const std::string& msg) {
  std::map<std::string, std::string> out;
  size_t in = msg.find("IN=");
  if (in == std::string::npos) return out;
  std::string prefix = msg.substr(0, in);
  while (!prefix.empty() && prefix.back() == ' ') prefix.pop_back();
  while (!prefix.empty() && prefix.front() == ' ') prefix.erase(0, 1);
  out["PREFIX"] = prefix;
  size_t i = in;
  while (i < msg.size()) {
    if (msg[i] == ' ') {
      ++i;
      continue;
    }
    if (msg[i] == '[') {
      int depth = 0;
      for (; i < msg.size(); ++i) {
        if (msg[i] == '[') ++depth;
        if (msg[i] == ']' && --depth == 0) break;
      }
      ++i;
      continue;
    }
    size_t end = msg.find(' ', i);
    if (end == std::string::npos) end = msg.size();
    std::string token = msg.substr(i, end - i);
    size_t eq = token.find('=');
    if (eq != std::string::npos && eq > 0) out.emplace(token.substr(0, eq), token.substr(eq + 1));
    i = end;
  }
  return out;
}

std::vector<std::string> RunGenerator(const std::string& gen, const std::string& args) {
  std::vector<std::string> lines;
  FILE* f = popen((gen + " " + args).c_str(), "r");
  if (f == nullptr) return lines;
  std::string cur;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    for (size_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        lines.push_back(cur);
        cur.clear();
      } else {
        cur += buf[i];
      }
    }
  }
  pclose(f);
  return lines;
}

std::string CanonicalAddress(const std::string& a) {
  unsigned char bin[16];
  char text[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET6, a.c_str(), bin) == 1) return inet_ntop(AF_INET6, bin, text, sizeof text);
  return a;
}

TEST(JsonLineGeneratorTest, UlogdFieldsMatchTheKernelText) {
  std::string gen = EnvOr("LOGTALLY_GEN", LOGTALLY_GEN);
  if (gen.empty() || std::ifstream(gen).fail()) GTEST_SKIP() << "logtally-gen not built";
  const std::string args = "--lines 20000 --seed 7 --threads 1";
  std::vector<std::string> journald = RunGenerator(gen, args + " --format journald");
  std::vector<std::string> ulogd = RunGenerator(gen, args + " --format ulogd");
  ASSERT_EQ(journald.size(), 20000u);
  ASSERT_EQ(ulogd.size(), 20000u);

  // journald: every line is journald, with a time and the host.
  JsonLine j({});
  std::map<int64_t, std::string> by_time;
  for (const std::string& line : journald) {
    ASSERT_EQ(j.Parse(line), Kind::kJournald) << line;
    ASSERT_TRUE(j.has_time());
    ASSERT_EQ(S(j.hostname()), "gw01");
    by_time.emplace(j.realtime_us(), S(j.message()));
  }

  // ulogd: the same packet (same microsecond) has the same fields in text.
  const std::vector<std::string> kNames = {
      "PREFIX", "IN", "OUT",      "MAC",     "SRC",  "DST",    "LEN",  "TOS",  "PREC",
      "TTL",    "ID", "PROTO",    "SPT",     "DPT",  "WINDOW", "TYPE", "CODE", "SEQ",
      "MTU",    "TC", "HOPLIMIT", "FLOWLBL", "MARK", "UID",    "GID"};
  JsonLine u({".oob.time.sec", ".oob.time.usec"});
  size_t matched = 0, compared = 0;
  for (const std::string& line : ulogd) {
    ASSERT_EQ(u.Parse(line), Kind::kUlogd) << line;
    int64_t us = 0;
    ASSERT_TRUE(u.UlogdTime(&us)) << line;
    EXPECT_EQ(us, std::stoll(S(u.PathValue(0))) * 1000000 + std::stoll(S(u.PathValue(1))));
    auto it = by_time.find(us);
    if (it == by_time.end()) continue;  // past the journald run's last packet
    ++matched;
    std::map<std::string, std::string> text = TextFields(it->second);
    for (const std::string& name : kNames) {
      std::string want = text.count(name) ? text[name] : "";
      std::string got = Ulogd(u, name);
      if (name == "SRC" || name == "DST") {  // text may spell IPv6 in full
        want = CanonicalAddress(want);
      }
      EXPECT_EQ(got, want) << name << " in\n" << it->second << "\n" << line;
      ++compared;
    }
    // URGP: the kernel always prints it; ulogd2 only with URG set.
    if (text.count("URGP") && !u.UlogdField("URGP").empty()) {
      EXPECT_EQ(Ulogd(u, "URGP"), text["URGP"]);
    }
  }
  EXPECT_GT(matched, 19000u);
  EXPECT_EQ(compared, matched * kNames.size());
}

}  // namespace
}  // namespace logtally::engine
