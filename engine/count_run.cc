#include "engine/count_run.h"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/parallel_sort.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "engine/count_table.h"
#include "engine/simd/kernels.h"
#include "engine/spill.h"
#include "io/read_ahead.h"

namespace logtally::engine {
namespace {

// Bytes ahead of the current line to prefetch: about four typical lines,
// enough to hide DRAM latency at the scan rate, and within the same chunk
// most of the time (prefetching past the mapping is harmless: it never faults).
constexpr size_t kPrefetchAhead = 1024;

// The counting phase may fill this share of the budget with tables and keys;
// the rest covers chunk buffers in flight and, at the end, the rows and
// display text built for sorting (about as large again as the tables).
constexpr double kTableShare = 0.45;

// A spilled partition too large for its share of the budget is split by the
// next hash bits into as many files as its size asks for (a power of two, a
// quarter more than the bare quotient, since hash bits split only about
// evenly), at most this many per pass.
constexpr int kMaxRepartitionBits = 8;
// The final merge reads each sorted run through a buffer of its own, between
// these sizes; with more runs than half the budget holds at the smallest,
// groups of runs are merged into longer runs first. Small buffers keep what
// was read in the cache until the rows are copied out: 64 KiB for each of 64
// runs merged 10 M rows 15% faster than 256 KiB.
constexpr size_t kMinRunBuffer = size_t{16} << 10;
constexpr size_t kMaxRunBuffer = size_t{64} << 10;

struct Local {
  Local(const Query& q, const simd::Kernels& k) : eval(q, k) {}
  PartitionedTable table;
  KeyBatch batch;
  LineEvaluator eval;
  RunStats stats;
  uint64_t batches = 0;
  io::BlockBuffer read_buf;  // PlainBlocks reads, reused
  GatherWriter spill_writer;

  void Flush() {
    batch.Drain([this](uint64_t h, std::string_view key) { table.AddHashed(h, key); });
  }
};

// Shared state of one run's spilling.
struct Spiller {
  Spiller(std::string dir, uint64_t per_thread) : store(std::move(dir), kPartitions), per_thread_budget(per_thread) {}
  SpillStore store;
  uint64_t per_thread_budget;
  std::atomic<bool> failed{false};
  std::mutex mu;
  absl::Status error;

  void Fail(absl::Status s) {
    std::lock_guard<std::mutex> lock(mu);
    if (error.ok()) error = std::move(s);
    failed = true;
  }

  // Writes every partition of `t` to its spill file and empties `t`; the
  // keys go from the arena straight to the file (GatherWriter).
  void Spill(PartitionedTable& t, GatherWriter& w) {
    for (size_t p = 0; p < kPartitions && !failed; ++p) {
      for (const Entry& e : t.partition(p).slots()) {
        if (e.key == nullptr) continue;
        w.Varint(e.len);
        w.Ref(e.view());
        w.Varint(e.count);
        w.EndRecord();
        if (w.full()) {
          if (absl::Status s = store.Append(p, w); !s.ok()) return Fail(std::move(s));
        }
      }
      if (w.bytes() > 0) {
        if (absl::Status s = store.Append(p, w); !s.ok()) return Fail(std::move(s));
      }
    }
    store.CountSpill();
    t.Clear();
  }
};

// LOGTALLY_TRACE=1: each phase's end time on stderr, for finding where the
// time goes (docs/choices.md). Off, it costs one getenv per run.
class PhaseTrace {
 public:
  explicit PhaseTrace(std::chrono::steady_clock::time_point t0)
      : t0_(t0), on_(std::getenv("LOGTALLY_TRACE") != nullptr) {}
  void Mark(const char* phase) const {
    if (!on_) return;
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_).count();
    std::fprintf(stderr, "logtally trace: %9.1f ms  %s\n", ms, phase);
  }

