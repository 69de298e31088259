// Record rules of SPEC section 2 and docs/choices.md, one case each.
#include "engine/netfilter.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace logtally::engine {
namespace {

const simd::Kernels& K() { return simd::ScalarKernels(); }

size_t Start(const std::string& s) { return FindRecordStart(s.data(), s.size(), K()); }

std::string Field(const std::string& line, const std::string& key) {
  size_t in = Start(line);
  if (in == kNoRecord) return "<norecord>";
  WantedKeys w;
  w.Add(key);
  std::string_view out[1];
  for (const simd::Kernels* k : simd::SupportedKernels()) {
    std::string_view o[1];
    ExtractFields(line.data(), line.size(), in, w, o, *k);
    if (k == simd::SupportedKernels().front()) out[0] = o[0];
    EXPECT_EQ(o[0], out[0]) << k->name;
  }
  return std::string(out[0]);
}

TEST(RecordStartTest, Rules) {
  EXPECT_EQ(Start("IN=eth0 OUT="), 0u);
  EXPECT_EQ(Start("kernel: IN=eth0 OUT="), 8u);
  EXPECT_EQ(Start("[X]IN=eth0"), 3u);                 // after a non-word byte
  EXPECT_EQ(Start("Shorewall:DROP:IN=wlan0 OUT= "), 15u);
  EXPECT_EQ(Start("DROPIN=eth0 OUT=eth1"), 4u);       // glued, but " OUT=" follows
  EXPECT_EQ(Start("DROPIN=eth0 SRC=1"), kNoRecord);   // glued without OUT=
  EXPECT_EQ(Start("PHYSIN=eth0 PHYSOUT=eth1"), kNoRecord);
  EXPECT_EQ(Start("x PHYSIN=a PHYSOUT=b IN=c OUT="), 21u);
  EXPECT_EQ(Start("DROPIN= OUT=eth0"), 4u);           // empty interface name
  EXPECT_EQ(Start("no record here"), kNoRecord);
  EXPECT_EQ(Start("IN"), kNoRecord);
}

TEST(FieldsTest, FirstOccurrenceAndBrackets) {
  std::string udp = "IN=eth0 OUT= SRC=1.2.3.4 LEN=28 PROTO=UDP SPT=1 DPT=53 LEN=8";
  EXPECT_EQ(Field(udp, "LEN"), "28");
  EXPECT_EQ(Field(udp, "OUT"), "");
  EXPECT_EQ(Field(udp, "IN"), "eth0");
  EXPECT_EQ(Field(udp, "DPT"), "53");
  EXPECT_EQ(Field(udp, "MARK"), "");
  std::string icmp =
      "IN=eth0 OUT= SRC=1.1.1.1 PROTO=ICMP TYPE=3 CODE=3 [SRC=2.2.2.2 DST=3.3.3.3 PROTO=UDP "
      "SPT=5 DPT=53 LEN=9 [SRC=9.9.9.9 DPT=7 ] ] MTU=1500";
  EXPECT_EQ(Field(icmp, "DPT"), "");
  EXPECT_EQ(Field(icmp, "SRC"), "1.1.1.1");
  EXPECT_EQ(Field(icmp, "MTU"), "1500");
  EXPECT_EQ(Field("IN=a PROTO=UDPLITE INCOMPLETE [65 bytes] X=1", "X"), "1");
  EXPECT_EQ(Field("IN=a [unclosed X=1", "X"), "");
  EXPECT_EQ(Field("IN=a [x]Y=2", "Y"), "2");  // tokens resume right after ']'
  EXPECT_EQ(Field("IN=a B=[x] C=3", "B"), "[x]");  // '[' inside a token is a byte
  EXPECT_EQ(Field("IN=a  SRC=1   DST=2  ", "DST"), "2");
  EXPECT_EQ(Field("IN=a =5 K==6", "K"), "=6");
}

TEST(FieldsTest, LongLinesCrossManyMaskBlocks) {
  std::string line = "IN=eth0";
  for (int i = 0; i < 200; ++i) line += " F" + std::to_string(i) + "=" + std::string(i % 70, 'v');
  line += " LAST=yes";
  EXPECT_EQ(Field(line, "LAST"), "yes");
  EXPECT_EQ(Field(line, "F199"), std::string(199 % 70, 'v'));
}

// All wanted keys at once, as many as a query may have (32), in one pass:
// each must equal the key asked alone (the exact token walk decides keys
// past a bracket), and a copy of the key set must work on its own.
TEST(FieldsTest, ManyKeysInOnePass) {
  std::string line = "IN=eth0 OUT= SRC=1.1.1.1 PROTO=ICMP TYPE=3 [SRC=2.2.2.2 K3=x ] ";
  std::vector<std::string> keys = {"IN", "OUT", "SRC", "PROTO", "TYPE", "MTU"};
  for (int i = 0; i < 26; ++i) {
    std::string name(1, 'K');
    name += std::to_string(i);
    keys.push_back(name);
    if (i % 3 != 0) {
      line += name;
      line += '=';
      line += std::to_string(i);
      line += ' ';
    }
  }
  line += "MTU=1500";
  size_t in = Start(line);
  WantedKeys w;
  for (const std::string& k : keys) w.Add(k);
  ASSERT_EQ(w.size(), WantedKeys::kMaxWantedKeys);
  WantedKeys copy = w;
  for (const simd::Kernels* k : simd::SupportedKernels()) {
    std::vector<std::string_view> out(keys.size());
    ExtractFields(line.data(), line.size(), in, copy, out.data(), *k);
    for (size_t i = 0; i < keys.size(); ++i) {
      EXPECT_EQ(std::string(out[i]), Field(line, keys[i])) << k->name << " " << keys[i];
    }
  }
  EXPECT_EQ(Field(line, "K3"), "");  // only inside the bracket
  EXPECT_EQ(Field(line, "K4"), "4");
  EXPECT_EQ(Field(line, "MTU"), "1500");
}

Header H(const std::string& s) {
  static std::string keep;
  keep = s;
  size_t in = Start(keep);
  return ParseHeader(keep.data(), in);
}

TEST(HeaderTest, Styles) {
  Header h = H("Mar  5 14:59:59 gw kernel: [158144.383443] NEW-OUTBOUND IN=eth1 OUT=eth0");
  EXPECT_EQ(h.time, "Mar  5 14:59:59");
  EXPECT_EQ(h.host, "gw");
  EXPECT_EQ(h.prefix, "NEW-OUTBOUND");
  h = H("2015-03-07T05:09:30.045015+02:00 servername kernel: DROP: IN=eth0 OUT=");
  EXPECT_EQ(h.time, "2015-03-07T05:09:30.045015+02:00");
  EXPECT_EQ(h.host, "servername");
  EXPECT_EQ(h.prefix, "DROP:");
  h = H("<6>2021-03-12T14:10:18Z Hostname kernel: [wan-lan-default-D]IN=eth0 OUT=");
  EXPECT_EQ(h.time, "2021-03-12T14:10:18Z");
  EXPECT_EQ(h.prefix, "[wan-lan-default-D]");
  h = H("Jan  8 03:37:09 DENY: IN=eth0 OUT=");
  EXPECT_EQ(h.host, "");
  EXPECT_EQ(h.prefix, "DENY:");
  h = H("Feb 20 10:47:14 debian kernel: [  341.399450] [netfilter-OUTPUT] IN= OUT=enp0s3");
  EXPECT_EQ(h.prefix, "[netfilter-OUTPUT]");
  h = H("2025-11-30T00:00:20.570472-07:00 m1 kernel: [4290995.710144] [UFW AUDIT INVALID] IN= OUT=eth0");
  EXPECT_EQ(h.prefix, "[UFW AUDIT INVALID]");
  h = H("0 3 PVEFW-HOST-IN 20/Jun/2022:13:09:14 +0200 policy DROP: IN=vmbr0.94 MAC=");
  EXPECT_EQ(h.time, "");
  EXPECT_EQ(h.host, "");
  EXPECT_EQ(h.prefix, "0 3 PVEFW-HOST-IN 20/Jun/2022:13:09:14 +0200 policy DROP:");
  h = H("Jun 13 23:29:15 UDMP-DTC [WAN_LOCAL-D-2147483647] DESCR=\"[WAN_LOCAL]Block All\" IN=eth8 OUT=");
  EXPECT_EQ(h.host, "UDMP-DTC");
  EXPECT_EQ(h.prefix, "[WAN_LOCAL-D-2147483647] DESCR=\"[WAN_LOCAL]Block All\"");
  h = H("Feb  9 20:55:06 ubuntu kernel: [13626.584587] IN=lo OUT=");
  EXPECT_EQ(h.prefix, "");
  h = H("Mar 17 13:39:13 gw IN=eth0 OUT=");
  EXPECT_EQ(h.host, "gw");
  h = H("Mar 17 13:39:13 gwIN=eth0 OUT=");  // the word reaches IN=: no host
  EXPECT_EQ(h.host, "");
}

TEST(WordsTest, SpacesAndTabs) {
  std::string s = " a\t\tb  c ";
  std::string_view w[4];
  EXPECT_EQ(SplitWords(s.data(), s.size(), w, 4), 3u);
  EXPECT_EQ(w[0], "a");
  EXPECT_EQ(w[1], "b");
  EXPECT_EQ(w[2], "c");
  EXPECT_EQ(w[3], "");
}

}  // namespace
}  // namespace logtally::engine
