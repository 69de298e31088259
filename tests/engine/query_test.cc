// Key and condition parsing and per-line evaluation; IP and CIDR parsing.
#include "engine/key.h"
#include "engine/query.h"

#include <string>

#include "engine/ip.h"
#include "gtest/gtest.h"

namespace logtally::engine {
namespace {

TEST(IpTest, ParsesV4AndV6) {
  IpAddr a;
  EXPECT_TRUE(ParseIp("192.168.1.1", &a));
  EXPECT_FALSE(a.v6);
  EXPECT_FALSE(ParseIp("256.1.1.1", &a));
  EXPECT_FALSE(ParseIp("1.2.3", &a));
  EXPECT_FALSE(ParseIp("1.2.3.4.5", &a));
  EXPECT_FALSE(ParseIp("010.1.1.1", &a));  // leading zeros: ambiguous, refused
  EXPECT_TRUE(ParseIp("10.0.0.0", &a));
  EXPECT_TRUE(ParseIp("2001:0db8:0000:f101:0000:0000:0000:0002", &a));
  EXPECT_TRUE(a.v6);
  IpAddr b;
  EXPECT_TRUE(ParseIp("2001:db8:0:f101::2", &b));
  EXPECT_EQ(a.bytes, b.bytes);
  EXPECT_TRUE(ParseIp("::", &b));
  EXPECT_TRUE(ParseIp("::1", &b));
  EXPECT_EQ(b.bytes[15], 1);
  EXPECT_TRUE(ParseIp("fe80::", &b));
  EXPECT_TRUE(ParseIp("::ffff:1.2.3.4", &b));
  EXPECT_EQ(b.bytes[10], 0xff);
  EXPECT_EQ(b.bytes[15], 4);
  EXPECT_FALSE(ParseIp("1::2::3", &b));
  EXPECT_FALSE(ParseIp("1:2:3:4:5:6:7:8:9", &b));
  EXPECT_FALSE(ParseIp("12345::", &b));
  EXPECT_FALSE(ParseIp(":1", &b));
  EXPECT_FALSE(ParseIp("1:", &b));
}

TEST(IpTest, Cidr) {
  Cidr c;
  IpAddr a;
  ASSERT_TRUE(ParseCidr("10.0.0.0/8", &c));
  ASSERT_TRUE(ParseIp("10.200.3.4", &a));
  EXPECT_TRUE(CidrContains(c, a));
  ASSERT_TRUE(ParseIp("11.0.0.1", &a));
  EXPECT_FALSE(CidrContains(c, a));
  ASSERT_TRUE(ParseCidr("2001:db8::/32", &c));
  ASSERT_TRUE(ParseIp("2001:0db8:0000:f101:0000:0000:0000:0002", &a));
  EXPECT_TRUE(CidrContains(c, a));
  ASSERT_TRUE(ParseIp("10.0.0.1", &a));
  EXPECT_FALSE(CidrContains(c, a));  // other family
  ASSERT_TRUE(ParseCidr("192.168.1.128/25", &c));
  ASSERT_TRUE(ParseIp("192.168.1.200", &a));
  EXPECT_TRUE(CidrContains(c, a));
  ASSERT_TRUE(ParseIp("192.168.1.100", &a));
  EXPECT_FALSE(CidrContains(c, a));
  EXPECT_FALSE(ParseCidr("10.0.0.0/33", &c));
  EXPECT_TRUE(ParseCidr("0.0.0.0/0", &c));
}

struct Eval {
  explicit Eval(const std::string& k, std::vector<std::string> w = {})
      : q(*Query::Parse(k, w)), e(q, simd::ActiveKernels()) {}
  LineEvaluator::Outcome Run(const std::string& line) {
    bool rec;
    return e.Evaluate(line.data(), line.size(), &rec);
  }
  Query q;
  LineEvaluator e;
};

using O = LineEvaluator::Outcome;

TEST(QueryTest, ParseErrors) {
  EXPECT_FALSE(Query::Parse("", {}).ok());
  EXPECT_FALSE(Query::Parse("DST,,DPT", {}).ok());
  EXPECT_FALSE(Query::Parse("DST,DST", {}).ok());
  EXPECT_FALSE(Query::Parse("$0", {}).ok());
  EXPECT_TRUE(Query::Parse("service,day,hour,DPT.name,SRC/24", {}).ok());
  EXPECT_FALSE(Query::Parse("services", {}).ok());
  EXPECT_FALSE(Query::Parse("SRC/129", {}).ok());
  EXPECT_FALSE(Query::Parse("PROTO.name", {}).ok());
  EXPECT_FALSE(Query::Parse("DST", {"DPT"}).ok());
  EXPECT_FALSE(Query::Parse("DST", {"=5"}).ok());
  EXPECT_FALSE(Query::Parse("DST", {"DPT=9-1"}).ok());
  EXPECT_TRUE(Query::Parse("DST,$3,line,TIME", {"DPT=1-2", "SRC!=10.0.0.0/8"}).ok());
}

TEST(QueryTest, Conditions) {
  std::string l53 = "IN=a OUT= SRC=10.1.2.3 PROTO=UDP SPT=1 DPT=53";
  std::string l5353 = "IN=a OUT= SRC=192.168.0.9 PROTO=UDP SPT=1 DPT=5353";
  std::string icmp = "IN=a OUT= SRC=10.1.2.3 PROTO=ICMP TYPE=8";
  std::string other = "eth0: link up DPT=53";
  {
    Eval e("SRC", {"DPT=53"});
    EXPECT_EQ(e.Run(l53), O::kCounted);
    EXPECT_EQ(e.Run(l5353), O::kFiltered);
    EXPECT_EQ(e.Run(icmp), O::kFiltered);
    EXPECT_EQ(e.Run(other), O::kOther);
  }
  {
    Eval e("SRC", {"DPT!=53,80"});
    EXPECT_EQ(e.Run(l53), O::kFiltered);
    EXPECT_EQ(e.Run(l5353), O::kCounted);
    EXPECT_EQ(e.Run(icmp), O::kCounted);  // missing field: != holds
  }
  {
    Eval e("$1", {"DPT!=53"});
    EXPECT_EQ(e.Run(other), O::kFiltered);  // netfilter condition false on other lines
  }
  {
    Eval e("$1");
    EXPECT_EQ(e.Run(other), O::kCounted);  // words count every line
  }
  {
    Eval e("SRC", {"DPT=50-60,5000-6000"});
    EXPECT_EQ(e.Run(l53), O::kCounted);
    EXPECT_EQ(e.Run(l5353), O::kCounted);
    EXPECT_EQ(e.Run(icmp), O::kFiltered);
  }
  {
    Eval e("DPT", {"SRC=10.0.0.0/8"});
    EXPECT_EQ(e.Run(l53), O::kCounted);
    EXPECT_EQ(e.Run(l5353), O::kFiltered);
  }
  {
    Eval e("SRC", {"TYPE="});
    EXPECT_EQ(e.Run(l53), O::kCounted);   // empty alternative matches missing
    EXPECT_EQ(e.Run(icmp), O::kFiltered);
  }
  {
    Eval e("SRC", {"PROTO=UDP", "SPT=1"});
    EXPECT_EQ(e.Run(l53), O::kCounted);
    EXPECT_EQ(e.Run(icmp), O::kFiltered);
  }
}

TEST(QueryTest, KeyEncodingSeparatesMissingFromDash) {
  std::string a, b;
  AppendKeyValue(a, "");
  AppendKeyValue(b, "-");
  EXPECT_NE(a, b);
  std::string k;
  AppendKeyValue(k, "x y");
  AppendKeyValue(k, "");
  AppendKeyValue(k, std::string(300, 'z'));
  std::string_view v[3];
  DecodeKey(k, 3, v);
  EXPECT_EQ(v[0], "x y");
  EXPECT_EQ(v[1], "");
  EXPECT_EQ(v[2], std::string(300, 'z'));
}

}  // namespace
}  // namespace logtally::engine