 private:
  std::chrono::steady_clock::time_point t0_;
  bool on_;
};

// JSON lines: the first non-blank line is one object, '{' to '}' (a
// pretty-printed document is not JSON lines).
bool LooksLikeJsonLine(std::string_view first) {
  size_t i = first.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return false;
  size_t last = first.find_last_not_of(" \t\r");
  return first[i] == '{' && last != std::string_view::npos && first[last] == '}';
}

void ProcessChunk(Local& local, std::string_view data, const simd::Kernels& k, Spiller& spiller,
                  const YearResolver& years, bool json) {
  local.eval.SetYears(&years);
  local.eval.SetJson(json);
  const char* p = data.data();
  const char* end = p + data.size();
  RunStats& st = local.stats;
  while (p < end) {
    // Stream the data into cache ahead of the scan: the hardware prefetcher
    // stops at page boundaries, so ask for bytes a few lines on.
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
      case LineEvaluator::Outcome::kCounted: {
        ++st.counted;
        local.table.Prefetch(local.batch.Push(local.eval.key()));
        if (local.batch.full()) {
          local.Flush();
          // The budget is checked every 64 batches (1,024 lines): summing
          // 64 partitions per batch cost more than the check is worth.
          if ((++local.batches & 63) == 0 && local.table.memory_bytes() > spiller.per_thread_budget) {
            spiller.Spill(local.table, local.spill_writer);
          }
        }
        break;
      }
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
  local.Flush();
  if (local.table.memory_bytes() > spiller.per_thread_budget) spiller.Spill(local.table, local.spill_writer);
  st.bytes += data.size();
}

// Compares two encoded keys whose displays are equal: column by column, a
// missing value sorts before a present one, present ones by their bytes.
bool KeyTieLess(std::string_view a, std::string_view b, size_t ncol) {
  if (a.data() == b.data()) return false;  // a row against itself
  constexpr size_t kInline = 16;
  std::string_view sa[kInline], sb[kInline];
  std::vector<std::string_view> ha, hb;
  std::string_view* va = sa;
  std::string_view* vb = sb;
  if (ncol > kInline) {
    ha.resize(ncol);
    hb.resize(ncol);
    va = ha.data();
    vb = hb.data();
  }
  DecodeKey(a, ncol, va);
  DecodeKey(b, ncol, vb);
  for (size_t c = 0; c < ncol; ++c) {
    bool ma = va[c].empty(), mb = vb[c].empty();
    if (ma != mb) return ma;
    if (va[c] != vb[c]) return va[c] < vb[c];
  }
  return false;
}

// Count descending, then display text ascending (its first 16 bytes compared
// as two numbers: see Row::order_hi), then the encoded key.
struct RowLess {
  size_t ncol;
  bool operator()(const Row& a, const Row& b) const {
    if (a.count != b.count) return a.count > b.count;
    if (a.order_hi != b.order_hi) return a.order_hi < b.order_hi;
    if (a.order_lo != b.order_lo) return a.order_lo < b.order_lo;
    int c = a.display.compare(b.display);
    if (c != 0) return c < 0;
    return KeyTieLess(a.key, b.key, ncol);
  }
};

// The display text of a key: values joined by ' ', '-' for a missing one.
void RenderDisplay(std::string_view key, size_t ncol, std::vector<std::string_view>& vals,
                   std::string& line) {
  DecodeKey(key, ncol, vals.data());
  line.clear();
  for (size_t c = 0; c < ncol; ++c) {
    if (c > 0) line.push_back(' ');
    if (vals[c].empty()) line.push_back('-'); else AppendDisplay(line, vals[c]);
  }
}

// The display of a one-column key whose value needs no escaping is the value
// itself: the row then points at the key's bytes, and nothing is rendered or
// copied (for `-k line`, that is the whole input once more).
bool DisplayInKey(std::string_view key, size_t ncol, std::string_view* display) {
  if (ncol != 1) return false;
  std::string_view v;
  DecodeKey(key, 1, &v);
  if (v.empty() || !DisplaysAsItself(v)) return false;
  *display = v;
  return true;
}

// Rows of one table with their display text (kept in `arena`), written to
// out[0, t.size()).
void TableRowsTo(const HashTable& t, size_t ncol, Arena& arena, Row* out) {
  std::vector<std::string_view> vals(ncol);
  std::string line;
  std::span<const Entry> slots = t.slots();
  // Slots are in hash order, so their keys are scattered over the arena:
  // start loading a key some slots ahead of its turn.
  constexpr size_t kAhead = 16;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (i + kAhead < slots.size() && slots[i + kAhead].key != nullptr) {
      __builtin_prefetch(slots[i + kAhead].key);
    }
    const Entry& e = slots[i];
    if (e.key == nullptr) continue;
    std::string_view display;
    if (!DisplayInKey(e.view(), ncol, &display)) {
      RenderDisplay(e.view(), ncol, vals, line);
      display = std::string_view(arena.Copy(line), line.size());
    }
    *out = Row{e.count, display, e.view()};
    SetOrderPrefix(*out);
    ++out;
  }
}

void TableRows(const HashTable& t, size_t ncol, Arena& arena, RowVector& rows) {
  size_t at = rows.size();
  rows.resize(at + t.size());
  TableRowsTo(t, ncol, arena, rows.data() + at);
}


// ---- The external path: aggregate spilled partitions one by one ----------

// A sorted run of rows written to a temporary file: count and key. The
// display text is rendered again when the run is read back: it is as long as
// the key, and writing it would double the temporary data (for `-k line`,
// that is the whole input once more).
//
// The count is stored doubled, its low bit set when the display is the key's
// one value as it is (DisplayInKey): the reader then need not look at the
// value's bytes to find that out again.
uint64_t RunCountField(const Row& r) {
  const auto d = reinterpret_cast<uintptr_t>(r.display.data());
  const auto k = reinterpret_cast<uintptr_t>(r.key.data());
  const bool in_key = d >= k && d < k + r.key.size();
  return (r.count << 1) | (in_key ? 1 : 0);
}

class RunRowReader {
 public:
  // `buffer` bytes per read: the merge divides its memory among the runs.
  RunRowReader(const TempFile* f, size_t ncol, size_t buffer) : reader_(f, buffer), vals_(ncol) {}
  absl::StatusOr<bool> Next() {
    absl::StatusOr<size_t> avail = reader_.Fill(20);
    if (!avail.ok()) return avail.status();
    if (*avail == 0) return false;
    const char* p = reader_.data();
    uint64_t count = 0, klen = 0;
    size_t a = ParseVarint(p, *avail, &count);
    size_t b = a == 0 ? 0 : ParseVarint(p + a, *avail - a, &klen);
    if (a == 0 || b == 0) return absl::DataLossError("corrupt temporary run data");
    avail = reader_.Fill(a + b + klen);
    if (!avail.ok()) return avail.status();
    if (*avail < a + b + klen) return absl::DataLossError("corrupt temporary run data");
    p = reader_.data();
    // The key stays in the reader's buffer: it is refilled only by the next
    // call, after this row has left the merge.
    std::string_view key(p + a + b, klen);
    reader_.Consume(a + b + klen);
    std::string_view display;
    if ((count & 1) != 0) {
      DecodeKey(key, 1, &display);
    } else {
      RenderDisplay(key, vals_.size(), vals_, display_);
      display = display_;
    }
    row_ = Row{count >> 1, display, key};
    SetOrderPrefix(row_);
    return true;
  }
  const Row& row() const { return row_; }

