// Record parsing and key building: bytes/s of LineEvaluator per key shape,
// checked against the number of records the sample holds.
#include "bench/bench_data.h"
#include "benchmark/benchmark.h"
#include "engine/query.h"
#include "engine/simd/kernels.h"

namespace logtally::bench {
namespace {

void BM_Evaluate(benchmark::State& state, const char* key, std::vector<std::string> where) {
  const std::string& text = SampleText();
  auto q = engine::Query::Parse(key, where);
  if (!q.ok()) {
    state.SkipWithError("bad query");
    return;
  }
  const auto& k = engine::simd::ActiveKernels();
  engine::LineEvaluator eval(*q, k);
  size_t first_counted = 0;
  bool first = true;
  for (auto _ : state) {
    const char* p = text.data();
    const char* end = p + text.size();
    size_t counted = 0;
    while (p < end) {
      const char* nl = k.find_newline(p, end);
      bool rec;
      if (eval.Evaluate(p, static_cast<size_t>(nl - p), &rec) ==
          engine::LineEvaluator::Outcome::kCounted) {
        ++counted;
        benchmark::DoNotOptimize(eval.key().data());
      }
      p = nl + 1;
    }
    if (first) {
      first_counted = counted;
      first = false;
    }
    if (counted != first_counted || counted == 0) state.SkipWithError("unstable or empty count");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetLabel(key);
}

BENCHMARK_CAPTURE(BM_Evaluate, dst_dpt_proto, "DST,DPT,PROTO", {});
BENCHMARK_CAPTURE(BM_Evaluate, src_spt_dst_dpt, "SRC,SPT,DST,DPT", {});
BENCHMARK_CAPTURE(BM_Evaluate, prefix_host, "PREFIX,HOST", {});
BENCHMARK_CAPTURE(BM_Evaluate, filtered_dpt53, "SRC,DST", {"DPT=53", "PROTO=UDP"});
BENCHMARK_CAPTURE(BM_Evaluate, words_1_5, "$1,$5", {});
BENCHMARK_CAPTURE(BM_Evaluate, line, "line", {});

}  // namespace
}  // namespace logtally::bench
