#include "engine/tally_merge.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/external_merge.h"
#include "engine/key.h"
#include "engine/pipeline.h"
#include "engine/spill.h"
#include "io/strings.h"

namespace logtally::engine {
namespace {

// What one tally run being read holds in memory: a block raw and compressed,
// and room for the next record past the block's end.
constexpr uint64_t kTallySourceBytes = 3 * kTallyBlockBytes;
// An intermediate run (a merge in several passes) is read through this much.
constexpr size_t kTempRunBuffer = size_t{16} << 10;
constexpr uint64_t kTempSourceBytes = 2 * kTempRunBuffer;
// Spill records of one partition are written out in pieces of this size;
// a narrowing merge writes to every partition at once and uses a sixteenth.
constexpr size_t kFlushBytes = size_t{256} << 10;

// A stream of (key, count) records in ascending key order, each key once.
// key() stays valid until the next call of Next.
class KeySource {
 public:
  virtual ~KeySource() = default;
  virtual absl::StatusOr<bool> Next() = 0;
  virtual std::string_view key() const = 0;
  virtual uint64_t count() const = 0;
};

class TallySource final : public KeySource {
 public:
  TallySource(const TallyFile& f, const std::vector<size_t>& blocks) : reader_(f, blocks) {}
  absl::StatusOr<bool> Next() override { return reader_.Next(); }
  std::string_view key() const override { return reader_.key(); }
  uint64_t count() const override { return reader_.count(); }

 private:
  TallyRunReader reader_;
};

// An intermediate run: spill records (varint key length, key, varint count)
// in key order, in a temporary file it owns.
class TempRunSource final : public KeySource {
 public:
  explicit TempRunSource(std::unique_ptr<TempFile> f) : file_(std::move(f)), reader_(file_.get(), kTempRunBuffer) {}
  absl::StatusOr<bool> Next() override {
    reader_.Consume(used_);
    absl::StatusOr<size_t> avail = reader_.Fill(kMaxVarint);
    if (!avail.ok()) return avail.status();
    if (*avail == 0) return false;
    uint64_t len = 0;
    const size_t a = ParseVarint(reader_.data(), *avail, &len);
    if (a == 0) return absl::DataLossError("corrupt temporary run data");
    avail = reader_.Fill(a + len + kMaxVarint);
    if (!avail.ok()) return avail.status();
    if (*avail < a + len + 1) return absl::DataLossError("corrupt temporary run data");
    const size_t b = ParseVarint(reader_.data() + a + len, *avail - a - len, &count_);
    if (b == 0) return absl::DataLossError("corrupt temporary run data");
    key_ = std::string_view(reader_.data() + a, len);
    used_ = a + len + b;
    return true;
  }
  std::string_view key() const override { return key_; }
  uint64_t count() const override { return count_; }

 private:
  std::unique_ptr<TempFile> file_;
  TempReader reader_;
  size_t used_ = 0;  // bytes of the current record, consumed by the next call
  std::string_view key_;
  uint64_t count_ = 0;
};

// Merges sources by key with a tree of losers (as external_merge.cc merges
// runs by row order), summing the counts of equal keys.
class KeyMerger final : public KeySource {
 public:
  explicit KeyMerger(std::vector<std::unique_ptr<KeySource>> sources) : src_(std::move(sources)) {}
  absl::StatusOr<bool> Next() override {
    const size_t k = src_.size();
    if (!started_) {
      started_ = true;
      done_.assign(k, 0);
      for (size_t i = 0; i < k; ++i) {
        absl::StatusOr<bool> more = src_[i]->Next();
        if (!more.ok()) return more.status();
        done_[i] = *more ? 0 : 1;
      }
      if (k == 0) return false;
      tree_.assign(k, 0);
      auto build = [&](auto& self, size_t node) -> size_t {
        if (node >= k) return node - k;
        size_t a = self(self, 2 * node), b = self(self, 2 * node + 1);
        if (Before(b, a)) std::swap(a, b);
        tree_[node] = b;
        return a;
      };
      tree_[0] = k == 1 ? 0 : build(build, 1);
    }
    if (k == 0 || done_[tree_[0]] != 0) return false;
    key_.assign(src_[tree_[0]]->key());
    count_ = 0;
    while (done_[tree_[0]] == 0 && src_[tree_[0]]->key() == key_) {
      count_ += src_[tree_[0]]->count();
      if (absl::Status s = Advance(); !s.ok()) return s;
    }
    return true;
  }
  std::string_view key() const override { return key_; }
  uint64_t count() const override { return count_; }

