// Count tables at 1e2..1e7 distinct keys: inserts/s into one thread's
// partitioned table, and the per-partition merge of two tables as a run does
// it (engine::MergePartition). Checked: the table ends with exactly the
// number of distinct keys and total count.
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "engine/count_table.h"

namespace logtally::bench {
namespace {

// Keys shaped like an encoded DST,DPT,PROTO key (about 24 bytes).
std::vector<std::string> MakeKeys(size_t distinct, size_t total) {
  std::vector<std::string> keys;
  keys.reserve(total);
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < total; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    size_t id = i < distinct ? i : x % distinct;  // every key at least once
    keys.push_back("\x0c" "10.0." + std::to_string(id % 65536) + "\x04" "443" +
                   std::to_string(id / 65536) + "\x04TCP");
  }
  return keys;
}

void BM_CountTableAdd(benchmark::State& state) {
  const size_t distinct = static_cast<size_t>(state.range(0));
  const size_t total = std::max<size_t>(distinct, 2'000'000);
  auto keys = MakeKeys(distinct, total);
  for (auto _ : state) {
    engine::PartitionedTable t;
    for (const auto& k : keys) t.Add(k);
    if (t.groups() != distinct) state.SkipWithError("wrong number of groups");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * total));
}
BENCHMARK(BM_CountTableAdd)->RangeMultiplier(10)->Range(100, 10'000'000)->Unit(benchmark::kMillisecond);

void BM_MergePartitions(benchmark::State& state) {
  const size_t distinct = static_cast<size_t>(state.range(0));
  auto keys = MakeKeys(distinct, distinct * 2);
  for (auto _ : state) {
    // MergePartition takes the tables' partitions over: fill them afresh,
    // outside the timing.
    state.PauseTiming();
    engine::PartitionedTable a, b;
    for (size_t i = 0; i < keys.size(); ++i) (i % 2 ? a : b).Add(keys[i]);
    const std::vector<engine::PartitionedTable*> tables = {&a, &b};
    state.ResumeTiming();
    uint64_t groups = 0, total = 0;
    for (size_t p = 0; p < engine::kPartitions; ++p) {
      engine::HashTable merged = engine::MergePartition(tables, p);
      groups += merged.size();
      for (const auto& e : merged.slots()) total += e.count;
    }
    if (groups != distinct || total != keys.size()) state.SkipWithError("merge lost counts");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * keys.size()));
}
BENCHMARK(BM_MergePartitions)->RangeMultiplier(10)->Range(100, 1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace logtally::bench
