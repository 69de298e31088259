// Service categories (engine/services.h): the built-in table of SPEC section
// 3, --services FILE parsing and its errors, first-match-wins, protocols.
#include "engine/services.h"

#include <string>

#include "gtest/gtest.h"

namespace logtally::engine {
namespace {

std::string C(const ServiceTable& t, std::string_view proto, std::string_view dpt) {
  return std::string(t.Classify(proto, dpt));
}

ServiceTable MustParse(std::string_view text) {
  absl::StatusOr<ServiceTable> t = ServiceTable::Parse(text, "svc.conf");
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *std::move(t) : ServiceTable::Builtin();
}

std::string ParseError(std::string_view text) {
  absl::StatusOr<ServiceTable> t = ServiceTable::Parse(text, "svc.conf");
  EXPECT_FALSE(t.ok()) << text;
  if (t.ok()) return "<ok>";
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(t.status().message());
}

TEST(BuiltinServicesTest, SpecTable) {
  const ServiceTable& t = ServiceTable::Builtin();
  EXPECT_EQ(C(t, "UDP", "53"), "dns");
  EXPECT_EQ(C(t, "TCP", "53"), "dns");  // any protocol
  EXPECT_EQ(C(t, "UDP", "123"), "ntp");
  EXPECT_EQ(C(t, "TCP", "80"), "http");
  EXPECT_EQ(C(t, "TCP", "443"), "https");
  EXPECT_EQ(C(t, "UDP", "443"), "https");  // QUIC
  EXPECT_EQ(C(t, "TCP", "22"), "ssh");
  EXPECT_EQ(C(t, "TCP", "25"), "smtp");
  EXPECT_EQ(C(t, "TCP", "465"), "smtp");
  EXPECT_EQ(C(t, "TCP", "587"), "smtp");
  EXPECT_EQ(C(t, "TCP", "143"), "imap");
  EXPECT_EQ(C(t, "TCP", "993"), "imap");
  EXPECT_EQ(C(t, "SCTP", "80"), "http");
  EXPECT_EQ(C(t, "UDPLITE", "53"), "dns");
  EXPECT_EQ(C(t, "", "53"), "dns");  // a DPT without PROTO still has a port
  // The grep traps of SPEC section 1: exact port numbers only.
  EXPECT_EQ(C(t, "TCP", "8080"), "other");
  EXPECT_EQ(C(t, "TCP", "8000"), "other");
  EXPECT_EQ(C(t, "UDP", "5353"), "other");
  EXPECT_EQ(C(t, "TCP", "2222"), "other");
  EXPECT_EQ(C(t, "TCP", "0"), "other");
  EXPECT_EQ(C(t, "TCP", "65535"), "other");
  // Leading zeros are still the number.
  EXPECT_EQ(C(t, "UDP", "053"), "dns");
  EXPECT_EQ(C(t, "UDP", "00053"), "dns");
  std::vector<std::string> want = {"dns", "ntp", "http", "https", "ssh", "smtp", "imap"};
  EXPECT_EQ(t.categories(), want);
}

TEST(BuiltinServicesTest, NotAPort) {
  const ServiceTable& t = ServiceTable::Builtin();
  for (const char* bad : {"0x50", "65536", "999999", "-1", "53 ", " 53", "5.3", "53a", "+53",
                          "000053", "\x35\x33\n"}) {
    EXPECT_EQ(C(t, "TCP", bad), "other") << bad;
  }
  EXPECT_EQ(C(t, "TCP", std::string("53\0", 3)), "other");
}

TEST(BuiltinServicesTest, NoPortMeansProtocol) {
  const ServiceTable& t = ServiceTable::Builtin();
  EXPECT_EQ(C(t, "ICMP", ""), "icmp");
  EXPECT_EQ(C(t, "ICMPv6", ""), "icmpv6");
  EXPECT_EQ(C(t, "IGMP", ""), "igmp");
  EXPECT_EQ(C(t, "2", ""), "2");  // the kernel writes IGMP as a number
  EXPECT_EQ(C(t, "47", ""), "47");
  EXPECT_EQ(C(t, "ESP", ""), "esp");
  EXPECT_EQ(C(t, "AH", ""), "ah");
  EXPECT_EQ(C(t, "UDPLITE", ""), "udplite");
  EXPECT_EQ(C(t, "TCP", ""), "tcp");  // a TCP record with no DPT (truncated)
  EXPECT_EQ(C(t, "", ""), "");        // nothing at all: printed as `-`
  EXPECT_EQ(C(t, "icmp", ""), "icmp");
  // An unknown name is lower-cased into the scratch string.
  std::string scratch;
  EXPECT_EQ(t.Classify("FooBar", "", &scratch), "foobar");
  EXPECT_EQ(C(t, "FOO\xff", ""), "foo\xff");
  // Already lower case: returned as it is (a view into the argument).
  std::string p = "xyz";
  std::string_view v = t.Classify(p, "");
  EXPECT_EQ(v.data(), p.data());
}

TEST(ServicesFileTest, FormatAndFirstMatchWins) {
  ServiceTable t = MustParse(
      "# my categories\n"
      "\n"
      "dns 53,853/tcp   # DoT too\n"
      "dns 53/udp\n"
      "web 80,443,8000-8099\n"
      "\tweb-alt\t8080\n"  // covered by the range above: never wins
      "high 1024-65535 # the rest\n"
      "zero 0\r\n"
      "quic 443/UDP\n");  // after `web 443`: never wins
  EXPECT_EQ(C(t, "TCP", "53"), "dns");
  EXPECT_EQ(C(t, "TCP", "853"), "dns");
  EXPECT_EQ(C(t, "UDP", "853"), "other");  // 853/tcp only
  EXPECT_EQ(C(t, "UDP", "53"), "dns");
  EXPECT_EQ(C(t, "SCTP", "53"), "other");
  EXPECT_EQ(C(t, "TCP", "80"), "web");
  EXPECT_EQ(C(t, "UDP", "443"), "web");
  EXPECT_EQ(C(t, "TCP", "8000"), "web");
  EXPECT_EQ(C(t, "TCP", "8080"), "web");
  EXPECT_EQ(C(t, "TCP", "8099"), "web");
  EXPECT_EQ(C(t, "TCP", "8100"), "high");
  EXPECT_EQ(C(t, "TCP", "65535"), "high");
  EXPECT_EQ(C(t, "TCP", "1024"), "high");
  EXPECT_EQ(C(t, "TCP", "1023"), "other");
  EXPECT_EQ(C(t, "TCP", "0"), "zero");
  EXPECT_EQ(C(t, "ICMP", ""), "icmp");  // still by protocol
  std::vector<std::string> want = {"dns", "web", "web-alt", "high", "zero", "quic"};
  EXPECT_EQ(t.categories(), want);
}

TEST(ServicesFileTest, ProtocolClasses) {
  ServiceTable t = MustParse(
      "a 1/tcp\n"
      "b 1/udp\n"
      "c 1/sctp\n"
      "d 1/udplite\n"
      "e 1/dccp\n"
      "f 1\n"
      "g 2/Tcp\n"
      "h 2\n");
  EXPECT_EQ(C(t, "TCP", "1"), "a");
  EXPECT_EQ(C(t, "tcp", "1"), "a");
  EXPECT_EQ(C(t, "UDP", "1"), "b");
  EXPECT_EQ(C(t, "SCTP", "1"), "c");
  EXPECT_EQ(C(t, "UDPLITE", "1"), "d");
  EXPECT_EQ(C(t, "DCCP", "1"), "e");
  EXPECT_EQ(C(t, "6", "1"), "f");  // a number is not a protocol name
  EXPECT_EQ(C(t, "", "1"), "f");
  EXPECT_EQ(C(t, "TCP", "2"), "g");
  EXPECT_EQ(C(t, "UDP", "2"), "h");
  // A proto-less line before a /proto line wins for every protocol.
  ServiceTable u = MustParse("any 5\nnever 5/tcp\n");
  EXPECT_EQ(C(u, "TCP", "5"), "any");
}

TEST(ServicesFileTest, EdgeCases) {
  ServiceTable empty = MustParse("");
  EXPECT_EQ(C(empty, "TCP", "53"), "other");
  EXPECT_EQ(C(empty, "UDP", "1"), "other");
  ServiceTable blank = MustParse("\n\n# only comments\n   \n\t\n");
  EXPECT_TRUE(blank.categories().empty());
  ServiceTable no_newline = MustParse("x 7");
  EXPECT_EQ(C(no_newline, "TCP", "7"), "x");
  ServiceTable all = MustParse("everything 0-65535\n");
  EXPECT_EQ(C(all, "TCP", "0"), "everything");
  EXPECT_EQ(C(all, "UDP", "65535"), "everything");
  ServiceTable names = MustParse("a_b-9 1\nother 2\nicmp 3\n");
  EXPECT_EQ(C(names, "TCP", "1"), "a_b-9");
  EXPECT_EQ(C(names, "TCP", "2"), "other");
  EXPECT_EQ(C(names, "TCP", "3"), "icmp");
  ServiceTable longest = MustParse(std::string(ServiceTable::kMaxNameLen, 'n') + " 1\n");
  EXPECT_EQ(C(longest, "TCP", "1"), std::string(ServiceTable::kMaxNameLen, 'n'));
  // A `#` glued to a word is not a comment.
  EXPECT_NE(ParseError("dns 53#x\n").find("bad port"), std::string::npos);
}

TEST(ServicesFileTest, ManyOverlappingLinesStayFast) {
  // 20000 lines each covering every port: filling writes each port once.
  std::string text;
  for (int i = 0; i < 20000; ++i) {
    text += 'n';
    text += std::to_string(i % 50);
    text += " 0-65535/tcp\n";
  }
  text += "late 80\n";
  ServiceTable t = MustParse(text);
  EXPECT_EQ(C(t, "TCP", "80"), "n0");
  EXPECT_EQ(C(t, "UDP", "80"), "late");
}

TEST(ServicesFileTest, Errors) {
  EXPECT_EQ(ParseError("dns\n"),
            "svc.conf:1: expected 'name port[,port|lo-hi...][/proto]', got 1 word");
  EXPECT_EQ(ParseError("# c\n\ndns 53 54\n"),
            "svc.conf:3: expected 'name port[,port|lo-hi...][/proto]', got 3 words");
  EXPECT_EQ(ParseError("dns 53, 54\n"),
            "svc.conf:1: expected 'name port[,port|lo-hi...][/proto]', got 3 words");
  EXPECT_EQ(ParseError("DNS 53\n"),
            "svc.conf:1: bad name 'DNS': use lower-case letters, digits, '_' and '-', at most 64");
  EXPECT_EQ(ParseError("ok 1\nd.ns 53\n").substr(0, 11), "svc.conf:2:");
  EXPECT_NE(ParseError(std::string(65, 'n') + " 1\n").find("bad name"), std::string::npos);
  EXPECT_EQ(ParseError("dns 65536\n"),
            "svc.conf:1: bad port '65536': expected a number from 0 to 65535");
  EXPECT_EQ(ParseError("dns -1\n"), "svc.conf:1: bad port '': expected a number from 0 to 65535");
  EXPECT_EQ(ParseError("dns 0x35\n"),
            "svc.conf:1: bad port '0x35': expected a number from 0 to 65535");
  EXPECT_EQ(ParseError("dns 999999\n"),
            "svc.conf:1: bad port '999999': expected a number from 0 to 65535");
  EXPECT_EQ(ParseError("dns 53,,54\n"), "svc.conf:1: empty port in '53,,54'");
  EXPECT_EQ(ParseError("dns 53,\n"), "svc.conf:1: empty port in '53,'");
  EXPECT_EQ(ParseError("dns 100-90\n"), "svc.conf:1: bad port range '100-90': 100 is above 90");
  EXPECT_EQ(ParseError("dns 1-2-3\n"),
            "svc.conf:1: bad port '2-3': expected a number from 0 to 65535");
  EXPECT_EQ(ParseError("dns 53/icmp\n"),
            "svc.conf:1: unknown protocol 'icmp': expected tcp, udp, sctp, udplite or dccp");
  EXPECT_EQ(ParseError("dns 53/\n"),
            "svc.conf:1: unknown protocol '': expected tcp, udp, sctp, udplite or dccp");
  EXPECT_EQ(ParseError("dns 53/tcp/udp\n"),
            "svc.conf:1: unknown protocol 'tcp/udp': expected tcp, udp, sctp, udplite or dccp");
  EXPECT_EQ(ParseError("dns /tcp\n"), "svc.conf:1: empty port in '/tcp'");
  // Hostile bytes are shown escaped, and bounded.
  std::string msg = ParseError(std::string("d\x1b[31m\0s 53\n", 12));
  EXPECT_EQ(msg,
            "svc.conf:1: bad name 'd\\x1b[31m\\x00s': use lower-case letters, digits, '_' "
            "and '-', at most 64");
  msg = ParseError("x " + std::string(100000, '9') + "\n");
  EXPECT_LT(msg.size(), 200u);
  msg = ParseError("x 53/\xff\xfe\n");
  EXPECT_NE(msg.find("'\\xff\\xfe'"), std::string::npos);
  // The line number counts every line, blank and comment lines included.
  EXPECT_EQ(ParseError("\n#\n\na 1\r\nb 2\nc x\n").substr(0, 11), "svc.conf:6:");
}

}  // namespace
}  // namespace logtally::engine