 private:
  bool Before(size_t a, size_t b) const {
    if (done_[a] != 0) return false;
    if (done_[b] != 0) return true;
    return src_[a]->key() < src_[b]->key();
  }
  // Moves the winner on and replays its path to the root.
  absl::Status Advance() {
    const size_t k = src_.size();
    size_t w = tree_[0];
    absl::StatusOr<bool> more = src_[w]->Next();
    if (!more.ok()) return more.status();
    if (!*more) {
      done_[w] = 1;
      src_[w].reset(new EmptySource());  // its buffers are not needed any more
    }
    for (size_t node = (w + k) / 2; node >= 1; node /= 2) {
      if (Before(tree_[node], w)) std::swap(tree_[node], w);
    }
    tree_[0] = w;
    return absl::OkStatus();
  }
  class EmptySource final : public KeySource {
   public:
    absl::StatusOr<bool> Next() override { return false; }
    std::string_view key() const override { return {}; }
    uint64_t count() const override { return 0; }
  };

  std::vector<std::unique_ptr<KeySource>> src_;
  std::vector<char> done_;
  std::vector<size_t> tree_;
  bool started_ = false;
  std::string key_;
  uint64_t count_ = 0;
};

// Writes every record of `src` to a new temporary file as a run.
absl::StatusOr<std::unique_ptr<TempFile>> WriteRun(KeySource& src, const std::string& dir) {
  absl::StatusOr<std::unique_ptr<TempFile>> f = TempFile::Create(dir);
  if (!f.ok()) return f.status();
  std::string buf;
  uint64_t records = 0;
  for (;;) {
    absl::StatusOr<bool> more = src.Next();
    if (!more.ok()) return more.status();
    if (!*more) break;
    AppendVarint(buf, src.key().size());
    buf.append(src.key());
    AppendVarint(buf, src.count());
    ++records;
    if (buf.size() >= kFlushBytes) {
      (*f)->AddRecords(records);
      records = 0;
      if (absl::Status s = (*f)->Append(buf); !s.ok()) return s;
      buf.clear();
    }
  }
  (*f)->AddRecords(records);
  if (absl::Status s = (*f)->Append(buf); !s.ok()) return s;
  return f;
}

// One merger over the runs partition p has in `tallies`, within `memory`:
// with more runs than that holds blocks for, groups of them are first
// merged into intermediate runs (GNU sort's multi-pass merge), as often as
// it takes.
absl::StatusOr<std::unique_ptr<KeySource>> PartitionMerger(const std::vector<const TallyFile*>& tallies, size_t p,
                                                           uint64_t memory, const std::string& dir) {
  std::vector<std::unique_ptr<KeySource>> sources;
  for (const TallyFile* t : tallies) {
    for (const std::vector<size_t>& run : t->runs(p)) sources.push_back(std::make_unique<TallySource>(*t, run));
  }
  uint64_t per_source = kTallySourceBytes;
  for (;;) {
    const size_t fanin = static_cast<size_t>(std::max<uint64_t>(2, memory / per_source));
    if (sources.size() <= fanin) break;
    std::vector<std::unique_ptr<KeySource>> next;
    const size_t groups = (sources.size() + fanin - 1) / fanin;
    const size_t per = (sources.size() + groups - 1) / groups;
    for (size_t at = 0; at < sources.size(); at += per) {
      std::vector<std::unique_ptr<KeySource>> group;
      for (size_t i = at; i < std::min(sources.size(), at + per); ++i) group.push_back(std::move(sources[i]));
      KeyMerger m(std::move(group));
      absl::StatusOr<std::unique_ptr<TempFile>> run = WriteRun(m, dir);
      if (!run.ok()) return run.status();
      next.push_back(std::make_unique<TempRunSource>(std::move(*run)));
    }
    sources = std::move(next);
    per_source = kTempSourceBytes;
  }
  return std::unique_ptr<KeySource>(new KeyMerger(std::move(sources)));
}

// Spill records bound for the partitions' files, buffered per partition.
class SpillOut {
 public:
  SpillOut(SpillStore& store, size_t flush_at) : store_(store), flush_at_(flush_at), bufs_(kPartitions),
                                                 records_(kPartitions, 0) {}
  absl::Status Add(size_t p, std::string_view key, uint64_t count) {
    std::string& b = bufs_[p];
    AppendVarint(b, key.size());
    b.append(key);
    AppendVarint(b, count);
    ++records_[p];
    return b.size() >= flush_at_ ? Flush(p) : absl::OkStatus();
  }
  absl::Status Flush(size_t p) {
    if (records_[p] == 0) return absl::OkStatus();
    absl::Status s = store_.AppendBytes(p, bufs_[p], records_[p]);
    bufs_[p].clear();
    records_[p] = 0;
    return s;
  }
  absl::Status FlushAll() {
    for (size_t p = 0; p < kPartitions; ++p) {
      if (absl::Status s = Flush(p); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  SpillStore& store_;
  size_t flush_at_;
  std::vector<std::string> bufs_;
  std::vector<uint64_t> records_;
};

// The first error of the partitions' tasks.
struct FirstError {
  std::mutex mu;
  absl::Status error;
  std::atomic<bool> failed{false};
  void Fail(absl::Status s) {
    std::lock_guard<std::mutex> lock(mu);
    if (error.ok()) error = std::move(s);
    failed = true;
  }
};

// What the two phases of a merge or a diff share.
struct Setup {
  explicit Setup(const MergeOptions& o)
      : workers(o.threads),
        budget(o.memory > 0 ? o.memory : DefaultMemoryBudget()),
        dir(o.temp_dir.empty() ? DefaultTempDir() : o.temp_dir),
        share(budget / static_cast<uint64_t>(workers.threads())),
        store(dir, kPartitions) {}
  Workers workers;
  uint64_t budget;
  std::string dir;
  uint64_t share;  // one task's memory
  SpillStore store;
};

// The partitions' records, in the spill store, ordered as a count orders its
// groups and handed to the sink.
absl::Status Finish(Setup& s, size_t ncol, const MergeOptions& o, RunStats& stats, RowSink& sink) {
  ExternalMerge ex({.dir = s.dir,
                    .ncol = ncol,
                    .top = o.top,
                    .share = s.share,
                    .merge_memory = s.budget / 2,
                    .trace = nullptr,
                    .save = o.save});
  s.workers.ParallelFor(kPartitions, [&](size_t p) {
    std::unique_ptr<TempFile> f = s.store.Take(p);
    if (f != nullptr) ex.Aggregate(std::move(f), kPartitionBits);
  });
  if (absl::Status e = ex.error(); !e.ok()) return e;
  stats.groups = ex.groups();
  if (absl::Status e = sink.Begin(stats); !e.ok()) return e;
  absl::Status e = ex.Merge(sink);
  stats.spilled_bytes = s.store.bytes() + ex.spilled_bytes();
  return e;
}

}  // namespace

absl::StatusOr<Narrowing> PlanNarrowing(const TallyMeta& meta, std::string_view key_spec,
                                        const std::vector<std::string>& where, TallyMeta* narrowed) {
  Narrowing n;
  *narrowed = meta;
  const std::string saved = absl::StrJoin(meta.key, ",");
  if (!where.empty()) {
    absl::StatusOr<Query> q = Query::Parse(saved, where);
    if (!q.ok()) return q.status();
    for (const Condition& c : q->conditions()) {
      size_t column = q->key().size();
      for (size_t i = 0; i < q->key().size(); ++i) {
        if (q->key()[i] == c.slot) column = i;
      }
      if (column == q->key().size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot apply -w '", c.text, "' to these tallies: they keep only their groups of '", saved,
            "', so a condition must test one of those columns"));
      }
      n.conditions.push_back({column, c});
    }
  }
  if (!key_spec.empty() && key_spec != saved) {
    absl::StatusOr<Query> nq = Query::Parse(key_spec, {});
    if (!nq.ok()) return nq.status();
    // A coarser time key is the first bytes of a finer one.
    struct Coarser {
      const char* to;
      const char* from;
      size_t prefix;
    };
    static constexpr Coarser kCoarser[] = {{"day", "hour", 10},   {"month", "day", 7},   {"month", "hour", 7},
                                           {"hour", "minute", 13}, {"day", "minute", 10}, {"month", "minute", 7}};
    std::vector<std::string> names = nq->column_names();
    for (const std::string& name : names) {
      Narrowing::Column col;
      bool found = false;
      for (size_t i = 0; i < meta.key.size() && !found; ++i) {
        if (meta.key[i] == name) {
          col.from = i;
          found = true;
        }
      }
      for (const Coarser& c : kCoarser) {
        for (size_t i = 0; i < meta.key.size() && !found; ++i) {
          if (name == c.to && meta.key[i] == c.from) {
            col = {i, c.prefix};
            found = true;
          }
        }
      }
      if (!found) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot count by '", name, "' from these tallies: it is not a column of their key '", saved,
            "' nor computed from one (day from hour, ...); count the logs again for it"));
      }
      n.columns.push_back(col);
    }
    absl::StatusOr<Query> oq = Query::Parse(saved, {});
    if (oq.ok() && oq->key_needs_record() && !nq->key_needs_record() && meta.totals.uncounted_other > 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot count by '", AV(key_spec), "' from these tallies: it counts every line, and the ",
          meta.totals.uncounted_other, " lines without a netfilter record were not kept"));
    }
    narrowed->key = names;
  }
  for (const std::string& w : where) {
    if (std::find(narrowed->where.begin(), narrowed->where.end(), w) == narrowed->where.end()) {
      narrowed->where.push_back(w);
    }
  }
  // Only the parameters that still change a value stay, as a count of the
  // narrower query would write them.
  absl::StatusOr<Query> fq = Query::Parse(absl::StrJoin(narrowed->key, ","), narrowed->where);
  if (!fq.ok()) return fq.status();
  bool window = false;
  for (const auto& [name, value] : meta.params) window = window || name == "since" || name == "until";
  bool uses_service = false;
  for (const Field& f : fq->slots()) uses_service = uses_service || f.kind == FieldKind::kService;
  const bool time = window || fq->needs_time();
  narrowed->params.clear();
  for (const auto& pv : meta.params) {
    const std::string& name = pv.first;
    if (!time && (name == "utc" || name == "year" || name == "tz")) continue;
    if (!uses_service && name == "services") continue;
    narrowed->params.push_back(pv);
  }
  return n;
}

