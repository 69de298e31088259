#include "engine/pipeline.h"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>

#include "io/input.h"
#include "absl/strings/str_cat.h"
#include "engine/simd/kernels.h"
#include "io/read_ahead.h"

namespace logtally::engine {

struct Workers::Impl {
  explicit Impl(int threads)
      : parallelism(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads)),
        arena(threads) {}
  tbb::global_control parallelism;
  tbb::task_arena arena;
};

Workers::Workers(size_t threads)
    : threads_(threads > 0 ? static_cast<int>(threads) : tbb::info::default_concurrency()),
      impl_(std::make_unique<Impl>(threads_)) {}

Workers::~Workers() = default;

void Workers::Run(const std::function<void()>& fn) { impl_->arena.execute(fn); }

void Workers::ParallelFor(size_t n, const std::function<void(size_t)>& fn) {
  impl_->arena.execute([&] { tbb::parallel_for(size_t{0}, n, size_t{1}, [&](size_t i) { fn(i); }); });
}

namespace {

// Bytes ahead of the current line to prefetch: about four typical lines,
// enough to hide DRAM latency at the scan rate, and within the same chunk
// most of the time (prefetching past the mapping is harmless: it never faults).
constexpr size_t kPrefetchAhead = 1024;

// JSON lines: the first non-blank line is one object, '{' to '}' (a
// pretty-printed document is not JSON lines).
bool LooksLikeJsonLine(std::string_view first) {
  size_t i = first.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return false;
  size_t last = first.find_last_not_of(" \t\r");
  return first[i] == '{' && last != std::string_view::npos && first[last] == '}';
}

// Counts the batched keys into the thread's tables.
void Flush(ThreadCounter& local) {
  local.batch.Drain([&local](uint64_t h, std::string_view key) { local.table.AddHashed(h, key); });
}

// The per-line loop: scans `data` (whole lines) for line ends, evaluates
// each line and counts its key into the thread's tables, spilling them when
// they outgrow the thread's share of the budget. The hot path of a run.
void ProcessChunk(ThreadCounter& local, std::string_view data, const simd::Kernels& k, Spiller& spiller,
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
          Flush(local);
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
  Flush(local);
  if (local.table.memory_bytes() > spiller.per_thread_budget) spiller.Spill(local.table, local.spill_writer);
  st.bytes += data.size();
}

// Keeps the last kEdgeBytes of everything appended.
void KeepTail(std::string& tail, std::string_view data) {
  if (data.size() >= kEdgeBytes) {
    tail.assign(data.substr(data.size() - kEdgeBytes));
    return;
  }
  tail.append(data);
  if (tail.size() > kEdgeBytes) tail.erase(0, tail.size() - kEdgeBytes);
}

// A stream's chunks on their way to the counters: keeps the input's edges,
// drops what comes before InputRange::skip and, with whole_lines, an
// unterminated last line; counts the decoded bytes passed on. Next is
// called by one thread at a time (the serial stage, or a read-ahead thread
// wrapped around this one), so nothing here needs a lock.
class RangeChunker final : public io::Chunker {
 public:
  RangeChunker(std::unique_ptr<io::Chunker> inner, InputRange range, bool edges, InputReport& report)
      : inner_(std::move(inner)), range_(range), edges_(edges), report_(report) {
    report_.start = range.skip;
  }
  absl::StatusOr<bool> Next(io::Chunk& chunk) override {
    for (;;) {
      absl::StatusOr<bool> more = inner_->Next(chunk);
      if (!more.ok() || !*more) return more;
      std::string_view data = chunk.data;
      if (edges_ && report_.head.size() < kEdgeBytes && chunk.offset == report_.head.size()) {
        report_.head.append(data.substr(0, kEdgeBytes - report_.head.size()));
      }
      if (chunk.offset + data.size() <= range_.skip) {
        if (edges_) KeepTail(report_.tail, data);
        inner_->Recycle(chunk);
        continue;
      }
      if (chunk.offset < range_.skip) {
        const size_t skipped = static_cast<size_t>(range_.skip - chunk.offset);
        if (edges_) KeepTail(report_.tail, data.substr(0, skipped));
        data.remove_prefix(skipped);
        chunk.offset = range_.skip;
      }
      if (range_.whole_lines && !data.empty() && data.back() != '\n') {
        // Only the last chunk of an input ends without a newline.
        const size_t nl = data.rfind('\n');
        const size_t keep = nl == std::string_view::npos ? 0 : nl + 1;
        report_.held = data.size() - keep;
        data = data.substr(0, keep);
      }
      if (data.empty()) {
        inner_->Recycle(chunk);
        continue;
      }
      chunk.data = data;
      report_.decoded += data.size();
      if (edges_) KeepTail(report_.tail, data);
      return true;
    }
  }
  void Recycle(io::Chunk& chunk) override { inner_->Recycle(chunk); }
  uint64_t raw_offset() const override { return inner_->raw_offset(); }
  uint64_t dropped_bytes() const override { return inner_->dropped_bytes(); }
  void SetInFlightLimit(size_t chunks) override { inner_->SetInFlightLimit(chunks); }