 private:
  TempReader reader_;
  std::vector<std::string_view> vals_;
  std::string display_;
  Row row_;
};

// One thread's working memory for aggregating partitions, reused from one
// partition to the next: in a VM, filling fresh pages costs several times
// more than reusing touched ones, and the partitions come one after another.
struct AggScratch {
  io::BigBuffer data;
  HashTable table;
  Arena display;
  RowVector rows;
  GatherWriter writer;
};

struct ExternalState {
  std::string dir;
  size_t ncol;
  size_t top;
  uint64_t share;  // memory for one partition's aggregation
  uint64_t merge_memory;  // the final merge's read buffers, all runs together
  const PhaseTrace* trace = nullptr;
  std::mutex mu;
  absl::Status error;
  std::atomic<uint64_t> spilled{0};
  std::atomic<uint64_t> groups{0};
  // Results: sorted runs (full output) or the top rows of each partition.
  std::vector<std::unique_ptr<TempFile>> runs;
  tbb::enumerable_thread_specific<AggScratch> scratch;

  void Fail(absl::Status s) {
    std::lock_guard<std::mutex> lock(mu);
    if (error.ok()) error = std::move(s);
  }
  bool failed() {
    std::lock_guard<std::mutex> lock(mu);
    return !error.ok();
  }
};

void AggregateFile(std::unique_ptr<TempFile> file, int bits_used, ExternalState& ex);

// What aggregating a spill file takes: the file's bytes, read whole, the
// display text built from them (about as much again), and per record two
// table slots (the table is at most half full) and a row.
uint64_t AggregationNeed(const TempFile& f) {
  return 2 * f.size() + f.records() * (2 * sizeof(Entry) + sizeof(Row));
}

// Splits `file` by the hash bits after the `bits_used` already spent into as
// many files as `need` (AggregationNeed) asks for, and aggregates each.
void Repartition(std::unique_ptr<TempFile> file, int bits_used, uint64_t need, ExternalState& ex) {
  int bits = 1;
  while (bits < kMaxRepartitionBits && (uint64_t{1} << bits) * ex.share < need + need / 4) ++bits;
  if (bits_used + bits > 64) {
    ex.Fail(absl::ResourceExhaustedError(
        "the memory budget is too small for the keys of one hash partition: give a larger --memory"));
    return;
  }
  const int shift = 64 - bits_used - bits;
  const size_t fanout = size_t{1} << bits;
  // Each sub-file's pending bytes, written out at `flush_at`: the buffers
  // together stay within half this partition's share.
  const size_t flush_at = std::clamp<size_t>(static_cast<size_t>(ex.share / 2 / fanout), size_t{4} << 10,
                                             size_t{64} << 10);
  std::vector<std::unique_ptr<TempFile>> subs(fanout);
  std::vector<std::string> bufs(fanout);
  std::vector<uint64_t> recs(fanout, 0);
  SpillRecordReader reader(file.get());
  std::string_view key;
  uint64_t count = 0;
  auto flush = [&](size_t i) -> absl::Status {
    if (bufs[i].empty()) return absl::OkStatus();
    if (subs[i] == nullptr) {
      absl::StatusOr<std::unique_ptr<TempFile>> f = TempFile::Create(ex.dir);
      if (!f.ok()) return f.status();
      subs[i] = std::move(*f);
    }
    ex.spilled += bufs[i].size();
    subs[i]->AddRecords(recs[i]);
    recs[i] = 0;
    absl::Status s = subs[i]->Append(bufs[i]);
    bufs[i].clear();
    return s;
  };
  for (;;) {
    absl::StatusOr<bool> more = reader.Next(&key, &count);
    if (!more.ok()) return ex.Fail(more.status());
    if (!*more) break;
    uint64_t h = HashBytes(key.data(), key.size());
    size_t i = (h >> shift) & (fanout - 1);
    AppendVarint(bufs[i], key.size());
    bufs[i].append(key);
    AppendVarint(bufs[i], count);
    ++recs[i];
    if (bufs[i].size() >= flush_at) {
      if (absl::Status s = flush(i); !s.ok()) return ex.Fail(s);
    }
  }
  for (size_t i = 0; i < fanout; ++i) {
    if (absl::Status s = flush(i); !s.ok()) return ex.Fail(s);
  }
  bufs = {};
  file.reset();  // split: its pages can hold the next files
  for (size_t i = 0; i < fanout && !ex.failed(); ++i) {
    if (subs[i] != nullptr) AggregateFile(std::move(subs[i]), bits_used + bits, ex);
  }
}

void AggregateFile(std::unique_ptr<TempFile> file, int bits_used, ExternalState& ex) {
  // The file is read whole into one buffer and the table's keys point into
  // it: no key is copied. It must fit beside the table, the rows and their
  // display text in this partition's share.
  const uint64_t need = AggregationNeed(*file);
  if (need > ex.share) return Repartition(std::move(file), bits_used, need, ex);
  const uint64_t size = file->size();
  const uint64_t records = file->records();
  AggScratch& sc = ex.scratch.local();
  sc.data.Ensure(static_cast<size_t>(size));
  io::BigBuffer& data = sc.data;
  for (uint64_t at = 0; at < size;) {
    absl::StatusOr<size_t> got = file->ReadAt(at, data.get() + at, static_cast<size_t>(size - at));
    if (!got.ok()) return ex.Fail(got.status());
    if (*got == 0) return ex.Fail(absl::DataLossError("temporary spill data ended early"));
    at += *got;
  }
  struct Rec {
    const char* key;
    size_t len;
    uint64_t count;
  };
  auto next = [&](size_t& pos, Rec* r) -> bool {
    uint64_t len = 0;
    size_t a = ParseVarint(data.get() + pos, size - pos, &len);
    if (a == 0 || len > size - pos - a) return false;
    size_t b = ParseVarint(data.get() + pos + a + len, size - pos - a - len, &r->count);
    if (b == 0) return false;
    r->key = data.get() + pos + a;
    r->len = len;
    pos += a + len + b;
    return true;
  };
  HashTable& table = sc.table;
  table.Reuse(records);
  // Hash a batch of records and start loading their slots, then insert
  // them: the slots are random in a table larger than the cache.
  constexpr size_t kBatch = 16;
  Entry batch[kBatch];
  Rec rec;
  uint64_t seen = 0;
  for (size_t pos = 0; pos < size;) {
    size_t n = 0;
    for (; n < kBatch && pos < size; ++n) {
      if (!next(pos, &rec)) return ex.Fail(absl::DataLossError("corrupt temporary spill data"));
      batch[n] = Entry{HashBytes(rec.key, rec.len), rec.count, rec.key, rec.len};
      table.Prefetch(batch[n].hash);
    }
    seen += n;
    if (seen > records) break;
    for (size_t i = 0; i < n; ++i) table.AddStable(batch[i]);
  }
  if (seen != records) {
    return ex.Fail(absl::DataLossError("corrupt temporary spill data (record count)"));
  }
  // Aggregated: drop the file now, so the run written next can reuse its
  // pages (fresh page-cache pages cost several times more to fill in a VM,
  // and the disk never sees data that is dead already).
  file.reset();
  RowVector& rows = sc.rows;
  rows.clear();
  Arena& display = sc.display;
  display.Reset();
  TableRows(table, ex.ncol, display, rows);
  ex.groups += rows.size();
  SortRows(rows, ex.top, ex.ncol);
  absl::StatusOr<std::unique_ptr<TempFile>> run = TempFile::Create(ex.dir);
  if (!run.ok()) return ex.Fail(run.status());
  // With -n, the rows are this partition's top N: the overall top N is among
  // the partitions' lists, and the same merge serves both. Keys are written
  // from where they lie.
  GatherWriter& w = sc.writer;
  for (const Row& r : rows) {
    w.Varint(RunCountField(r));
    w.Varint(r.key.size());
    w.Ref(r.key);
    w.EndRecord();
    if (w.full()) {
      ex.spilled += w.bytes();
      if (absl::Status s = w.FlushTo(**run); !s.ok()) return ex.Fail(s);
    }
  }
  ex.spilled += w.bytes();
  if (absl::Status s = w.FlushTo(**run); !s.ok()) return ex.Fail(s);
  std::lock_guard<std::mutex> lock(ex.mu);
  ex.runs.push_back(std::move(*run));
}

// Merges sorted runs into the sink: a k-way merge by a tree of losers (Knuth
// 5.4.1). Each row out costs one comparison per level of the tree, a path
// from the winner's leaf to the root, where a binary heap's sift-down makes
// two per level. Each run is read through `buffer` bytes.
absl::Status MergeRunFiles(const std::vector<const TempFile*>& runs, size_t ncol, size_t buffer,
                           RowSink& sink) {
  std::vector<std::unique_ptr<RunRowReader>> readers;
  std::vector<char> done;  // reader i is exhausted
  for (const TempFile* f : runs) {
    readers.push_back(std::make_unique<RunRowReader>(f, ncol, buffer));
    absl::StatusOr<bool> more = readers.back()->Next();
    if (!more.ok()) return more.status();
    done.push_back(*more ? 0 : 1);
  }
  const size_t k = readers.size();
  if (k == 0) return absl::OkStatus();
  RowLess less{ncol};
  // Does reader a's row come before reader b's? An exhausted reader comes last.
  auto before = [&](size_t a, size_t b) {
    if (done[a] != 0) return false;
    if (done[b] != 0) return true;
    return less(readers[a]->row(), readers[b]->row());
  };
  // Leaves are nodes k .. 2k-1 (reader i at node k + i); internal nodes 1 ..
  // k-1 hold the loser of their match; tree[0] holds the overall winner.
  std::vector<size_t> tree(k);
  auto build = [&](auto& self, size_t node) -> size_t {
    if (node >= k) return node - k;
    size_t a = self(self, 2 * node), b = self(self, 2 * node + 1);
    if (before(b, a)) std::swap(a, b);
    tree[node] = b;
    return a;
  };
  tree[0] = k == 1 ? 0 : build(build, 1);
  for (;;) {
    size_t w = tree[0];
    if (done[w] != 0) break;
    if (absl::Status s = sink.Add(readers[w]->row()); !s.ok()) return s;
    absl::StatusOr<bool> more = readers[w]->Next();
    if (!more.ok()) return more.status();
    if (!*more) done[w] = 1;
    for (size_t node = (w + k) / 2; node >= 1; node /= 2) {
      if (before(tree[node], w)) std::swap(tree[node], w);
    }
    tree[0] = w;
  }
  return absl::OkStatus();
}

// Passes on the first `left` rows (all of them when `left` is 0 at the
// start: no limit) and drops the rest.
class LimitSink : public RowSink {
 public:
  LimitSink(RowSink& inner, size_t top) : inner_(inner), left_(top), limited_(top > 0) {}
  absl::Status Begin(const RunStats&) override { return absl::OkStatus(); }
  absl::Status Add(const Row& r) override {
    if (limited_) {
      if (left_ == 0) return absl::OkStatus();
      --left_;
    }
    return inner_.Add(r);
  }

