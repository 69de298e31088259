// Port names (engine/port_names.h): the generated table agrees with the
// committed data file, protocols are matched case-insensitively, and values
// that are not ports or protocols with ports give no name.
#include "engine/port_names.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace logtally::engine {
namespace {

std::string N(std::string_view proto, std::string_view port) {
  return std::string(PortName(proto, port));
}

std::filesystem::path ServicesTxt() {
#ifdef LOGTALLY_SERVICES_TXT
  return LOGTALLY_SERVICES_TXT;
#else
  // tests/engine/this_file.cc -> engine/data/services.txt
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "engine" /
         "data" / "services.txt";
#endif
}

TEST(PortNamesTest, WellKnown) {
  EXPECT_EQ(N("TCP", "22"), "ssh");
  EXPECT_EQ(N("TCP", "53"), "domain");
  EXPECT_EQ(N("UDP", "53"), "domain");
  EXPECT_EQ(N("UDP", "123"), "ntp");
  EXPECT_EQ(N("TCP", "80"), "http");
  EXPECT_EQ(N("TCP", "443"), "https");
  EXPECT_EQ(N("TCP", "143"), "imap2");  // the first name, not the alias `imap`
  EXPECT_EQ(N("TCP", "8080"), "http-alt");
  EXPECT_EQ(N("TCP", "853"), "domain-s");
  EXPECT_EQ(N("SCTP", "5672"), "amqp");
  EXPECT_EQ(N("TCP", "1"), "tcpmux");
}

TEST(PortNamesTest, ProtocolMatters) {
  EXPECT_EQ(N("UDP", "22"), "");   // ssh is tcp only in the file
  EXPECT_EQ(N("TCP", "123"), "");  // ntp is udp only
  EXPECT_EQ(N("tcp", "22"), "ssh");
  EXPECT_EQ(N("Tcp", "22"), "ssh");
  EXPECT_EQ(N("udp", "53"), "domain");
  EXPECT_EQ(N("sctp", "5672"), "amqp");
  EXPECT_EQ(N("DCCP", "22"), "");  // no dccp entries
  EXPECT_EQ(N("UDPLITE", "53"), "");
  EXPECT_EQ(N("ICMP", "53"), "");
  EXPECT_EQ(N("6", "22"), "");  // a protocol number is not a name
  EXPECT_EQ(N("", "22"), "");
  EXPECT_EQ(N("ddp", "1"), "");  // AppleTalk lines are skipped
  EXPECT_EQ(N("TCPX", "22"), "");
  EXPECT_EQ(N("TC", "22"), "");
}

TEST(PortNamesTest, NotAPort) {
  for (const char* bad :
       {"", "0x16", "-22", "22 ", " 22", "2.2", "99999", "65536", "123456", "22\n", "+22"}) {
    EXPECT_EQ(N("TCP", bad), "") << bad;
  }
  EXPECT_EQ(N("TCP", std::string("22\0", 3)), "");
  EXPECT_EQ(N("TCP", "022"), "ssh");  // still the number 22
  EXPECT_EQ(N("TCP", "0"), "");
  EXPECT_EQ(N("TCP", "65535"), "");
}

TEST(PortNamesTest, EveryPortOfEveryProtocol) {
  // No crash, and names only where the file has them (spot-checked below).
  size_t named = 0;
  for (const char* proto : {"TCP", "UDP", "SCTP", "DCCP", "ICMP"}) {
    for (int p = 0; p <= 65535; ++p) {
      std::string_view n = PortName(proto, std::to_string(p));
      if (!n.empty()) ++named;
      for (char c : n)
        ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                    c == '.' || c == '+');
    }
  }
  EXPECT_GT(named, 300u);
}

TEST(PortNamesTest, AgreesWithDataFile) {
  std::ifstream in(ServicesTxt());
  if (!in) GTEST_SKIP() << "no data file at " << ServicesTxt();
  std::string line;
  // First line for a port/protocol wins, as in the generator.
  std::map<std::pair<std::string, std::string>, std::string> first;
  bool provenance = false;
  while (std::getline(in, line)) {
    if (line.find("netbase") != std::string::npos) provenance = true;
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    std::string name, port_proto;
    if (!(words >> name >> port_proto)) continue;
    size_t slash = port_proto.find('/');
    ASSERT_NE(slash, std::string::npos) << line;
    first.emplace(std::pair{port_proto.substr(slash + 1), port_proto.substr(0, slash)}, name);
  }
  EXPECT_TRUE(provenance) << "the data file's header names its source";
  size_t checked = 0;
  for (const auto& [key, name] : first) {
    const auto& [proto, port] = key;
    if (proto == "ddp") continue;
    EXPECT_EQ(N(proto, port), name) << port << "/" << proto;
    ++checked;
  }
  EXPECT_GT(checked, 300u);
}

}  // namespace
}  // namespace logtally::engine