MergeResult MergeTallies(const std::vector<const TallyFile*>& tallies, const MergeOptions& o, RowSink& sink) {
  MergeResult result;
  if (tallies.empty()) {
    result.fatal = absl::InvalidArgumentError("no tallies to merge");
    return result;
  }
  Setup s(o);
  const size_t ncol_old = tallies[0]->meta().key.size();
  const Narrowing* nar = o.narrowing != nullptr && o.narrowing->active() ? o.narrowing : nullptr;
  const size_t ncol = nar != nullptr && !nar->columns.empty() ? nar->columns.size() : ncol_old;
  const bool rekey = nar != nullptr && !nar->columns.empty();
  std::atomic<uint64_t> dropped{0};
  FirstError err;
  s.workers.ParallelFor(kPartitions, [&](size_t p) {
    if (err.failed) return;
    // Writing to every partition at once, each buffer is smaller.
    SpillOut out(s.store, rekey ? kFlushBytes / 16 : kFlushBytes);
    absl::StatusOr<std::unique_ptr<KeySource>> m =
        PartitionMerger(tallies, p, s.share > 2 * kFlushBytes ? s.share - 2 * kFlushBytes : s.share, s.dir);
    if (!m.ok()) return err.Fail(m.status());
    std::vector<std::string_view> vals(ncol_old);
    std::string key;
    uint64_t gone = 0;
    for (;;) {
      absl::StatusOr<bool> more = (*m)->Next();
      if (!more.ok()) return err.Fail(more.status());
      if (!*more) break;
      if (nar == nullptr) {
        if (absl::Status st = out.Add(p, (*m)->key(), (*m)->count()); !st.ok()) return err.Fail(st);
        continue;
      }
      DecodeKey((*m)->key(), ncol_old, vals.data());
      bool keep = true;
      for (const Narrowing::Cond& c : nar->conditions) keep = keep && ConditionHolds(c.condition, vals[c.column]);
      if (!keep) {
        gone += (*m)->count();
        continue;
      }
      size_t target = p;
      std::string_view k = (*m)->key();
      if (rekey) {
        key.clear();
        for (const Narrowing::Column& c : nar->columns) {
          std::string_view v = vals[c.from];
          if (c.prefix > 0 && v.size() > c.prefix) v = v.substr(0, c.prefix);
          AppendKeyValue(key, v);
        }
        k = key;
        target = PartitionedTable::PartitionOf(HashBytes(k.data(), k.size()));
      }
      if (absl::Status st = out.Add(target, k, (*m)->count()); !st.ok()) return err.Fail(st);
    }
    dropped += gone;
    if (absl::Status st = out.FlushAll(); !st.ok()) err.Fail(st);
  });
  TallyTotals totals;
  RunStats& st = result.stats;
  for (const TallyFile* t : tallies) {
    totals.Add(t->meta().totals);
    const TallyMeta& m = t->meta();
    if (m.has_span) {
      if (!st.has_span || m.first < st.first) st.first = m.first;
      if (!st.has_span || m.last > st.last) st.last = m.last;
      st.has_span = true;
    }
    st.inputs += m.inputs.size();
  }
  const bool has_span = st.has_span;
  const int64_t first = st.first, last = st.last;
  const uint64_t inputs = st.inputs;
  st = StatsOf(totals);
  st.has_span = has_span;
  st.first = first;
  st.last = last;
  st.inputs = inputs;
  st.counted -= dropped.load();
  st.filtered += dropped.load();
  if (err.failed) {
    result.fatal = err.error;
    return result;
  }
  result.fatal = Finish(s, ncol, o, st, sink);
  return result;
}