 private:
  RowSink& inner_;
  size_t left_;
  bool limited_;
};

// Writes merged rows as a sorted run again (RunCountField, key), for a merge
// in several passes. The keys are copied: they lie in the readers' buffers,
// which the next row may refill.
class RunFileSink : public RowSink {
 public:
  RunFileSink(TempFile& out, std::atomic<uint64_t>& spilled) : out_(out), spilled_(spilled) {}
  absl::Status Begin(const RunStats&) override { return absl::OkStatus(); }
  absl::Status Add(const Row& r) override {
    AppendVarint(buf_, RunCountField(r));
    AppendVarint(buf_, r.key.size());
    buf_.append(r.key);
    ++records_;
    return buf_.size() >= (size_t{1} << 20) ? Flush() : absl::OkStatus();
  }
  absl::Status Flush() {
    spilled_ += buf_.size();
    out_.AddRecords(records_);
    records_ = 0;
    absl::Status s = out_.Append(buf_);
    buf_.clear();
    return s;
  }

 private:
  TempFile& out_;
  std::atomic<uint64_t>& spilled_;
  std::string buf_;
  uint64_t records_ = 0;
};

// Merges ex.runs into the sink within ex.merge_memory: each run gets an
// equal share of it for its reads, up to kMaxRunBuffer; with more runs than
// fit at kMinRunBuffer each, groups of runs are first merged into longer
// runs (GNU sort's multi-pass merge), as often as it takes. With -n, every
// merged run and the output stop after the top N rows.
absl::Status MergeRuns(ExternalState& ex, RowSink& sink) {
  // Each of n runs merged at once reads through an equal share of the memory.
  auto buffer_for = [&](size_t n) {
    return std::clamp<size_t>(static_cast<size_t>(ex.merge_memory / std::max<size_t>(1, n)), kMinRunBuffer,
                              kMaxRunBuffer);
  };
  const size_t max_fanin = std::max<size_t>(2, static_cast<size_t>(ex.merge_memory / kMinRunBuffer));
  while (ex.runs.size() > max_fanin) {
    std::vector<std::unique_ptr<TempFile>> next;
    // Groups as equal as max_fanin allows.
    const size_t groups = (ex.runs.size() + max_fanin - 1) / max_fanin;
    const size_t per = (ex.runs.size() + groups - 1) / groups;
    for (size_t at = 0; at < ex.runs.size(); at += per) {
      const size_t end = std::min(ex.runs.size(), at + per);
      std::vector<const TempFile*> group;
      for (size_t i = at; i < end; ++i) group.push_back(ex.runs[i].get());
      absl::StatusOr<std::unique_ptr<TempFile>> out = TempFile::Create(ex.dir);
      if (!out.ok()) return out.status();
      RunFileSink file_sink(**out, ex.spilled);
      LimitSink limited(file_sink, ex.top);
      if (absl::Status s = MergeRunFiles(group, ex.ncol, buffer_for(per), limited); !s.ok()) return s;
      if (absl::Status s = file_sink.Flush(); !s.ok()) return s;
      // The group's runs are merged: free their pages for the next group.
      for (size_t i = at; i < end; ++i) ex.runs[i].reset();
      next.push_back(std::move(*out));
    }
    ex.runs = std::move(next);
    if (ex.trace != nullptr) ex.trace->Mark("runs merged into longer runs (a merge pass)");
  }
  std::vector<const TempFile*> runs;
  for (const auto& f : ex.runs) runs.push_back(f.get());
  LimitSink limited(sink, ex.top);
  return MergeRunFiles(runs, ex.ncol, buffer_for(runs.size()), limited);
}

}  // namespace

