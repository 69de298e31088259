#include "engine/external_merge.h"

#include <tbb/enumerable_thread_specific.h>

#include <algorithm>
#include <utility>

#include "engine/key.h"
#include "io/big_alloc.h"

namespace logtally::engine {

void Spiller::Fail(absl::Status s) {
  std::lock_guard<std::mutex> lock(mu);
  if (error.ok()) error = std::move(s);
  failed = true;
}

void Spiller::Spill(PartitionedTable& t, GatherWriter& w) {
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

namespace {

// A spilled partition too large for its share of the budget is split by the
// next hash bits into as many files as its size asks for (a power of two, a
// quarter more than the bare quotient, since hash bits split only about
// evenly), at most this many per pass.
constexpr int kMaxRepartitionBits = 8;

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

}  // namespace

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

// One run's external aggregation and merge (ExternalMerge's state).
struct ExternalState {
  explicit ExternalState(ExternalMergeOptions o)
      : dir(std::move(o.dir)), ncol(o.ncol), top(o.top), share(o.share),
        merge_memory(o.merge_memory), trace(o.trace) {}
  std::string dir;
  size_t ncol;
  size_t top;
  uint64_t share;  // memory for one partition's aggregation
  uint64_t merge_memory;  // the final merge's read buffers, all runs together
  const PhaseTrace* trace = nullptr;
  mutable std::mutex mu;
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
  bool failed() const {
    std::lock_guard<std::mutex> lock(mu);
    return !error.ok();
  }
};

namespace {

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
  rows.resize(table.size());
  TableRowsTo(table, ex.ncol, display, rows.data());
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

ExternalMerge::ExternalMerge(ExternalMergeOptions options)
    : state_(std::make_unique<ExternalState>(std::move(options))) {}
ExternalMerge::~ExternalMerge() = default;

void ExternalMerge::Aggregate(std::unique_ptr<TempFile> file, int bits_used) {
  if (state_->failed()) return;
  AggregateFile(std::move(file), bits_used, *state_);
}

absl::Status ExternalMerge::Merge(RowSink& sink) {
  // The aggregation's working memory is given back before the merge, which
  // has the budget's other half for its read buffers.
  state_->scratch.clear();
  return MergeRuns(*state_, sink);
}

absl::Status ExternalMerge::error() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->error;
}
bool ExternalMerge::failed() const { return state_->failed(); }
uint64_t ExternalMerge::groups() const { return state_->groups.load(); }
uint64_t ExternalMerge::spilled_bytes() const { return state_->spilled.load(); }
size_t ExternalMerge::runs() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->runs.size();
}

}  // namespace logtally::engine
