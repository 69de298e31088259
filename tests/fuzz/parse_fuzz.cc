// Fuzz target for the record parser and query evaluation: any bytes are cut
// into lines and evaluated under several queries with every SIMD kernel. The
// kernels must agree exactly (outcome, record flag, encoded key), and nothing
// may crash, hang or trip a sanitizer.
//
// Built with clang -fsanitize=fuzzer it is a libFuzzer target. Built with
// -DLOGTALLY_FUZZ_STANDALONE it has its own main(): `parse_fuzz FILE...`
// replays files; `parse_fuzz [--seconds=S] [--seed=X]` mutates built-in seed
// lines (bit flips, byte changes, truncations, splices, repeats) for S
// seconds (default 10), so CI can run it without clang.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/query.h"
#include "engine/simd/kernels.h"

namespace {

using logtally::engine::LineEvaluator;
using logtally::engine::Query;

struct Harness {
  std::vector<std::unique_ptr<Query>> queries;
  Harness() {
    const std::vector<std::pair<std::string, std::vector<std::string>>> specs = {
        {"DST,DPT,PROTO", {}},
        {"SRC,SPT,DST,DPT,IN,OUT,MAC", {"PROTO!=ICMP"}},
        {"TIME,HOST,PREFIX", {}},
        {"service,DPT.name,SRC/24,DST/64", {"DPT=1-65535,0x50"}},
        {"day,hour,$2,line", {"SRC=10.0.0.0/8,2001:db8::/32"}},
        {".a.b,.MESSAGE,DST,HOST", {}},
    };
    for (const auto& [k, w] : specs) {
      auto q = Query::Parse(k, w);
      if (!q.ok()) std::abort();
      queries.push_back(std::make_unique<Query>(std::move(*q)));
    }
  }
};

void CheckOne(const uint8_t* data, size_t size) {
  static Harness h;
  static const auto kernels = logtally::engine::simd::SupportedKernels();
  // Cut into lines as the engine does.
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i <= size; ++i) {
    if (i == size || data[i] == '\n') {
      if (i > start || i < size) lines.emplace_back(reinterpret_cast<const char*>(data) + start, i - start);
      start = i + 1;
    }
  }
  for (int json = 0; json < 2; ++json)
  for (const auto& q : h.queries) {
    std::vector<std::unique_ptr<LineEvaluator>> evals;
    for (const auto* k : kernels) {
      evals.push_back(std::make_unique<LineEvaluator>(*q, *k));
      evals.back()->SetJson(json == 1);
    }
    for (const std::string& line : lines) {
      // Each line gets its own heap buffer of exactly its size, so ASan sees
      // any read past its end.
      std::unique_ptr<char[]> exact(new char[line.size() + 1]);
      std::memcpy(exact.get(), line.data(), line.size());
      bool rec0 = false;
      auto out0 = evals[0]->Evaluate(exact.get(), line.size(), &rec0);
      std::string key0(evals[0]->key());
      for (size_t i = 1; i < evals.size(); ++i) {
        bool rec = false;
        auto out = evals[i]->Evaluate(exact.get(), line.size(), &rec);
        if (out != out0 || rec != rec0 ||
            (out == LineEvaluator::Outcome::kCounted && evals[i]->key() != key0)) {
          std::fprintf(stderr, "parse_fuzz: kernels %s and %s disagree on a line of %zu bytes\n",
                       kernels[0]->name, kernels[i]->name, line.size());
          std::ofstream("parse_fuzz_failure.bin", std::ios::binary).write(line.data(), static_cast<std::streamsize>(line.size()));
          std::abort();
        }
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckOne(data, size);
  return 0;
}

#ifdef LOGTALLY_FUZZ_STANDALONE
int main(int argc, char** argv) {
  double seconds = 10;
  uint64_t seed = 1;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--seconds=", 0) == 0) {
      seconds = std::atof(a.c_str() + 10);
    } else if (a.rfind("--seed=", 0) == 0) {
      seed = std::strtoull(a.c_str() + 7, nullptr, 10);
    } else {
      files.push_back(a);
    }
  }
  if (!files.empty()) {
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string s = ss.str();
      CheckOne(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    }
    return 0;
  }
  const std::vector<std::string> seeds = {
      "Mar  5 14:59:59 gw kernel: [158144.383443] NEW-OUTBOUND IN=eth1 OUT=eth0 MAC=00:0d:b9 "
      "SRC=192.168.1.171 DST=195.10.245.186 LEN=52 TOS=0x00 TTL=127 ID=48608 DF PROTO=TCP SPT=59353 "
      "DPT=443 WINDOW=64240 RES=0x00 SYN URGP=0 ",
      "<6>2021-03-12T14:10:18Z Hostname kernel: [wan-lan-default-D]IN=eth0 OUT= SRC=67.43.156.15 "
      "DST=10.4.0.5 PROTO=ICMP TYPE=3 CODE=3 [SRC=10.4.0.5 DST=1.2.3.4 PROTO=UDP SPT=5 DPT=53 [x] ] MTU=1500",
      "Apr 11 01:56:51 HP kernel: [ 7672.882697] [UFW BLOCK] IN=wlo1 OUT= MAC= SRC=fe80:0000::1 "
      "DST=ff02::1 LEN=72 TC=0 HOPLIMIT=255 FLOWLBL=0 PROTO=ICMPv6 TYPE=135 CODE=0",
      "Shorewall:wlan0_mac:DROP:IN=wlan0 OUT= SRC=1.2.3.4 PROTO=2 DROPIN=x OUT= PHYSIN=a",
      "0 3 PVEFW-HOST-IN 20/Jun/2022:13:09:14 +0200 policy DROP: IN=vmbr0.94 PROTO=UDPLITE INCOMPLETE [65 bytes]",
      "{\"__REALTIME_TIMESTAMP\":\"1709913600577348\",\"_HOSTNAME\":\"gw\",\"MESSAGE\":\"X IN=eth1 OUT= "
      "SRC=1.2.3.4 DST=5.6.7.8 PROTO=UDP DPT=53\",\"_TRANSPORT\":\"kernel\"}",
      "{\"src_ip\":\"2001:db8::1\",\"dest_ip\":\"10.0.0.1\",\"ip.protocol\":6,\"dest_port\":443,"
      "\"oob.prefix\":\"DROP \",\"timestamp\":\"2024-03-08T17:00:00.5+0100\",\"a\":{\"b\":[1,{\"c\":null}]}}",
      "{\"MESSAGE\":[73,78,61,255,32,79,85,84,61],\"_TRANSPORT\":\"kernel\"}",
  };
  std::mt19937_64 rng(seed);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t n = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string s = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      size_t pos = rng() % s.size();
      switch (rng() % 7) {
        case 0: s[pos] = static_cast<char>(s[pos] ^ (1 << (rng() % 8))); break;
        case 1: s[pos] = " =[]\n\r\0IN:"[rng() % 10]; break;
        case 2: s.resize(pos); break;
        case 3: s.insert(pos, seeds[rng() % seeds.size()].substr(0, rng() % 80)); break;
        case 4: s.insert(pos, std::string(rng() % 200, "[ ]="[rng() % 4])); break;
        case 5: s.erase(pos, rng() % 20); break;
        case 6: s += s.substr(0, std::min<size_t>(s.size(), 5000)); break;
      }
    }
    CheckOne(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    ++n;
  }
  std::printf("parse_fuzz: %llu inputs, no failure\n", static_cast<unsigned long long>(n));
  return 0;
}
#endif