DiffResult DiffTallies(const TallyFile& older, const TallyFile& newer, const MergeOptions& o, RowSink& sink) {
  DiffResult result;
  Setup s(o);
  const size_t ncol = older.meta().key.size();
  std::atomic<uint64_t> added{0}, gone{0}, changed{0}, unchanged{0};
  FirstError err;
  s.workers.ParallelFor(kPartitions, [&](size_t p) {
    if (err.failed) return;
    SpillOut out(s.store, kFlushBytes);
    const uint64_t half = s.share > 2 * kFlushBytes ? (s.share - 2 * kFlushBytes) / 2 : s.share / 2;
    absl::StatusOr<std::unique_ptr<KeySource>> a = PartitionMerger({&older}, p, half, s.dir);
    if (!a.ok()) return err.Fail(a.status());
    absl::StatusOr<std::unique_ptr<KeySource>> b = PartitionMerger({&newer}, p, half, s.dir);
    if (!b.ok()) return err.Fail(b.status());
    KeySource& A = **a;
    KeySource& B = **b;
    uint64_t n_added = 0, n_gone = 0, n_changed = 0, n_same = 0;
    std::string key;
    auto emit = [&](std::string_view k, uint64_t was, uint64_t now) {
      key.assign(k);
      AppendKeyValue(key, absl::StrCat(was));
      AppendKeyValue(key, absl::StrCat(now));
      return out.Add(p, key, now > was ? now - was : was - now);
    };
    absl::StatusOr<bool> am = A.Next(), bm = B.Next();
    for (;;) {
      if (!am.ok()) return err.Fail(am.status());
      if (!bm.ok()) return err.Fail(bm.status());
      if (!*am && !*bm) break;
      absl::Status st;
      if (*bm && (!*am || B.key() < A.key())) {
        ++n_added;
        st = emit(B.key(), 0, B.count());
        bm = B.Next();
      } else if (*am && (!*bm || A.key() < B.key())) {
        ++n_gone;
        st = emit(A.key(), A.count(), 0);
        am = A.Next();
      } else {
        if (A.count() != B.count()) {
          ++n_changed;
          st = emit(A.key(), A.count(), B.count());
        } else {
          ++n_same;
        }
        am = A.Next();
        bm = B.Next();
      }
      if (!st.ok()) return err.Fail(st);
    }
    added += n_added;
    gone += n_gone;
    changed += n_changed;
    unchanged += n_same;
    if (absl::Status st = out.FlushAll(); !st.ok()) err.Fail(st);
  });
  result.added = added;
  result.gone = gone;
  result.changed = changed;
  result.unchanged = unchanged;
  if (err.failed) {
    result.fatal = err.error;
    return result;
  }
  RunStats st = StatsOf(newer.meta().totals);
  MergeOptions diff_options = o;
  diff_options.save = nullptr;
  result.fatal = Finish(s, ncol, diff_options, st, sink);
  return result;
}

}  // namespace logtally::engine