 private:
  std::unique_ptr<io::Chunker> inner_;
  InputRange range_;
  bool edges_;
  InputReport& report_;
};

// The end of the last complete line of the first `size` bytes of `fd` at or
// after `from`: `from` itself when there is none.
uint64_t LastLineEnd(int fd, uint64_t from, uint64_t size) {
  uint64_t hi = size;
  while (hi > from) {
    const uint64_t lo = hi - std::min<uint64_t>(hi - from, 64 << 10);
    std::string b = io::ReadUpTo(fd, lo, static_cast<size_t>(hi - lo));
    if (b.size() != hi - lo) return from;
    const size_t nl = b.rfind('\n');
    if (nl != std::string::npos) return lo + nl + 1;
    hi = lo;
  }
  return from;
}

// One call of CountInputs: what every input's pipeline shares.
class SinkRun {
 public:
  SinkRun(const Query& query, const std::vector<io::InputSpec>& inputs, const RunOptions& options,
          Workers& workers, Spiller& spiller)
      : query_(query), inputs_(inputs), options_(options), workers_(workers), spiller_(spiller),
        kernels_(simd::ActiveKernels()), threads_(workers.threads()),
        // JSON or text: 1 or 0 when fixed by --input; -1 when the input's
        // first non-blank line decides.
        json_mode_(options.input == RunOptions::InputMode::kJson   ? 1
                   : options.input == RunOptions::InputMode::kText ? 0
                                                                   : -1),
        tls_([this]() -> ThreadCounter* {
          auto c = std::make_unique<ThreadCounter>(query_, kernels_);
          ThreadCounter* raw = c.get();
          std::lock_guard<std::mutex> lock(counters_mu_);
          result_.counters.push_back(std::move(c));
          return raw;
        }) {
    result_.errors.resize(inputs.size());
    result_.inputs.resize(inputs.size());
  }

  SinkResult Run() {
    workers_.ParallelFor(inputs_.size(), [&](size_t idx) {
      if (spiller_.failed) return;
      absl::StatusOr<io::OpenedInput> opened =
          io::OpenInput(inputs_[idx], {.chunk_size = options_.chunk_size,
                                       .map_plain = options_.map_files,
                                       .plain_blocks = true,
                                       .stream_chunk_size = options_.stream_chunk_size});
      if (!opened.ok()) {
        result_.errors[idx] = opened.status();
        return;
      }
      InputReport& report = result_.inputs[idx];
      report.opened = true;
      report.format = opened->format;
      report.raw_size = opened->raw_size;
      report.mtime = opened->mtime;
      const InputRange range = options_.ranges != nullptr ? (*options_.ranges)[idx] : InputRange{};
      if (opened->blocks != nullptr) {
        CountBlocks(*opened, idx, range);
      } else {
        opened->chunker =
            std::make_unique<RangeChunker>(std::move(opened->chunker), range, options_.fingerprints, report);
        CountStream(*opened, idx);
      }
    });
    result_.raw_bytes = raw_bytes_.load();
    return std::move(result_);
  }

 private:
  // A plain regular file: blocks read and counted in parallel.
  void CountBlocks(io::OpenedInput& opened, size_t idx, const InputRange& range);
  // A decoded archive or a pipe: chunks cut serially, counted in parallel.
  void CountStream(io::OpenedInput& opened, size_t idx);

