// Scan kernels: bytes/s of line splitting and record finding per kernel.
#include <algorithm>

#include "bench/bench_data.h"
#include "benchmark/benchmark.h"
#include "engine/simd/kernels.h"

namespace logtally::bench {
namespace {

void BM_FindNewline(benchmark::State& state, const engine::simd::Kernels* k) {
  const std::string& text = SampleText();
  const size_t expected = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  for (auto _ : state) {
    const char* p = text.data();
    const char* end = p + text.size();
    size_t lines = 0;
    while (p < end) {
      const char* nl = k->find_newline(p, end);
      lines += nl < end;
      p = nl + 1;
    }
    if (lines != expected) state.SkipWithError("wrong line count");
    benchmark::DoNotOptimize(lines);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_FindRecords(benchmark::State& state, const engine::simd::Kernels* k) {
  // Line split plus the "IN=" search: the work every line costs.
  const std::string& text = SampleText();
  size_t expected = 0;
  {
    const auto& ref = engine::simd::ScalarKernels();
    const char* p = text.data();
    const char* end = p + text.size();
    while (p < end) {
      const char* nl = ref.find_newline(p, end);
      expected += ref.find_in_eq(p, nl) < nl;
      p = nl + 1;
    }
  }
  for (auto _ : state) {
    const char* p = text.data();
    const char* end = p + text.size();
    size_t found = 0;
    while (p < end) {
      const char* nl = k->find_newline(p, end);
      found += k->find_in_eq(p, nl) < nl;
      p = nl + 1;
    }
    if (found != expected) state.SkipWithError("wrong record count");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

int Register() {
  for (const auto* k : engine::simd::SupportedKernels()) {
    benchmark::RegisterBenchmark((std::string("BM_FindNewline/") + k->name).c_str(), BM_FindNewline, k);
    benchmark::RegisterBenchmark((std::string("BM_FindRecords/") + k->name).c_str(), BM_FindRecords, k);
  }
  return 0;
}
const int kRegistered = Register();

}  // namespace
}  // namespace logtally::bench