void SortRows(RowVector& rows, size_t top, size_t ncol) {
  RowLess less{ncol};
  if (top > 0 && top < rows.size()) {
    std::nth_element(rows.begin(), rows.begin() + static_cast<ptrdiff_t>(top), rows.end(), less);
    rows.resize(top);
  }
  // Two passes. The first orders by count and the 16-byte prefix alone, so
  // its n log n comparisons never leave the rows; the second orders each run
  // of rows that tie on both by the whole text (and key). Ties then cost one
  // look at each tied row's text, not one per comparison in every pass of the
  // sort (a cache miss each when the rows number millions).
  auto coarse = [](const Row& a, const Row& b) {
    if (a.count != b.count) return a.count > b.count;
    if (a.order_hi != b.order_hi) return a.order_hi < b.order_hi;
    return a.order_lo < b.order_lo;
  };
  tbb::parallel_sort(rows.begin(), rows.end(), coarse);
  auto same = [](const Row& a, const Row& b) {
    return a.count == b.count && a.order_hi == b.order_hi && a.order_lo == b.order_lo;
  };
  tbb::parallel_for(tbb::blocked_range<size_t>(0, rows.size(), size_t{1} << 14),
                    [&](const tbb::blocked_range<size_t>& r) {
                      // Each task sorts the runs that start in its range.
                      size_t i = r.begin();
                      while (i > 0 && i < rows.size() && same(rows[i - 1], rows[i])) ++i;
                      while (i < r.end()) {
                        size_t j = i + 1;
                        while (j < rows.size() && same(rows[i], rows[j])) ++j;
                        if (j - i > 1) std::sort(rows.begin() + i, rows.begin() + j, less);
                        i = j;
                      }
                    });
}

