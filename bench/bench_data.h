// Shared input for the micro-benchmarks: the real netfilter samples from
// ../shared/samples/real concatenated and repeated to a fixed size, so every
// stage is measured on the line-length and field mix of real logs.
#ifndef LOGTALLY_BENCH_BENCH_DATA_H_
#define LOGTALLY_BENCH_BENCH_DATA_H_

#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace logtally::bench {

// About 64 MiB: far larger than the caches, so memory behaviour is real.
inline constexpr size_t kBenchBytes = size_t{64} << 20;

inline const std::string& SampleText() {
  static const std::string text = [] {
    std::vector<std::string> names;
    if (DIR* d = opendir(LOGTALLY_SAMPLES_DIR)) {
      while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 4 && n.substr(n.size() - 4) == ".log") names.push_back(n);
      }
      closedir(d);
    }
    std::sort(names.begin(), names.end());
    std::string one;
    for (const auto& n : names) {
      std::ifstream f(std::string(LOGTALLY_SAMPLES_DIR) + "/" + n, std::ios::binary);
      std::stringstream ss;
      ss << f.rdbuf();
      one += ss.str();
      if (!one.empty() && one.back() != '\n') one.push_back('\n');
    }
    if (one.empty()) {
      one = "Mar  5 14:59:59 gw kernel: [1.2] NEW-OUTBOUND IN=eth1 OUT=eth0 SRC=10.0.0.1 "
            "DST=1.2.3.4 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=1 DPT=443 "
            "WINDOW=1 RES=0x00 SYN URGP=0\n";
    }
    std::string out;
    out.reserve(kBenchBytes + one.size());
    while (out.size() < kBenchBytes) out += one;
    return out;
  }();
  return text;
}

}  // namespace logtally::bench

#endif  // LOGTALLY_BENCH_BENCH_DATA_H_
