#include "engine/count_run.h"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_for_each.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/parallel_sort.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "engine/count_table.h"
#include "engine/simd/kernels.h"

namespace logtally::engine {
namespace {

struct Local {
  Local(const Query& q, const simd::Kernels& k) : eval(q, k) {}
  PartitionedTable table;
  LineEvaluator eval;
  RunStats stats;
};

struct Storage {
  std::vector<std::unique_ptr<Local>> locals;
  std::vector<HashTable> merged;
  std::vector<Arena> display;
};

// Bytes ahead of the current line to prefetch: about four typical lines,
// enough to hide DRAM latency at the scan rate, and within the same chunk
// most of the time (prefetching past the mapping is harmless: it never faults).
constexpr size_t kPrefetchAhead = 1024;

void ProcessChunk(Local& local, std::string_view data, const simd::Kernels& k) {
  const char* p = data.data();
  const char* end = p + data.size();
  RunStats& st = local.stats;
  while (p < end) {
    // Stream the mapping into cache ahead of the scan: the hardware
    // prefetcher stops at page boundaries, so ask for bytes a few lines on.
    __builtin_prefetch(p + kPrefetchAhead);
    __builtin_prefetch(p + kPrefetchAhead + 64);
    __builtin_prefetch(p + kPrefetchAhead + 128);
    __builtin_prefetch(p + kPrefetchAhead + 192);
    const char* nl = k.find_newline(p, end);
    const char* le = nl;
    if (le > p && le[-1] == '\r') --le;
    ++st.lines;
    bool record = false;
    switch (local.eval.Evaluate(p, static_cast<size_t>(le - p), &record)) {
      case LineEvaluator::Outcome::kCounted:
        ++st.counted;
        local.table.Add(local.eval.key());
        break;
      case LineEvaluator::Outcome::kFiltered:
        ++st.filtered;
        break;
      case LineEvaluator::Outcome::kOther:
        ++st.uncounted_other;
        break;
    }
    st.records += record ? 1 : 0;
    p = nl < end ? nl + 1 : end;
  }
  st.bytes += data.size();
}

// Compares two encoded keys whose displays are equal: column by column, a
// missing value sorts before a present one, present ones by their bytes.
bool KeyTieLess(std::string_view a, std::string_view b, size_t ncol) {
  std::vector<std::string_view> va(ncol), vb(ncol);
  DecodeKey(a, ncol, va.data());
  DecodeKey(b, ncol, vb.data());
  for (size_t c = 0; c < ncol; ++c) {
    bool ma = va[c].empty(), mb = vb[c].empty();
    if (ma != mb) return ma;
    if (va[c] != vb[c]) return va[c] < vb[c];
  }
  return false;
}

}  // namespace

absl::Status RunOptions::Validate() const {
  if (chunk_size == 0) return absl::InvalidArgumentError("chunk size must be positive");
  return absl::OkStatus();
}

RunResult RunCount(const Query& query, const std::vector<io::InputSpec>& inputs,
                   const RunOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  RunResult result;
  auto storage = std::make_shared<Storage>();
  const simd::Kernels& kernels = simd::ActiveKernels();
  const int threads = options.threads > 0 ? static_cast<int>(options.threads)
                                          : tbb::info::default_concurrency();
  tbb::task_arena arena(threads);

  std::mutex locals_mu;
  tbb::enumerable_thread_specific<Local*> tls([&]() -> Local* {
    auto l = std::make_unique<Local>(query, kernels);
    Local* raw = l.get();
    std::lock_guard<std::mutex> lock(locals_mu);
    storage->locals.push_back(std::move(l));
    return raw;
  });

  std::vector<absl::Status> errors(inputs.size());
  std::atomic<uint64_t> raw_bytes{0};

  arena.execute([&] {
    tbb::parallel_for(size_t{0}, inputs.size(), size_t{1}, [&](size_t idx) {
      const io::InputSpec& spec = inputs[idx];
      absl::StatusOr<io::OpenedInput> opened = io::OpenInput(spec, options.chunk_size);
      if (!opened.ok()) {
        errors[idx] = opened.status();
        return;
      }
      io::Chunker& chunker = *opened->chunker;
      const size_t max_tokens = static_cast<size_t>(threads) * 2;
      chunker.SetInFlightLimit(max_tokens);
      uint64_t reported = 0;  // raw bytes of this input already added to progress
      absl::Status read_error;
      std::atomic<uint64_t> lines_done{0};
      tbb::parallel_pipeline(
          max_tokens,
          tbb::make_filter<void, io::Chunk*>(
              tbb::filter_mode::serial_in_order,
              [&](tbb::flow_control& fc) -> io::Chunk* {
                auto chunk = std::make_unique<io::Chunk>();
                absl::StatusOr<bool> more = chunker.Next(*chunk);
                if (options.progress != nullptr) {
                  uint64_t now = chunker.raw_offset();
                  options.progress->fetch_add(now - reported, std::memory_order_relaxed);
                  reported = now;
                }
                if (!more.ok()) {
                  read_error = more.status();
                  fc.stop();
                  return nullptr;
                }
                if (!*more) {
                  fc.stop();
                  return nullptr;
                }
                return chunk.release();
              }) &
              tbb::make_filter<io::Chunk*, void>(
                  tbb::filter_mode::parallel, [&](io::Chunk* chunk) {
                    std::unique_ptr<io::Chunk> owned(chunk);
                    Local& local = *tls.local();
                    uint64_t before = local.stats.lines;
                    ProcessChunk(local, chunk->data, kernels);
                    lines_done += local.stats.lines - before;
                    chunker.Recycle(*chunk);
                  }));
      raw_bytes += chunker.raw_offset();
      if (!read_error.ok()) {
        std::string msg = absl::StrCat(read_error.message(), "; the ", lines_done.load(),
                                       " complete lines before it were counted");
        if (chunker.dropped_bytes() > 0) {
          absl::StrAppend(&msg, ", an incomplete last line of ", chunker.dropped_bytes(),
                          " bytes was not");
        }
        errors[idx] = absl::Status(read_error.code(), msg);
      }
    });
  });

  // Merge: one task per partition, each folding every thread's table of that
  // partition into one; key bytes stay where they are.
  std::vector<Local*> locals;
  for (auto& l : storage->locals) locals.push_back(l.get());
  RunStats& st = result.stats;
  for (Local* l : locals) {
    st.lines += l->stats.lines;
    st.records += l->stats.records;
    st.counted += l->stats.counted;
    st.filtered += l->stats.filtered;
    st.uncounted_other += l->stats.uncounted_other;
    st.bytes += l->stats.bytes;
  }
  st.other = st.lines - st.records;
  st.raw_bytes = raw_bytes.load();
  st.inputs = inputs.size();

  storage->merged.resize(kPartitions);
  storage->display.resize(kPartitions);
  const size_t ncol = query.key().size();
  std::vector<std::vector<Row>> part_rows(kPartitions);
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, kPartitions, size_t{1}, [&](size_t p) {
      HashTable& merged = storage->merged[p];
      for (Local* l : locals) {
        for (const Entry& e : l->table.partition(p).slots()) {
          if (e.key != nullptr) merged.AddStable(e);
        }
      }
      // Display text for sorting and printing: values joined by ' ', '-' for
      // a missing one.
      std::vector<std::string_view> vals(ncol);
      std::string line;
      std::vector<Row>& rows = part_rows[p];
      rows.reserve(merged.size());
      for (const Entry& e : merged.slots()) {
        if (e.key == nullptr) continue;
        DecodeKey(e.view(), ncol, vals.data());
        line.clear();
        for (size_t c = 0; c < ncol; ++c) {
          if (c > 0) line.push_back(' ');
          if (vals[c].empty()) line.push_back('-'); else AppendDisplay(line, vals[c]);
        }
        const char* d = storage->display[p].Copy(line);
        rows.push_back(Row{e.count, std::string_view(d, line.size()), e.view()});
      }
    });
  });
  std::vector<Row>& rows = result.rows;
  size_t total = 0;
  for (auto& pr : part_rows) total += pr.size();
  rows.reserve(total);
  for (auto& pr : part_rows) rows.insert(rows.end(), pr.begin(), pr.end());
  st.groups = rows.size();

  auto less = [ncol](const Row& a, const Row& b) {
    if (a.count != b.count) return a.count > b.count;
    int c = a.display.compare(b.display);
    if (c != 0) return c < 0;
    return KeyTieLess(a.key, b.key, ncol);
  };
  arena.execute([&] {
    if (options.top > 0 && options.top < rows.size()) {
      std::nth_element(rows.begin(), rows.begin() + static_cast<ptrdiff_t>(options.top), rows.end(), less);
      rows.resize(options.top);
    }
    tbb::parallel_sort(rows.begin(), rows.end(), less);
  });

  for (absl::Status& s : errors) {
    if (!s.ok()) result.errors.push_back(std::move(s));
  }
  result.storage = storage;
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace logtally::engine
