// Firewall rules (engine/rules.h): exact output for iptables and nftables,
// address normalisation, the refusal of every hostile or incomplete row, and
// (when the tools are installed and usable) a syntax check of the output by
// iptables-restore --test, ip6tables-restore --test and nft -c.
#include "engine/rules.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace logtally::engine {
namespace {

RuleOptions Ipt(std::string chain = "", RuleAction a = RuleAction::kDrop) {
  return RuleOptions{RuleTarget::kIptables, a, std::move(chain)};
}
RuleOptions Nft(std::string chain = "", RuleAction a = RuleAction::kDrop) {
  return RuleOptions{RuleTarget::kNftables, a, std::move(chain)};
}

RuleRow Row(std::vector<std::string_view> values, uint64_t count = 1, std::string_view first = "",
            std::string_view last = "") {
  return RuleRow{std::move(values), count, first, last};
}

RuleScripts Build(const std::vector<std::string>& cols, const std::vector<RuleRow>& rows,
                  const RuleOptions& opt) {
  absl::StatusOr<RuleScripts> r = BuildRules(cols, rows, opt);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : RuleScripts{};
}

// The one rule line of a single-row build ("" when refused).
std::string V4Line(const std::vector<std::string>& cols, std::vector<std::string_view> values) {
  RuleScripts s = Build(cols, {Row(std::move(values))}, Ipt());
  if (s.rules == 0) return "";
  std::string text = s.restore_v4.empty() ? s.restore_v6 : s.restore_v4;
  size_t a = text.find("-A ");
  return text.substr(a, text.find('\n', a) - a);
}

std::string NftLine(const std::vector<std::string>& cols, std::vector<std::string_view> values,
                    RuleOptions opt = Nft()) {
  RuleScripts s = Build(cols, {Row(std::move(values))}, opt);
  if (s.rules == 0) return "";
  size_t a = s.apply.find("add rule ");
  return s.apply.substr(a, s.apply.find('\n', a) - a);
}

std::string RefusedReason(const std::vector<std::string>& cols,
                          std::vector<std::string_view> values, RuleOptions opt = Ipt()) {
  RuleScripts s = Build(cols, {Row(std::move(values))}, opt);
  EXPECT_EQ(s.rules, 0u);
  EXPECT_EQ(s.refused.size(), 1u);
  return s.refused.empty() ? "" : s.refused[0];
}

// ---- iptables ----------------------------------------------------------------------------

TEST(IptablesRulesTest, ExactScripts) {
  RuleScripts s =
      Build({"SRC", "DPT", "PROTO"},
            {Row({"192.168.10.55", "22", "TCP"}, 5, "Mar  5 14:59:59", "Mar  6 01:00:00"),
             Row({"2001:0db8:0000:f101:0000:0000:0000:0002", "443", "TCP"}, 1,
                 "2025-11-30T00:00:20.570472-07:00", "2025-11-30T00:00:20.570472-07:00")},
            Ipt());
  EXPECT_EQ(s.rules, 2u);
  EXPECT_TRUE(s.refused.empty());
  EXPECT_EQ(s.restore_v4,
            "*filter\n"
            "-A INPUT -s 192.168.10.55/32 -p tcp -m tcp --dport 22 -m comment --comment "
            "\"logtally: 5 hits, Mar  5 14:59:59..Mar  6 01:00:00\" -j DROP\n"
            "COMMIT\n");
  EXPECT_EQ(s.restore_v6,
            "*filter\n"
            "-A INPUT -s 2001:db8:0:f101::2/128 -p tcp -m tcp --dport 443 -m comment --comment "
            "\"logtally: 1 hit, 2025-11-30T00:00:20.570472-07:00..2025-11-30T00:00:20.570472-07:00"
            "\" -j DROP\n"
            "COMMIT\n");
  EXPECT_EQ(s.revert_v4,
            "*filter\n"
            "-D INPUT -s 192.168.10.55/32 -p tcp -m tcp --dport 22 -m comment --comment "
            "\"logtally: 5 hits, Mar  5 14:59:59..Mar  6 01:00:00\" -j DROP\n"
            "COMMIT\n");
  EXPECT_EQ(s.apply,
            "#!/bin/sh\n"
            "# logtally rules: 2 rules (1 IPv4, 1 IPv6), DROP, appended to chain INPUT of table "
            "filter.\n"
            "# Undo with the revert script.\n"
            "set -e\n"
            "iptables-restore --noflush <<'LOGTALLY_RULES'\n" +
                s.restore_v4 +
                "LOGTALLY_RULES\n"
                "ip6tables-restore --noflush <<'LOGTALLY_RULES'\n" +
                s.restore_v6 + "LOGTALLY_RULES\n");
  EXPECT_EQ(s.revert,
            "#!/bin/sh\n"
            "# logtally rules, revert: deletes the 2 rules (1 IPv4, 1 IPv6) that the apply "
            "script appended to chain INPUT.\n"
            "set -e\n"
            "iptables-restore --noflush <<'LOGTALLY_RULES'\n" +
                s.revert_v4 +
                "LOGTALLY_RULES\n"
                "ip6tables-restore --noflush <<'LOGTALLY_RULES'\n" +
                s.revert_v6 + "LOGTALLY_RULES\n");
}

TEST(IptablesRulesTest, Matchers) {
  EXPECT_EQ(
      V4Line({"SRC", "DST", "SPT", "DPT", "PROTO"}, {"10.0.0.1", "10.0.0.2", "1024", "53", "udp"}),
      "-A INPUT -s 10.0.0.1/32 -d 10.0.0.2/32 -p udp -m udp --sport 1024 --dport 53 -m "
      "comment --comment \"logtally: 1 hit\" -j DROP");
  EXPECT_EQ(V4Line({"PROTO", "DPT"}, {"UDPLITE", "53"}),
            "-A INPUT -p udplite -m multiport --dports 53 -m comment --comment \"logtally: 1 "
            "hit\" -j DROP");
  EXPECT_EQ(V4Line({"PROTO", "SPT", "DPT"}, {"udplite", "7", "53"}),
            "-A INPUT -p udplite -m multiport --sports 7 -m multiport --dports 53 -m comment "
            "--comment \"logtally: 1 hit\" -j DROP");
  EXPECT_EQ(V4Line({"PROTO", "DPT"}, {"SCTP", "5672"}),
            "-A INPUT -p sctp -m sctp --dport 5672 -m comment --comment \"logtally: 1 hit\" -j "
            "DROP");
  EXPECT_EQ(V4Line({"PROTO", "DPT"}, {"dccp", "5"}),
            "-A INPUT -p 33 -m dccp --dport 5 -m comment --comment \"logtally: 1 hit\" -j DROP");
  EXPECT_EQ(V4Line({"SRC", "PROTO"}, {"1.2.3.4", "47"}),
            "-A INPUT -s 1.2.3.4/32 -p 47 -m comment --comment \"logtally: 1 hit\" -j DROP");
  EXPECT_EQ(V4Line({"SRC", "PROTO"}, {"1.2.3.4", "GRE"}),
            "-A INPUT -s 1.2.3.4/32 -p 47 -m comment --comment \"logtally: 1 hit\" -j DROP");
  EXPECT_EQ(V4Line({"SRC", "PROTO"}, {"1.2.3.4", "2"}),  // IGMP as the kernel writes it
            "-A INPUT -s 1.2.3.4/32 -p 2 -m comment --comment \"logtally: 1 hit\" -j DROP");
  EXPECT_EQ(V4Line({"SRC", "PROTO"}, {"1.2.3.4", "ESP"}),
            "-A INPUT -s 1.2.3.4/32 -p esp -m comment --comment \"logtally: 1 hit\" -j DROP");
  EXPECT_EQ(V4Line({"SRC", "PROTO"}, {"1.2.3.4", "250"}),
            "-A INPUT -s 1.2.3.4/32 -p 250 -m comment --comment \"logtally: 1 hit\" -j DROP");
  // A number that is a known protocol becomes it, ports and all.
  EXPECT_EQ(V4Line({"PROTO", "DPT"}, {"6", "22"}),
            "-A INPUT -p tcp -m tcp --dport 22 -m comment --comment \"logtally: 1 hit\" -j DROP");
  EXPECT_EQ(V4Line({"DPT", "PROTO"}, {"0", "TCP"}),
            "-A INPUT -p tcp -m tcp --dport 0 -m comment --comment \"logtally: 1 hit\" -j DROP");
  EXPECT_EQ(V4Line({"DPT", "PROTO"}, {"00022", "TCP"}),
            "-A INPUT -p tcp -m tcp --dport 22 -m comment --comment \"logtally: 1 hit\" -j DROP");
}

TEST(IptablesRulesTest, FamiliesChainAndAction) {
  RuleScripts s =
      Build({"PROTO", "DPT"}, {Row({"TCP", "23"}), Row({"ICMP", ""}), Row({"ICMPv6", ""})},
            Ipt("FORWARD", RuleAction::kReject));
  EXPECT_EQ(s.rules, 3u);
  // No address: both families; icmp: IPv4 only; icmpv6: IPv6 only.
  EXPECT_EQ(s.restore_v4,
            "*filter\n"
            "-A FORWARD -p tcp -m tcp --dport 23 -m comment --comment \"logtally: 1 hit\" -j "
            "REJECT\n"
            "-A FORWARD -p icmp -m comment --comment \"logtally: 1 hit\" -j REJECT\n"
            "COMMIT\n");
  EXPECT_EQ(s.restore_v6,
            "*filter\n"
            "-A FORWARD -p tcp -m tcp --dport 23 -m comment --comment \"logtally: 1 hit\" -j "
            "REJECT\n"
            "-A FORWARD -p icmpv6 -m comment --comment \"logtally: 1 hit\" -j REJECT\n"
            "COMMIT\n");
  EXPECT_NE(s.apply.find("3 rules (2 IPv4, 2 IPv6), REJECT, appended to chain FORWARD"),
            std::string::npos);

  s = Build({"SRC"}, {Row({"1.2.3.4"})}, Ipt("my_chain-1"));
  EXPECT_TRUE(s.restore_v6.empty());
  EXPECT_TRUE(s.revert_v6.empty());
  EXPECT_EQ(s.apply.find("ip6tables"), std::string::npos);
  EXPECT_NE(s.restore_v4.find("-A my_chain-1 -s 1.2.3.4/32"), std::string::npos);

  s = Build({"SRC"}, {}, Ipt());
  EXPECT_EQ(s.rules, 0u);
  EXPECT_TRUE(s.restore_v4.empty());
  EXPECT_EQ(s.apply.find("restore"), std::string::npos);
  EXPECT_NE(s.apply.find("0 rules"), std::string::npos);
}

TEST(IptablesRulesTest, Protocol0IsAllToIptables) {
  EXPECT_EQ(RefusedReason({"SRC", "PROTO"}, {"1.2.3.4", "0"}),
            "row 1 (SRC=1.2.3.4, PROTO=0): PROTO 0 means every protocol to iptables");
  EXPECT_EQ(NftLine({"SRC", "PROTO"}, {"1.2.3.4", "0"}),
            "add rule inet logtally input ip saddr 1.2.3.4 meta l4proto 0 counter drop comment "
            "\"logtally: 1 hit\"");
}

// ---- nftables ---------------------------------------------------------------------------

TEST(NftRulesTest, ExactScripts) {
  RuleScripts s = Build(
      {"SRC", "DST", "DPT", "PROTO"},
      {Row({"192.168.10.55", "10.0.0.1", "22", "TCP"}, 5, "Mar  5 14:59:59", "Mar  6 01:00:00"),
       Row({"2001:DB8::1", "2001:db8:0:0:0:0:0:2", "53", "udp"}, 7)},
      Nft());
  EXPECT_EQ(s.rules, 2u);
  EXPECT_EQ(s.apply,
            "#!/usr/sbin/nft -f\n"
            "# logtally rules: 2 rules, DROP, in table inet logtally (replaced as a whole).\n"
            "# Undo with the revert script.\n"
            "add table inet logtally\n"
            "delete table inet logtally\n"
            "add table inet logtally\n"
            "add chain inet logtally input { type filter hook input priority 0; policy accept; }\n"
            "add rule inet logtally input ip saddr 192.168.10.55 ip daddr 10.0.0.1 tcp dport 22 "
            "counter drop comment \"logtally: 5 hits, Mar  5 14:59:59..Mar  6 01:00:00\"\n"
            "add rule inet logtally input ip6 saddr 2001:db8::1 ip6 daddr 2001:db8::2 udp dport "
            "53 counter drop comment \"logtally: 7 hits\"\n");
  EXPECT_EQ(s.revert,
            "#!/usr/sbin/nft -f\n"
            "# logtally rules, revert: deletes table inet logtally and every rule in it.\n"
            "add table inet logtally\n"
            "delete table inet logtally\n");
  EXPECT_TRUE(s.restore_v4.empty());
  EXPECT_TRUE(s.restore_v6.empty());
}

TEST(NftRulesTest, Matchers) {
  EXPECT_EQ(NftLine({"PROTO", "SPT", "DPT"}, {"udplite", "7", "53"}),
            "add rule inet logtally input udplite sport 7 udplite dport 53 counter drop comment "
            "\"logtally: 1 hit\"");
  EXPECT_EQ(NftLine({"PROTO", "DPT"}, {"SCTP", "5672"}, Nft("OUTPUT", RuleAction::kReject)),
            "add rule inet logtally output sctp dport 5672 counter reject comment "
            "\"logtally: 1 hit\"");
  EXPECT_EQ(NftLine({"PROTO", "DPT"}, {"DCCP", "5"}, Nft("Forward")),
            "add rule inet logtally forward dccp dport 5 counter drop comment \"logtally: 1 hit\"");
  EXPECT_EQ(
      NftLine({"PROTO", "DPT"}, {"ICMPv6", ""}),
      "add rule inet logtally input meta l4proto 58 counter drop comment \"logtally: 1 hit\"");
  EXPECT_EQ(NftLine({"SRC", "PROTO"}, {"10.9.8.7", "icmp"}),
            "add rule inet logtally input ip saddr 10.9.8.7 meta l4proto 1 counter drop "
            "comment \"logtally: 1 hit\"");
  EXPECT_EQ(NftLine({"PROTO"}, {"TCP"}),
            "add rule inet logtally input meta l4proto 6 counter drop comment \"logtally: 1 hit\"");

  RuleScripts s = Build({"SRC"}, {Row({"1.2.3.4"})}, Nft("output"));
  EXPECT_NE(s.apply.find("add chain inet logtally output { type filter hook output priority 0;"),
            std::string::npos);
}

// ---- addresses ----------------------------------------------------------------------------

std::string NormalSrc(std::string_view v) {
  std::string line = NftLine({"SRC"}, {v});
  if (line.empty()) return "<refused>";
  size_t a = line.find("saddr ") + 6;
  return line.substr(a, line.find(' ', a) - a);
}

TEST(RulesAddressTest, Normalised) {
  EXPECT_EQ(NormalSrc("192.168.10.55"), "192.168.10.55");
  EXPECT_EQ(NormalSrc("0.0.0.0"), "0.0.0.0");
  EXPECT_EQ(NormalSrc("255.255.255.255"), "255.255.255.255");
  EXPECT_EQ(NormalSrc("2001:0db8:0000:f101:0000:0000:0000:0002"), "2001:db8:0:f101::2");
  EXPECT_EQ(NormalSrc("2012:1234:1234:0000:0000:0000:0000:0001"), "2012:1234:1234::1");
  EXPECT_EQ(NormalSrc("FE80::0001"), "fe80::1");
  EXPECT_EQ(NormalSrc("::"), "::");
  EXPECT_EQ(NormalSrc("::1"), "::1");
  EXPECT_EQ(NormalSrc("1::"), "1::");
  EXPECT_EQ(NormalSrc("1:0:0:2:0:0:0:3"), "1:0:0:2::3");                 // the longest run
  EXPECT_EQ(NormalSrc("1:0:0:2:3:0:0:4"), "1::2:3:0:0:4");               // the first of equal runs
  EXPECT_EQ(NormalSrc("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");  // one zero stays
  EXPECT_EQ(NormalSrc("0:0:0:0:0:ffff:0102:0304"), "::ffff:1.2.3.4");
  EXPECT_EQ(NormalSrc("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
  EXPECT_EQ(NormalSrc("64:ff9b::1.2.3.4"), "64:ff9b::102:304");
}

// A logged address is one address: a prefix inside it, which anyone who can
// write to syslog can forge, never widens a rule.
TEST(RulesAddressTest, NetworksRefused) {
  for (const char* forged : {"0.0.0.0/1", "128.0.0.0/1", "::/1", "1.2.3.4/8", "10.1.2.3/31",
                             "1.2.3.4/32", "2001:db8::1/128", "8000::/1"}) {
    for (RuleTarget t : {RuleTarget::kIptables, RuleTarget::kNftables}) {
      RuleOptions o;
      o.target = t;
      RuleScripts s = Build({"SRC"}, {Row({forged})}, o);
      EXPECT_EQ(s.rules, 0u) << forged;
      ASSERT_EQ(s.refused.size(), 1u) << forged;
      EXPECT_NE(s.refused[0].find("is a network, not one address"), std::string::npos) << s.refused[0];
      EXPECT_EQ(s.apply.find(forged), std::string::npos) << forged;
    }
  }
}

TEST(RulesAddressTest, Refused) {
  for (const char* bad :
       {"1.2.3",        "1.2.3.4.5",   "256.1.1.1",   "1.2.3.-4",  "01.2.3.4",
        "1.2.3.04",     "1.2.3.4/",    "1.2.3.4/33",  "1.2.3.4/0", "::/0",
        "1.2.3.4/-1",   "1.2.3.4/1/2", "1.2.3.4/08a", "::1/129",   "1:2:3:4:5:6:7:8:9",
        "1::2::3",      ":::",         "12345::",     "g::1",      "1.2.3.4 ",
        " 1.2.3.4",     "0x7f.0.0.1",  "2130706433",  "localhost", "1.2.3.4%eth0",
        "fe80::1%eth0", "[::1]",       "1.2.3.4:80",  "-1.2.3.4",  "1.2.3.4\n"}) {
    EXPECT_EQ(NormalSrc(bad), "<refused>") << bad;
  }
}

// ---- refusals -------------------------------------------------------------------------------

TEST(RulesRefusedTest, Reasons) {
  const std::vector<std::string> key = {"SRC", "DPT", "PROTO"};
  EXPECT_EQ(RefusedReason(key, {"1.2.3.4; rm -rf /", "22", "TCP"}),
            "row 1 (SRC=1.2.3.4; rm -rf /, DPT=22, PROTO=TCP): SRC is not an IPv4 or IPv6 address");
  EXPECT_EQ(RefusedReason(key, {"1.2.3.4", "999999", "TCP"}),
            "row 1 (SRC=1.2.3.4, DPT=999999, PROTO=TCP): DPT is not a port (0 to 65535)");
  EXPECT_EQ(RefusedReason(key, {"1.2.3.4", "65536", "TCP"}),
            "row 1 (SRC=1.2.3.4, DPT=65536, PROTO=TCP): DPT is not a port (0 to 65535)");
  EXPECT_EQ(RefusedReason(key, {"1.2.3.4", "-1", "TCP"}),
            "row 1 (SRC=1.2.3.4, DPT=-1, PROTO=TCP): DPT is not a port (0 to 65535)");
  EXPECT_EQ(RefusedReason(key, {"1.2.3.4", "0x50", "TCP"}),
            "row 1 (SRC=1.2.3.4, DPT=0x50, PROTO=TCP): DPT is not a port (0 to 65535)");
  EXPECT_EQ(RefusedReason(key, {"1.2.3.4", "22", "ICMP"}),
            "row 1 (SRC=1.2.3.4, DPT=22, PROTO=ICMP): DPT needs PROTO tcp, udp, sctp, udplite or "
            "dccp in the key");
  EXPECT_EQ(RefusedReason(key, {"1.2.3.4", "22", "tcp;"}),
            "row 1 (SRC=1.2.3.4, DPT=22, PROTO=tcp;): PROTO is not a known protocol (tcp, udp, "
            "icmp, icmpv6, sctp, gre, esp, ah, udplite, dccp, igmp) or a number");
  EXPECT_EQ(RefusedReason(key, {"1.2.3.4", "22", "256"}),
            "row 1 (SRC=1.2.3.4, DPT=22, PROTO=256): PROTO is not a protocol number (0 to 255)");
  EXPECT_EQ(RefusedReason(key, {"1.2.3.4", "22", "0006"}),
            "row 1 (SRC=1.2.3.4, DPT=22, PROTO=0006): PROTO is not a protocol number (0 to 255)");
  // Missing values would make the rule wider than its group.
  EXPECT_EQ(RefusedReason(key, {"", "22", "TCP"}),
            "row 1 (SRC=-, DPT=22, PROTO=TCP): SRC is missing");
  EXPECT_EQ(RefusedReason(key, {"1.2.3.4", "", "TCP"}),
            "row 1 (SRC=1.2.3.4, DPT=-, PROTO=TCP): DPT is missing (a rule without it would "
            "match every port)");
  EXPECT_EQ(RefusedReason(key, {"1.2.3.4", "22", ""}),
            "row 1 (SRC=1.2.3.4, DPT=22, PROTO=-): PROTO is missing");
  EXPECT_EQ(RefusedReason({"SRC", "DPT"}, {"1.2.3.4", ""}),
            "row 1 (SRC=1.2.3.4, DPT=-): DPT is missing (a rule without it would match every "
            "port)");
  EXPECT_EQ(RefusedReason({"SRC", "DPT"}, {"1.2.3.4", "22"}),
            "row 1 (SRC=1.2.3.4, DPT=22): DPT needs PROTO tcp, udp, sctp, udplite or dccp in the "
            "key");
  // ... but "no port" is exact for a protocol without ports.
  EXPECT_NE(V4Line(key, {"1.2.3.4", "", "ICMP"}), "");
  // Families must agree.
  EXPECT_EQ(RefusedReason({"SRC", "DST"}, {"1.2.3.4", "::1"}),
            "row 1 (SRC=1.2.3.4, DST=::1): SRC and DST are of different address families");
  EXPECT_EQ(RefusedReason({"SRC", "PROTO"}, {"::1", "ICMP"}),
            "row 1 (SRC=::1, PROTO=ICMP): icmp is IPv4 only, the address is not");
  EXPECT_EQ(RefusedReason({"SRC", "PROTO"}, {"1.2.3.4", "icmpv6"}),
            "row 1 (SRC=1.2.3.4, PROTO=icmpv6): icmpv6 is IPv6 only, the address is not");
  EXPECT_EQ(RefusedReason({"SRC", "PROTO"}, {"::1", "2"}),
            "row 1 (SRC=::1, PROTO=2): igmp is IPv4 only, the address is not");
}

// Everything the emitted text may contain: the bytes this unit writes itself.
bool OnlyOwnBytes(const std::string& s) {
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ' ' || c == '\n' || c == '-' || c == '.' || c == ':' || c == '/' || c == '"' ||
              c == '*' || c == '#' || c == '!' || c == '_' || c == '\'' || c == '<' || c == ',' ||
              c == '(' || c == ')' || c == ';' || c == '{' || c == '}' || c == '+';
    if (!ok) return false;
  }
  return true;
}

TEST(RulesRefusedTest, HostileValuesNeverReachTheOutput) {
  const std::string nul_addr("1.2.3.4\0; reboot", 16);
  const std::string long_addr(1 << 20, '1');
  const std::vector<std::string_view> hostile = {"1.2.3.4; rm -rf /",
                                                 "$(reboot)",
                                                 "`reboot`",
                                                 "1.2.3.4\"; reboot; \"",
                                                 "1.2.3.4'",
                                                 "1.2.3.4\n-A INPUT -j ACCEPT",
                                                 "1.2.3.4\r",
                                                 nul_addr,
                                                 long_addr,
                                                 "999999",
                                                 "-1",
                                                 "0x50",
                                                 "-j ACCEPT",
                                                 "LOGTALLY_RULES",
                                                 "\nLOGTALLY_RULES\nreboot\n",
                                                 "1.2.3.4 -j ACCEPT",
                                                 "tcp --dport 1",
                                                 "\xff\xfe",
                                                 "\x1b[2J",
                                                 "--dport",
                                                 "1.2.3.4/8 ",
                                                 "COMMIT"};
  const std::vector<std::string> cols = {"SRC", "DST", "DPT", "SPT", "PROTO"};
  for (RuleOptions opt : {Ipt(), Nft()}) {
    std::vector<RuleRow> rows;
    for (size_t c = 0; c < cols.size(); ++c) {
      for (std::string_view h : hostile) {
        std::vector<std::string_view> v = {"10.0.0.1", "10.0.0.2", "22", "1024", "TCP"};
        v[c] = h;
        rows.push_back(Row(v, 3, h, h));  // hostile times too
      }
    }
    // One good row whose times are hostile: the rule stays, the times go.
    rows.push_back(Row({"10.0.0.1", "10.0.0.2", "22", "1024", "TCP"}, 2,
                       "Mar  5 14:59:59\"; reboot", "Mar  5 14:59:59"));
    RuleScripts s = Build(cols, rows, opt);
    EXPECT_EQ(s.rules, 1u);
    EXPECT_EQ(s.refused.size(), rows.size() - 1);
    for (const std::string* out :
         {&s.apply, &s.revert, &s.restore_v4, &s.restore_v6, &s.revert_v4, &s.revert_v6}) {
      EXPECT_TRUE(OnlyOwnBytes(*out)) << *out;
      for (const char* bad : {"rm -rf", "reboot", "$(", "`", "ACCEPT", "999999", "0x50",
                              "--dport 1 ", "\r", "\x1b"}) {
        EXPECT_EQ(out->find(bad), std::string::npos) << bad << " in\n" << *out;
      }
    }
    EXPECT_NE(s.apply.find("\"logtally: 2 hits\""), std::string::npos);
    // The refusal report shows values escaped and bounded.
    for (const std::string& r : s.refused) {
      for (char c : r) ASSERT_TRUE(c >= 0x20 && c < 0x7f) << r;
      EXPECT_LT(r.size(), 600u);
    }
  }
  RuleScripts s = Build({"SRC"}, {Row({nul_addr}), Row({long_addr}), Row({"\x1b[2J"})}, Ipt());
  ASSERT_EQ(s.refused.size(), 3u);
  EXPECT_EQ(s.refused[0], "row 1 (SRC=1.2.3.4\\x00; reboot): SRC is not an IPv4 or IPv6 address");
  EXPECT_EQ(s.refused[1],
            "row 2 (SRC=" + std::string(64, '1') +
                "... (1048576 bytes)): SRC is not an IPv4 or IPv6 address (too long)");
  EXPECT_EQ(s.refused[2], "row 3 (SRC=\\x1b[2J): SRC is not an IPv4 or IPv6 address");
}

TEST(RulesCommentTest, Times) {
  auto comment = [](std::string_view first, std::string_view last, uint64_t count = 4) {
    RuleScripts s = Build({"SRC"}, {Row({"1.2.3.4"}, count, first, last)}, Nft());
    size_t a = s.apply.find("comment \"") + 9;
    return s.apply.substr(a, s.apply.find('"', a) - a);
  };
  EXPECT_EQ(comment("Mar  5 14:59:59", "Mar 15 14:59:59"),
            "logtally: 4 hits, Mar  5 14:59:59..Mar 15 14:59:59");
  EXPECT_EQ(comment("2021-03-12T14:10:18.123456789Z", "2021-03-12T14:10:19Z"),
            "logtally: 4 hits, 2021-03-12T14:10:18.123456789Z..2021-03-12T14:10:19Z");
  EXPECT_EQ(comment("", ""), "logtally: 4 hits");
  EXPECT_EQ(comment("Mar  5 14:59:59", ""), "logtally: 4 hits");
  EXPECT_EQ(comment("Mar  5 14:59:59", "yesterday"), "logtally: 4 hits");
  EXPECT_EQ(comment("Mar  5 14:59:59\"", "Mar  5 14:59:59"), "logtally: 4 hits");
  EXPECT_EQ(comment("", "", 1), "logtally: 1 hit");
  EXPECT_EQ(comment("", "", 0), "logtally: 0 hits");
  EXPECT_EQ(comment("", "", 18446744073709551615u), "logtally: 18446744073709551615 hits");
  // The longest comment fits nft's 128-byte limit (iptables allows 256).
  std::string longest = comment("2021-03-12T14:10:18.123456789+14:00",
                                "2021-03-12T14:10:18.123456789+14:00", 18446744073709551615u);
  EXPECT_LE(longest.size(), 128u);
}

// ---- usage errors ---------------------------------------------------------------------------

TEST(RulesUsageTest, Errors) {
  auto error = [](const std::vector<std::string>& cols, const RuleOptions& opt,
                  std::vector<RuleRow> rows = {}) {
    absl::StatusOr<RuleScripts> r = BuildRules(cols, rows, opt);
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string("<ok>") : std::string(r.status().message());
  };
  EXPECT_EQ(error({}, Ipt()), "rules need a key of SRC, DST, DPT, SPT and/or PROTO");
  EXPECT_EQ(error({"SRC", "LEN"}, Ipt()),
            "rules cannot use the key field 'LEN': only SRC, DST, DPT, SPT and PROTO");
  EXPECT_EQ(error({"src"}, Ipt()),
            "rules cannot use the key field 'src': only SRC, DST, DPT, SPT and PROTO");
  EXPECT_EQ(error({"SRC", "SRC"}, Ipt()), "key field SRC given twice");
  EXPECT_EQ(error({"SRC"}, Ipt(), {Row({"1.2.3.4", "5"})}), "row 1 has 2 values for 1 columns");
  for (const char* chain : {"INPUT; reboot", "-j", "-INPUT", "IN PUT", "in\nput", "$(x)",
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZabc", "INPUT\"", "a.b"}) {
    EXPECT_NE(error({"SRC"}, Ipt(chain)).find("bad chain name"), std::string::npos) << chain;
  }
  EXPECT_EQ(error({"SRC"}, Ipt("in\x1b[2J")),
            "bad chain name 'in\\x1b[2J': use 1 to 28 letters, digits, '_' or '-', not starting "
            "with '-'");
  for (const char* chain : {"prerouting", "my_chain", "input;", "INPUT "}) {
    EXPECT_NE(error({"SRC"}, Nft(chain)).find("for nftables"), std::string::npos) << chain;
  }
  // Longest valid chain name.
  EXPECT_TRUE(BuildRules({"SRC"}, {}, Ipt("ABCDEFGHIJKLMNOPQRSTUVWXYZab")).ok());
}

// ---- the real tools -------------------------------------------------------------------------

class ToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("logtally_rules_test." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  static int Run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }
  // The tool exists and can check a trivial input here (it needs netfilter
  // access, usually root).
  bool Usable(const std::string& probe) { return Run(probe) == 0; }

  // Representative rows covering every matcher and both families.
  RuleScripts Sample(RuleOptions opt) {
    return Build(
        {"SRC", "DST", "SPT", "DPT", "PROTO"},
        {Row({"192.168.10.55", "10.0.0.1", "1024", "22", "TCP"}, 5, "Mar  5 14:59:59",
             "Mar  6 01:00:00"),
         Row({"2001:0db8::1", "2001:db8::2", "5", "53", "udp"}, 2,
             "2021-03-12T14:10:18.123456789Z", "2021-03-12T14:10:19+02:00"),
         Row({"1.2.3.4", "5.6.7.8", "7", "53", "UDPLITE"}),
         Row({"1.2.3.4", "5.6.7.8", "7", "5672", "sctp"}),
         Row({"1.2.3.4", "5.6.7.8", "", "", "ICMP"}), Row({"::1", "::2", "", "", "ICMPv6"}),
         Row({"1.2.3.4", "5.6.7.8", "", "", "47"}), Row({"1.2.3.4", "5.6.7.8", "", "", "ESP"}),
         Row({"1.2.3.4", "5.6.7.8", "", "", "2"}), Row({"::ffff:1.2.3.4", "::", "", "", "250"}),
         Row({"1.2.3.4; reboot", "5.6.7.8", "", "", "47"})},
        opt);
  }

  std::filesystem::path dir_;
};

TEST_F(ToolTest, ShellWrapperPassesRestoreTextVerbatim) {
  if (!Usable("command -v sh")) GTEST_SKIP() << "no sh";
  // Fake iptables-restore / ip6tables-restore that record their input and
  // arguments: the heredocs must deliver the restore texts byte for byte.
  std::string bin = (dir_ / "bin").string();
  std::filesystem::create_directories(bin);
  for (const char* tool : {"iptables-restore", "ip6tables-restore"}) {
    std::string fake = bin + "/" + tool;
    std::ofstream(fake) << "#!/bin/sh\necho \"$@\" > " << dir_.string() << "/" << tool
                        << ".args\ncat > " << dir_.string() << "/" << tool << ".in\n";
    std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
  }
  RuleScripts s = Sample(Ipt());
  ASSERT_FALSE(s.restore_v4.empty());
  ASSERT_FALSE(s.restore_v6.empty());
  for (bool revert : {false, true}) {
    std::string script = Write("script.sh", revert ? s.revert : s.apply);
    ASSERT_EQ(std::system(("PATH=" + bin + ":/usr/bin:/bin sh " + script).c_str()), 0);
    auto slurp = [&](const std::string& name) {
      std::ifstream in(dir_ / name, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      return ss.str();
    };
    EXPECT_EQ(slurp("iptables-restore.in"), revert ? s.revert_v4 : s.restore_v4);
    EXPECT_EQ(slurp("ip6tables-restore.in"), revert ? s.revert_v6 : s.restore_v6);
    EXPECT_EQ(slurp("iptables-restore.args"), "--noflush\n");
    EXPECT_EQ(slurp("ip6tables-restore.args"), "--noflush\n");
  }
}

TEST_F(ToolTest, IptablesRestoreAcceptsOutput) {
  if (!Usable("printf '*filter\\nCOMMIT\\n' | iptables-restore --test") ||
      !Usable("printf '*filter\\nCOMMIT\\n' | ip6tables-restore --test")) {
    GTEST_SKIP() << "iptables-restore --test is not available or not usable here";
  }
  for (RuleAction action : {RuleAction::kDrop, RuleAction::kReject}) {
    RuleScripts s = Sample(Ipt("INPUT", action));
    EXPECT_EQ(s.refused.size(), 1u);
    EXPECT_EQ(Run("iptables-restore --test < " + Write("v4", s.restore_v4)), 0) << s.restore_v4;
    EXPECT_EQ(Run("ip6tables-restore --test < " + Write("v6", s.restore_v6)), 0) << s.restore_v6;
    // -D of rules that are not there passes --test only with the nf_tables
    // back end (legacy checks the kernel's table).
    if (Usable("iptables-restore --version | grep -q nf_tables")) {
      EXPECT_EQ(Run("iptables-restore --test < " + Write("r4", s.revert_v4)), 0) << s.revert_v4;
      EXPECT_EQ(Run("ip6tables-restore --test < " + Write("r6", s.revert_v6)), 0) << s.revert_v6;
    }
  }
  // The checker does reject a broken line, so the passes above mean something.
  EXPECT_NE(Run("iptables-restore --test < " +
                Write("bad", "*filter\n-A INPUT -s 1.2.3.4; -j DROP\nCOMMIT\n")),
            0);
}

TEST_F(ToolTest, NftAcceptsOutput) {
  if (!Usable("echo 'add table inet logtally_probe' | nft -c -f -")) {
    GTEST_SKIP() << "nft -c is not available or not usable here";
  }
  for (const char* chain : {"input", "forward", "output"}) {
    for (RuleAction action : {RuleAction::kDrop, RuleAction::kReject}) {
      RuleScripts s = Sample(Nft(chain, action));
      EXPECT_EQ(s.refused.size(), 1u);
      EXPECT_EQ(Run("nft -c -f " + Write("apply.nft", s.apply)), 0) << s.apply;
      EXPECT_EQ(Run("nft -c -f " + Write("revert.nft", s.revert)), 0) << s.revert;
    }
  }
  EXPECT_NE(Run("nft -c -f " + Write("bad.nft",
                                     "add rule inet logtally input ip saddr 1.2.3.4; "
                                     "drop\n")),
            0);
}

// Apply and revert for real, inside a private network namespace (so the
// machine's own firewall is never touched): the rules appear, and revert
// removes exactly them. Needs root, unshare(1) and the tools.
TEST_F(ToolTest, ApplyAndRevertInPrivateNetworkNamespace) {
  if (!Usable("unshare --net true")) GTEST_SKIP() << "cannot create a network namespace here";
  const bool ipt = Usable("unshare --net sh -c 'iptables-save && ip6tables-save'") &&
                   Usable("command -v iptables-restore && command -v ip6tables-restore");
  const bool nft = Usable("unshare --net nft list ruleset");
  if (!ipt && !nft) GTEST_SKIP() << "neither iptables nor nft is usable here";
  if (ipt) {
    RuleScripts s = Sample(Ipt());
    std::string apply = Write("apply.sh", s.apply);
    std::string revert = Write("revert.sh", s.revert);
    std::string out = (dir_ / "counts").string();
    // Counts of logtally rules after: apply; apply again; revert; revert; and
    // whether a third revert fails (nothing left to delete).
    std::string check =
        Write("check.sh",
              "n() { { iptables-save; ip6tables-save; } | grep -c 'logtally: ' || true; }\n"
              "sh " +
                  apply + " && n && sh " + apply + " && n && sh " + revert + " && n && sh " +
                  revert + " && n && if sh " + revert +
                  " 2>/dev/null; then echo ok; else echo fails; "
                  "fi\n");
    ASSERT_EQ(std::system(("unshare --net sh " + check + " > " + out).c_str()), 0);
    std::ifstream in(out);
    std::stringstream ss;
    ss << in.rdbuf();
    // Sample() has 10 valid rows: 8 IPv4-only, 2 IPv6-only, none in both.
    EXPECT_EQ(ss.str(), "10\n20\n10\n0\nfails\n");
  }
  if (nft) {
    RuleScripts s = Sample(Nft("forward", RuleAction::kReject));
    std::string apply = Write("apply.nft", s.apply);
    std::string revert = Write("revert.nft", s.revert);
    std::string out = (dir_ / "nft_counts").string();
    // Applying twice replaces the table; reverting twice is harmless.
    std::string check = Write("check_nft.sh",
                              "n() { nft list ruleset | grep -c 'comment \"logtally: ' || true; }\n"
                              "nft -f " +
                                  apply + " && nft -f " + apply + " && n && nft -f " + revert +
                                  " && nft -f " + revert + " && nft list ruleset | wc -l\n");
    ASSERT_EQ(std::system(("unshare --net sh " + check + " > " + out).c_str()), 0);
    std::ifstream in(out);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), "10\n0\n");
  }
}

}  // namespace
}  // namespace logtally::engine
