#include "engine/count_run.h"

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "engine/count_table.h"
#include "engine/external_merge.h"
#include "engine/pipeline.h"
#include "engine/trace.h"

namespace logtally::engine {
namespace {

// The counting phase may fill this share of the budget with tables and keys;
// the rest covers chunk buffers in flight and, at the end, the rows and
// display text built for sorting (about as large again as the tables).
constexpr double kTableShare = 0.45;

// What every phase after the sink needs to know.
struct Phases {
  const RunOptions& options;
  size_t ncol;          // key columns
  uint64_t budget;      // bytes
  std::string temp_dir;
  Workers& workers;
  const PhaseTrace& trace;
};

std::vector<PartitionedTable*> TablesOf(const SinkResult& sunk) {
  std::vector<PartitionedTable*> tables;
  for (const auto& c : sunk.counters) tables.push_back(&c->table);
  return tables;
}

RunStats SumStats(const SinkResult& sunk, size_t inputs) {
  RunStats st;
  for (const auto& c : sunk.counters) {
    st.lines += c->stats.lines;
    st.records += c->stats.records;
    st.counted += c->stats.counted;
    st.filtered += c->stats.filtered;
    st.uncounted_other += c->stats.uncounted_other;
    st.malformed += c->eval.malformed();
    st.bytes += c->stats.bytes;
  }
  st.other = st.lines - st.records;
  st.raw_bytes = sunk.raw_bytes;
  st.inputs = inputs;
  return st;
}

// Would the rows and display text of the in-memory result fit beside the
// tables? If not, or if anything was spilled already, go external.
bool GoesExternal(const SinkResult& sunk, const Spiller& spiller, uint64_t budget) {
  uint64_t table_bytes = 0, entries_upper = 0;
  for (const auto& c : sunk.counters) {
    table_bytes += c->table.memory_bytes();
    entries_upper += c->table.groups();
  }
  return spiller.store.spills() > 0 || table_bytes + entries_upper * (sizeof(Row) + 32) > budget;
}

// Hands sorted rows to the sink. After the sort, rows point at display text
// all over memory: load a few rows ahead while the sink formats this one.
absl::Status Emit(const RowVector& rows, RowSink& sink) {
  constexpr size_t kAhead = 8;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i + kAhead < rows.size()) {
      __builtin_prefetch(rows[i + kAhead].display.data());
      __builtin_prefetch(rows[i + kAhead].key.data());
    }
    if (absl::Status s = sink.Add(rows[i]); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Combine and finalize in memory: merge each partition's tables, build every
// row with its display text, sort, and hand the rows to the sink.
absl::Status CountInMemory(SinkResult& sunk, const Phases& ph, RunStats& st, RowSink& sink) {
  const std::vector<PartitionedTable*> tables = TablesOf(sunk);
  std::vector<HashTable> merged(kPartitions);
  ph.workers.ParallelFor(kPartitions, [&](size_t p) { merged[p] = MergePartition(tables, p); });
  ph.trace.Mark("merged");
  // Every partition writes its rows straight into its own range of one
  // vector: no per-partition vectors to concatenate.
  std::vector<size_t> first(kPartitions + 1, 0);
  for (size_t p = 0; p < kPartitions; ++p) first[p + 1] = first[p] + merged[p].size();
  RowVector rows(first[kPartitions]);
  std::vector<Arena> display(kPartitions);
  ph.workers.ParallelFor(kPartitions, [&](size_t p) {
    TableRowsTo(merged[p], ph.ncol, display[p], rows.data() + first[p]);
    merged[p].Clear();
  });
  st.groups = rows.size();
  ph.trace.Mark("rows built");
  ph.workers.Run([&] { SortRows(rows, ph.options.top, ph.ncol); });
  ph.trace.Mark("sorted");
  if (absl::Status s = sink.Begin(st); !s.ok()) return s;
  return Emit(rows, sink);
}

// Combine and finalize through temporary files: everything still in memory
// goes to the spill files too, each partition is aggregated on its own into
// a sorted run within its share of the budget, and the runs are merged into
// the sink.
absl::Status CountExternal(SinkResult& sunk, Spiller& spiller, const Phases& ph, RunStats& st,
                           RowSink& sink) {
  for (const auto& c : sunk.counters) {
    if (c->table.groups() > 0 && !spiller.failed) spiller.Spill(c->table, c->spill_writer);
  }
  if (spiller.failed) return spiller.error;
  ExternalMerge ex({.dir = ph.temp_dir,
                    .ncol = ph.ncol,
                    .top = ph.options.top,
                    .share = ph.budget / static_cast<uint64_t>(ph.workers.threads()),
                    .merge_memory = ph.budget / 2,
                    .trace = &ph.trace});
  ph.trace.Mark("spilled the rest");
  ph.workers.ParallelFor(kPartitions, [&](size_t p) {
    std::unique_ptr<TempFile> f = spiller.store.Take(p);
    if (f != nullptr) ex.Aggregate(std::move(f), kPartitionBits);
  });
  ph.trace.Mark("partitions aggregated into sorted runs");
  st.spilled_bytes = spiller.store.bytes() + ex.spilled_bytes();
  if (absl::Status s = ex.error(); !s.ok()) return s;
  st.groups = ex.groups();
  if (absl::Status s = sink.Begin(st); !s.ok()) return s;
  // With -n, the runs hold each partition's top N rows: the overall top N
  // is among them, and the merge stops after N.
  absl::Status s = ex.Merge(sink);
  st.spilled_bytes = spiller.store.bytes() + ex.spilled_bytes();  // with the merge's passes
  return s;
}

}  // namespace

RunResult RunCount(const Query& query, const std::vector<io::InputSpec>& inputs,
                   const RunOptions& options, RowSink& sink) {
  const auto t0 = std::chrono::steady_clock::now();
  const PhaseTrace trace(t0);
  Workers workers(options.threads);
  const uint64_t budget = options.memory > 0 ? options.memory : DefaultMemoryBudget();
  const Phases ph{options, query.key().size(), budget,
                  options.temp_dir.empty() ? DefaultTempDir() : options.temp_dir, workers, trace};
  Spiller spiller(ph.temp_dir, static_cast<uint64_t>(static_cast<double>(budget) * kTableShare) /
                                   static_cast<uint64_t>(workers.threads()));

  // Sink.
  SinkResult sunk = CountInputs(query, inputs, options, workers, spiller);
  trace.Mark("counted (read, parse, count)");
  RunResult result;
  result.stats = SumStats(sunk, inputs.size());
  for (absl::Status& s : sunk.errors) {
    if (!s.ok()) result.errors.push_back(std::move(s));
  }

  // Combine and finalize.
  result.fatal = GoesExternal(sunk, spiller, budget)
                     ? CountExternal(sunk, spiller, ph, result.stats, sink)
                     : CountInMemory(sunk, ph, result.stats, sink);

  result.stats.spills = spiller.store.spills();
  trace.Mark("written");
  result.stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace logtally::engine