absl::Status RunOptions::Validate() const {
  if (chunk_size == 0 || stream_chunk_size == 0) {
    return absl::InvalidArgumentError("chunk size must be positive");
  }
  return absl::OkStatus();
}

RunResult RunCount(const Query& query, const std::vector<io::InputSpec>& inputs,
                   const RunOptions& options, RowSink& sink) {
  auto t0 = std::chrono::steady_clock::now();
  PhaseTrace trace(t0);
  RunResult result;
  const simd::Kernels& kernels = simd::ActiveKernels();
  const int threads = options.threads > 0 ? static_cast<int>(options.threads)
                                          : tbb::info::default_concurrency();
  // TBB caps its workers at the core count less one unless told otherwise:
  // -j N above the core count would print a warning and quietly run fewer.
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism,
                                  static_cast<size_t>(threads));
  tbb::task_arena arena(threads);
  const uint64_t budget = options.memory > 0 ? options.memory : DefaultMemoryBudget();
  const std::string temp_dir = options.temp_dir.empty() ? DefaultTempDir() : options.temp_dir;
  Spiller spiller(temp_dir, static_cast<uint64_t>(static_cast<double>(budget) * kTableShare) /
                                static_cast<uint64_t>(threads));

  std::vector<std::unique_ptr<Local>> owned_locals;
  std::mutex locals_mu;
  tbb::enumerable_thread_specific<Local*> tls([&]() -> Local* {
    auto l = std::make_unique<Local>(query, kernels);
    Local* raw = l.get();
    std::lock_guard<std::mutex> lock(locals_mu);
    owned_locals.push_back(std::move(l));
    return raw;
  });

  std::vector<absl::Status> errors(inputs.size());
  std::atomic<uint64_t> raw_bytes{0};

  // BSD timestamps have no year: --year, else the file's modification time
  // (the time of the run for a pipe).
  auto years_for = [&](const io::OpenedInput& in) {
    return options.year > 0 ? YearResolver::ForYear(options.year)
                            : YearResolver::ForMtime(in.mtime > 0 ? in.mtime
                                                                  : static_cast<int64_t>(::time(nullptr)));
  };
  // JSON or text: 1 or 0 when fixed by --input; -1 when the input's first
  // non-blank line decides.
  const int json_mode = options.input == RunOptions::InputMode::kJson   ? 1
                        : options.input == RunOptions::InputMode::kText ? 0
                                                                        : -1;

  // Counts a chunk of whole lines on the calling thread.
  auto count_chunk = [&](std::string_view data, const YearResolver& years, bool json,
                         std::atomic<uint64_t>& lines_done) {
    Local& local = *tls.local();
    uint64_t before = local.stats.lines;
    ProcessChunk(local, data, kernels, spiller, years, json);
    lines_done += local.stats.lines - before;
  };

  // A plain regular file: blocks read and counted in parallel, each by the
  // thread that counts it (io/plain_blocks.h); the serial stage only hands
  // out block numbers.
  auto CountBlocks = [&](io::OpenedInput& opened, size_t idx) {
    const io::PlainBlocks& blocks = *opened.blocks;
    const YearResolver years = years_for(opened);
    int json = json_mode;
    if (json < 0) {
      absl::StatusOr<std::string> first = blocks.FirstNonBlankLine();
      if (!first.ok()) {
        errors[idx] = absl::Status(first.status().code(),
                                   absl::StrCat(first.status().message(), "; no lines were counted"));
        return;
      }
      json = LooksLikeJsonLine(*first) ? 1 : 0;
    }
    std::mutex error_mu;
    absl::Status read_error;
    size_t error_block = blocks.count();
    std::atomic<uint64_t> lines_done{0};
    std::atomic<uint64_t> read_bytes{0};
    size_t next = 0;
    tbb::parallel_pipeline(
        static_cast<size_t>(threads) * 2,
        tbb::make_filter<void, size_t>(tbb::filter_mode::serial_in_order,
                                       [&](tbb::flow_control& fc) -> size_t {
                                         if (spiller.failed || next >= blocks.count()) {
                                           fc.stop();
                                           return 0;
                                         }
                                         return next++;
                                       }) &
            tbb::make_filter<size_t, void>(tbb::filter_mode::parallel, [&](size_t i) {
              absl::StatusOr<std::string_view> data = blocks.Read(i, tls.local()->read_buf);
              if (!data.ok()) {
                std::lock_guard<std::mutex> lock(error_mu);
                if (i < error_block) {
                  error_block = i;
                  read_error = data.status();
                }
                return;
              }
              count_chunk(*data, years, json == 1, lines_done);
              read_bytes += blocks.block_bytes(i);
              if (options.progress != nullptr) {
                options.progress->fetch_add(blocks.block_bytes(i), std::memory_order_relaxed);
              }
            }));
    raw_bytes += read_bytes.load();
    if (!read_error.ok()) {
      errors[idx] = absl::Status(read_error.code(),
                                 absl::StrCat(read_error.message(), "; the ", lines_done.load(),
                                              " complete lines before it were counted"));
    }
  };

  arena.execute([&] {
    tbb::parallel_for(size_t{0}, inputs.size(), size_t{1}, [&](size_t idx) {
      if (spiller.failed) return;
      const io::InputSpec& spec = inputs[idx];
      absl::StatusOr<io::OpenedInput> opened =
          io::OpenInput(spec, options.chunk_size, options.map_files, /*plain_blocks=*/true,
                        options.stream_chunk_size);
      if (!opened.ok()) {
        errors[idx] = opened.status();
        return;
      }
      if (opened->blocks != nullptr) {
        CountBlocks(*opened, idx);
        return;
      }
      io::ReadAheadChunker* read_ahead = nullptr;
      if (opened->format != io::Format::kPlain && inputs.size() < static_cast<size_t>(threads)) {
        // A decoder is the serial part: give it a thread of its own while
        // there are more threads than inputs. (With as many inputs as
        // threads, each thread decodes and counts an input of its own; with
        // -j 1, everything stays on the one thread asked for.)
        auto ahead = std::make_unique<io::ReadAheadChunker>(std::move(opened->chunker),
                                                            static_cast<size_t>(threads) + 2);
        read_ahead = ahead.get();
        opened->chunker = std::move(ahead);
      }
      io::Chunker& chunker = *opened->chunker;
      const YearResolver years = years_for(*opened);
      const size_t max_tokens = static_cast<size_t>(threads) * 2;
      chunker.SetInFlightLimit(max_tokens);
      uint64_t reported = 0;  // raw bytes of this input already added to progress
      // Decided, when not fixed, in the serial stage before the first chunk
      // goes out.
      std::atomic<int> json{json_mode};
      absl::Status read_error;
      std::atomic<uint64_t> lines_done{0};
      if (read_ahead != nullptr) {
        // The decoding thread counts a chunk itself when two wait for the
        // workers (io/read_ahead.h); only once JSON or text is decided.
        read_ahead->SetHelper(
            [&](io::Chunk& chunk) {
              const int j = json.load();
              if (j < 0) return false;
              count_chunk(chunk.data, years, j == 1, lines_done);
              chunker.Recycle(chunk);
              return true;
            },
            2);
      }
      auto run_pipeline = [&] {
      tbb::parallel_pipeline(
          max_tokens,
          tbb::make_filter<void, io::Chunk*>(
              tbb::filter_mode::serial_in_order,
              [&](tbb::flow_control& fc) -> io::Chunk* {
                if (spiller.failed) {
                  fc.stop();
                  return nullptr;
                }
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
                if (json.load(std::memory_order_relaxed) < 0) {
                  std::string_view d = chunk->data;
                  size_t i = d.find_first_not_of(" \t\r\n");
                  if (i != std::string_view::npos) {
                    json = LooksLikeJsonLine(d.substr(i, d.find('\n', i) - i)) ? 1 : 0;
                  }
                }
                return chunk.release();
              }) &
              tbb::make_filter<io::Chunk*, void>(
                  tbb::filter_mode::parallel, [&](io::Chunk* chunk) {
                    std::unique_ptr<io::Chunk> owned(chunk);
                    count_chunk(chunk->data, years, json.load() == 1, lines_done);
                    chunker.Recycle(*chunk);
                  }));
      };
      if (read_ahead != nullptr) {
        // The decoding thread is one of this input's share of the threads
        // asked for: its workers are one fewer, so none competes with it for
        // a core (one input on -j 2: a decoder and one worker; two inputs on
        // -j 8: a decoder and three workers each).
        const int share = std::max(1, threads / static_cast<int>(inputs.size()));
        tbb::task_arena workers(std::max(1, share - 1));
        workers.execute(run_pipeline);
      } else {
        run_pipeline();
      }
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
      // Stop a read-ahead thread while what its helper uses is alive.
      opened->chunker.reset();
    });
  });

  trace.Mark("counted (read, parse, count)");
  std::vector<Local*> locals;
  for (auto& l : owned_locals) locals.push_back(l.get());
  RunStats& st = result.stats;
  for (Local* l : locals) {
    st.lines += l->stats.lines;
    st.records += l->stats.records;
    st.counted += l->stats.counted;
    st.filtered += l->stats.filtered;
    st.uncounted_other += l->stats.uncounted_other;
    st.malformed += l->eval.malformed();
    st.bytes += l->stats.bytes;
  }
  st.other = st.lines - st.records;
  st.raw_bytes = raw_bytes.load();
  st.inputs = inputs.size();
  for (absl::Status& s : errors) {
    if (!s.ok()) result.errors.push_back(std::move(s));
  }
  const size_t ncol = query.key().size();
  auto finish = [&] {
    st.spills = spiller.store.spills();
    trace.Mark("written");
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return std::move(result);
  };

  // Would the rows and display text of the in-memory result fit beside the
  // tables? If not, or if anything was spilled already, go external.
  uint64_t table_bytes = 0, entries_upper = 0;
  for (Local* l : locals) {
    table_bytes += l->table.memory_bytes();
    entries_upper += l->table.groups();
  }
  const bool external = spiller.store.spills() > 0 ||
                        table_bytes + entries_upper * (sizeof(Row) + 32) > budget;

  if (!external) {
    // Merge: one task per partition. The largest of a partition's tables is
    // taken over whole and the others are folded into it (with one thread,
    // nothing is rehashed); key bytes stay where they are.
    std::vector<HashTable> merged(kPartitions);
    std::vector<Arena> display(kPartitions);
    arena.execute([&] {
      tbb::parallel_for(size_t{0}, kPartitions, size_t{1}, [&](size_t p) {
        Local* largest = nullptr;
        for (Local* l : locals) {
          if (largest == nullptr || l->table.partition(p).size() > largest->table.partition(p).size()) {
            largest = l;
          }
        }
        if (largest == nullptr) return;
        merged[p] = std::move(largest->table.partition(p));
        for (Local* l : locals) {
          if (l == largest) continue;
          for (const Entry& e : l->table.partition(p).slots()) {
            if (e.key != nullptr) merged[p].AddStable(e);
          }
          l->table.partition(p).Clear();
        }
      });
    });
    trace.Mark("merged");
    // Every partition writes its rows straight into its own range of one
    // vector: no per-partition vectors to concatenate.
    std::vector<size_t> first(kPartitions + 1, 0);
    for (size_t p = 0; p < kPartitions; ++p) first[p + 1] = first[p] + merged[p].size();
    RowVector rows(first[kPartitions]);
    arena.execute([&] {
      tbb::parallel_for(size_t{0}, kPartitions, size_t{1}, [&](size_t p) {
        TableRowsTo(merged[p], ncol, display[p], rows.data() + first[p]);
        merged[p].Clear();
      });
    });
    st.groups = rows.size();
    trace.Mark("rows built");
    arena.execute([&] { SortRows(rows, options.top, ncol); });
    trace.Mark("sorted");
    if (absl::Status s = sink.Begin(st); !s.ok()) {
      result.fatal = s;
      return finish();
    }
    // After the sort, rows point at display text all over memory: load a
    // few rows ahead while the writer formats this one.
    constexpr size_t kAhead = 8;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i + kAhead < rows.size()) {
        __builtin_prefetch(rows[i + kAhead].display.data());
        __builtin_prefetch(rows[i + kAhead].key.data());
      }
      if (absl::Status s = sink.Add(rows[i]); !s.ok()) {
        result.fatal = s;
        return finish();
      }
    }
    return finish();
  }

  // External: everything still in memory goes to the spill files too, then
  // each partition is aggregated on its own within its share of the budget.
  for (Local* l : locals) {
    if (l->table.groups() > 0 && !spiller.failed) spiller.Spill(l->table, l->spill_writer);
  }
  if (spiller.failed) {
    result.fatal = spiller.error;
    return finish();
  }
  ExternalState ex;
  ex.dir = temp_dir;
  ex.ncol = ncol;
  ex.top = options.top;
  ex.share = budget / static_cast<uint64_t>(threads);
  ex.merge_memory = budget / 2;
  ex.trace = &trace;
  trace.Mark("spilled the rest");
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, kPartitions, size_t{1}, [&](size_t p) {
      std::unique_ptr<TempFile> f = spiller.store.Take(p);
      if (f != nullptr && !ex.failed()) AggregateFile(std::move(f), kPartitionBits, ex);
    });
  });
  trace.Mark("partitions aggregated into sorted runs");
  st.spilled_bytes = spiller.store.bytes() + ex.spilled.load();
  if (!ex.error.ok()) {
    result.fatal = ex.error;
    return finish();
  }
  st.groups = ex.groups.load();
  if (absl::Status s = sink.Begin(st); !s.ok()) {
    result.fatal = s;
    return finish();
  }
  // The aggregation's working memory is given back before the merge, which
  // has the budget's other half for its read buffers.
  ex.scratch.clear();
  // With -n, the runs hold each partition's top N rows: the overall top N
  // is among them, and the merge stops after N.
  if (absl::Status s = MergeRuns(ex, sink); !s.ok()) result.fatal = s;
  st.spilled_bytes = spiller.store.bytes() + ex.spilled.load();  // with the merge's passes
  return finish();
}

}  // namespace logtally::engine
