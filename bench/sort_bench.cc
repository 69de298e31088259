// Sorting the result rows (count descending, display text ascending) at 10^3
// to 10^6 groups, whole and top-N. Checked: the output is in order.
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "engine/count_run.h"
#include "engine/key.h"
#include "engine/query.h"

namespace logtally::bench {
namespace {

struct Data {
  std::vector<std::string> keys, displays;
  std::vector<engine::Row> rows;
};

Data MakeRows(size_t n) {
  Data d;
  std::mt19937_64 rng(3);
  d.keys.resize(n);
  d.displays.resize(n);
  for (size_t i = 0; i < n; ++i) {
    std::string v = "10." + std::to_string(rng() % 256) + "." + std::to_string(i % 65536) + " 443";
    d.displays[i] = v;
    engine::AppendKeyValue(d.keys[i], v);
  }
  for (size_t i = 0; i < n; ++i) {
    // Zipf-like counts: many ties at small counts, as real results have.
    uint64_t c = 1 + (rng() % 1000 == 0 ? rng() % 100000 : rng() % 8);
    d.rows.push_back(engine::Row{c, d.displays[i], d.keys[i]});
    engine::SetOrderPrefix(d.rows.back());
  }
  return d;
}

void BM_SortRows(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const size_t top = static_cast<size_t>(state.range(1));
  Data d = MakeRows(n);
  for (auto _ : state) {
    state.PauseTiming();
    engine::RowVector rows(d.rows.begin(), d.rows.end());
    state.ResumeTiming();
    engine::SortRows(rows, top, 1);
    for (size_t i = 1; i < rows.size(); ++i) {
      if (rows[i - 1].count < rows[i].count ||
          (rows[i - 1].count == rows[i].count && rows[i - 1].display > rows[i].display)) {
        state.SkipWithError("rows out of order");
        break;
      }
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_SortRows)
    ->Args({1000, 0})
    ->Args({100000, 0})
    ->Args({1000000, 0})
    ->Args({1000000, 20})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace logtally::bench