  // Counts a chunk of whole lines on the calling thread.
  void CountChunk(std::string_view data, const YearResolver& years, bool json,
                  std::atomic<uint64_t>& lines_done) {
    ThreadCounter& counter = *tls_.local();
    uint64_t before = counter.stats.lines;
    ProcessChunk(counter, data, kernels_, spiller_, years, json);
    lines_done += counter.stats.lines - before;
  }

  // BSD timestamps have no year: --year, else the file's modification time
  // (the time of the run for a pipe).
  YearResolver YearsFor(const io::OpenedInput& in) const {
    return options_.year > 0 ? YearResolver::ForYear(options_.year)
                             : YearResolver::ForMtime(in.mtime > 0 ? in.mtime
                                                                   : static_cast<int64_t>(::time(nullptr)));
  }

  const Query& query_;
  const std::vector<io::InputSpec>& inputs_;
  const RunOptions& options_;
  Workers& workers_;
  Spiller& spiller_;
  const simd::Kernels& kernels_;
  const int threads_;
  const int json_mode_;
  std::mutex counters_mu_;
  SinkResult result_;
  std::atomic<uint64_t> raw_bytes_{0};
  tbb::enumerable_thread_specific<ThreadCounter*> tls_;
};

// The serial stage only hands out block numbers; each block is read by the
// thread that counts it (io/plain_blocks.h).
void SinkRun::CountBlocks(io::OpenedInput& opened, size_t idx, const InputRange& range) {
  InputReport& report = result_.inputs[idx];
  // A part of the file, or its edges: a descriptor of our own for them (the
  // blocks own theirs).
  int fd = -1;
  if (range.skip > 0 || range.whole_lines || options_.fingerprints) {
    fd = ::open(inputs_[idx].path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      result_.errors[idx] =
          absl::NotFoundError(absl::StrCat(inputs_[idx].display, ": cannot open: ", std::strerror(errno)));
      return;
    }
  }
  struct CloseFd {
    int fd;
    ~CloseFd() {
      if (fd >= 0) ::close(fd);
    }
  } close_fd{fd};
  if (range.skip > 0 || range.whole_lines) {
    const uint64_t size = opened.raw_size;
    const uint64_t start = std::min(range.skip, size);
    const uint64_t end = range.whole_lines ? LastLineEnd(fd, start, size) : size;
    report.start = start;
    report.held = size - end;
    int own = ::dup(fd);
    if (own < 0) {
      result_.errors[idx] = absl::InternalError(absl::StrCat(inputs_[idx].display, ": ", std::strerror(errno)));
      return;
    }
    opened.blocks = std::make_unique<io::PlainBlocks>(own, true, inputs_[idx].display, start, end - start,
                                                      options_.chunk_size);
  }
  if (options_.fingerprints) report.head = io::ReadUpTo(fd, 0, kEdgeBytes);
  const io::PlainBlocks& blocks = *opened.blocks;
  const YearResolver years = YearsFor(opened);
  int json = json_mode_;
  if (json < 0) {
    absl::StatusOr<std::string> first = blocks.FirstNonBlankLine();
    if (!first.ok()) {
      result_.errors[idx] = absl::Status(
          first.status().code(), absl::StrCat(first.status().message(), "; no lines were counted"));
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
      static_cast<size_t>(threads_) * 2,
      tbb::make_filter<void, size_t>(tbb::filter_mode::serial_in_order,
                                     [&](tbb::flow_control& fc) -> size_t {
                                       if (spiller_.failed || next >= blocks.count()) {
                                         fc.stop();
                                         return 0;
                                       }
                                       return next++;
                                     }) &
          tbb::make_filter<size_t, void>(tbb::filter_mode::parallel, [&](size_t i) {
            absl::StatusOr<std::string_view> data = blocks.Read(i, tls_.local()->read_buf);
            if (!data.ok()) {
              std::lock_guard<std::mutex> lock(error_mu);
              if (i < error_block) {
                error_block = i;
                read_error = data.status();
              }
              return;
            }
            CountChunk(*data, years, json == 1, lines_done);
            read_bytes += blocks.block_bytes(i);
            if (options_.progress != nullptr) {
              options_.progress->fetch_add(blocks.block_bytes(i), std::memory_order_relaxed);
            }
          }));
  raw_bytes_ += read_bytes.load();
  report.raw_read = report.start + read_bytes.load();
  report.decoded = read_bytes.load();
  if (options_.fingerprints) {
    const uint64_t end = report.start + report.decoded;
    const uint64_t n = std::min<uint64_t>(end, kEdgeBytes);
    report.tail = io::ReadUpTo(fd, end - n, static_cast<size_t>(n));
  }
  if (!read_error.ok()) {
    result_.errors[idx] = absl::Status(read_error.code(),
                                       absl::StrCat(read_error.message(), "; the ", lines_done.load(),
                                                    " complete lines before it were counted"));
  }
}

void SinkRun::CountStream(io::OpenedInput& opened, size_t idx) {
  io::ReadAheadChunker* read_ahead = nullptr;
  if (opened.format != io::Format::kPlain && inputs_.size() < static_cast<size_t>(threads_)) {
    // A decoder is the serial part: give it a thread of its own while
    // there are more threads than inputs. (With as many inputs as
    // threads, each thread decodes and counts an input of its own; with
    // -j 1, everything stays on the one thread asked for.)
    auto ahead = std::make_unique<io::ReadAheadChunker>(std::move(opened.chunker),
                                                        static_cast<size_t>(threads_) + 2);
    read_ahead = ahead.get();
    opened.chunker = std::move(ahead);
  }
  io::Chunker& chunker = *opened.chunker;
  const YearResolver years = YearsFor(opened);
  const size_t max_tokens = static_cast<size_t>(threads_) * 2;
  chunker.SetInFlightLimit(max_tokens);
  uint64_t reported = 0;  // raw bytes of this input already added to progress
  // Decided, when not fixed, in the serial stage before the first chunk
  // goes out.
  std::atomic<int> json{json_mode_};
  absl::Status read_error;
  std::atomic<uint64_t> lines_done{0};
  if (read_ahead != nullptr) {
    // The decoding thread counts a chunk itself when two wait for the
    // workers (io/read_ahead.h); only once JSON or text is decided.
    read_ahead->SetHelper(
        [&](io::Chunk& chunk) {
          const int j = json.load();
          if (j < 0) return false;
          CountChunk(chunk.data, years, j == 1, lines_done);
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
              if (spiller_.failed) {
                fc.stop();
                return nullptr;
              }
              auto chunk = std::make_unique<io::Chunk>();
              absl::StatusOr<bool> more = chunker.Next(*chunk);
              if (options_.progress != nullptr) {
                uint64_t now = chunker.raw_offset();
                options_.progress->fetch_add(now - reported, std::memory_order_relaxed);
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
                  CountChunk(chunk->data, years, json.load() == 1, lines_done);
                  chunker.Recycle(*chunk);
                }));
  };
  if (read_ahead != nullptr) {
    // The decoding thread is one of this input's share of the threads
    // asked for: its workers are one fewer, so none competes with it for
    // a core (one input on -j 2: a decoder and one worker; two inputs on
    // -j 8: a decoder and three workers each).
    const int share = std::max(1, threads_ / static_cast<int>(inputs_.size()));
    tbb::task_arena decoder_share(std::max(1, share - 1));
    decoder_share.execute(run_pipeline);
  } else {
    run_pipeline();
  }
  raw_bytes_ += chunker.raw_offset();
  result_.inputs[idx].raw_read = chunker.raw_offset();
  if (!read_error.ok()) {
    std::string msg = absl::StrCat(read_error.message(), "; the ", lines_done.load(),
                                   " complete lines before it were counted");
    if (chunker.dropped_bytes() > 0) {
      absl::StrAppend(&msg, ", an incomplete last line of ", chunker.dropped_bytes(),
                      " bytes was not");
    }
    result_.errors[idx] = absl::Status(read_error.code(), msg);
  }
  // Stop a read-ahead thread while what its helper uses is alive.
  opened.chunker.reset();
}

}  // namespace

SinkResult CountInputs(const Query& query, const std::vector<io::InputSpec>& inputs,
                       const RunOptions& options, Workers& workers, Spiller& spiller) {
  return SinkRun(query, inputs, options, workers, spiller).Run();
}

}  // namespace logtally::engine
