// The logtally command line: a thin layer that parses options (CLI11), builds
// a Query, runs the engine and writes the result. Exit status: 0 success,
// 2 usage error or any input/output error (results of good inputs are still
// written).
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/count_run.h"
#include "engine/output.h"
#include "engine/query.h"
#include "engine/simd/kernels.h"
#include "engine/spill.h"
#include "io/atomic_file.h"
#include "io/mapped_file.h"
#include "io/paths.h"

namespace logtally::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 2;
constexpr const char* kVersion = "0.1.0";

std::string Thousands(uint64_t v) {
  std::string digits = absl::StrCat(v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string HumanBytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  return absl::StrFormat(u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
}

std::string Summary(const engine::RunStats& s) {
  std::string out = absl::StrCat("logtally: ", Thousands(s.lines), " lines (", Thousands(s.records),
                                 " netfilter records, ", Thousands(s.other), " other lines): ",
                                 Thousands(s.counted), " counted in ", Thousands(s.groups),
                                 " groups, ", Thousands(s.filtered), " filtered out");
  if (s.uncounted_other > 0) {
    absl::StrAppend(&out, ", ", Thousands(s.uncounted_other), " other lines not counted");
  }
  absl::StrAppend(&out, "; ", HumanBytes(static_cast<double>(s.bytes)));
  if (s.raw_bytes != s.bytes) {
    absl::StrAppend(&out, " (", HumanBytes(static_cast<double>(s.raw_bytes)), " read)");
  }
  if (s.spills > 0) {
    absl::StrAppend(&out, "; over the memory budget: spilled ", s.spills, " times, ",
                    HumanBytes(static_cast<double>(s.spilled_bytes)), " of temporary files");
  }
  double secs = std::max(s.seconds, 1e-9);
  absl::StrAppend(&out, " in ", absl::StrFormat("%.2f", s.seconds), " s (",
                  HumanBytes(static_cast<double>(s.bytes) / secs), "/s)");
  return out;
}

// A progress line on standard error while a long run goes on: shown only
// when standard error is a terminal, from one second in, four times a second.
class Progress {
 public:
  Progress(bool enabled, uint64_t total) : total_(total) {
    if (!enabled) return;
    thread_ = std::thread([this] { Loop(); });
  }
  ~Progress() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (shown_) std::fprintf(stderr, "\r\x1b[K");
  }
  std::atomic<uint64_t>* counter() { return &bytes_; }

 private:
  void Loop() {
    auto start = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return done_; })) {
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (secs < 1.0) continue;
      uint64_t b = bytes_.load(std::memory_order_relaxed);
      std::string line = absl::StrCat(HumanBytes(static_cast<double>(b)), " read, ",
                                      HumanBytes(static_cast<double>(b) / secs), "/s");
      if (total_ > 0) {
        double frac = std::min(1.0, static_cast<double>(b) / static_cast<double>(total_));
        int filled = static_cast<int>(frac * 30);
        line = absl::StrCat("[", std::string(static_cast<size_t>(filled), '#'),
                            std::string(static_cast<size_t>(30 - filled), ' '), "] ",
                            absl::StrFormat("%3.0f%%", frac * 100), " ", line);
      }
      std::fprintf(stderr, "\rlogtally: %s\x1b[K", line.c_str());
      std::fflush(stderr);
      shown_ = true;
    }
  }

  uint64_t total_;
  std::atomic<uint64_t> bytes_{0};
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool shown_ = false;
};

int UsageError(const std::string& msg, const std::string& command) {
  std::fprintf(stderr, "logtally: %s (see 'logtally %s--help')\n", msg.c_str(),
               command.empty() ? "" : (command + " ").c_str());
  return kExitError;
}

std::string VersionText() {
  std::vector<std::string> names;
  for (const auto* k : engine::simd::SupportedKernels()) names.push_back(k->name);
  return absl::StrCat("logtally ", kVersion, "\nSIMD kernel: ", engine::simd::ActiveKernels().name,
                      " (supported here: ", absl::StrJoin(names, ", "),
                      "; set LOGTALLY_KERNEL to choose)");
}

constexpr const char* kCountFooter = R"(
Keys (-k, comma-separated): netfilter fields as written (SRC, DST, SPT, DPT,
PROTO, IN, OUT, MAC, LEN, TTL, ...), TIME, HOST, PREFIX, line (the whole line)
and $1, $2, ... (words). Keys of only line/$N count every line; any netfilter
field counts only netfilter records (other lines are reported, not counted).

Conditions (-w, repeatable, all must hold):
  KEY=V  KEY!=V  KEY=V1,V2 (any of)  KEY!=V1,V2 (none of)
  KEY=LO-HI (numeric range)  SRC=10.0.0.0/8  DST=2001:db8::/32 (CIDR)

Examples:
  logtally count -k DST,DPT,PROTO /var/log/kern.log
  logtally count -k SRC,DST,DPT,PROTO -w DPT!=53,123,80,443 -n 20 fw.log
  logtally count -k DPT -w PROTO=UDP -w DPT=1-1023 -f csv -o ports.csv fw.log
  logtally count -k PREFIX --percent /var/log/ufw.log
  zcat fw.log.2.gz | logtally count -k SRC -w SRC=192.168.0.0/16 -
  logtally count -k '$5' app.log        # like awk '{print $5}' | sort | uniq -c | sort -rn

Exit status: 0 success; 2 usage error, or an input that could not be read
(the other inputs are still counted and printed), or the output could not be
written.)";

// Streams the run's rows into a RowWriter once the counts are known.
class WriterSink : public engine::RowSink {
 public:
  WriterSink(engine::WriteOptions opt, io::OutputFile& out) : opt_(std::move(opt)), out_(out) {}
  absl::Status Begin(const engine::RunStats& stats) override {
    opt_.counted = stats.counted;
    writer_.emplace(opt_, out_);
    return absl::OkStatus();
  }
  absl::Status Add(const engine::Row& row) override { return writer_->Add(row); }
  absl::Status Finish() {
    if (!writer_) writer_.emplace(opt_, out_);
    return writer_->Finish();
  }

 private:
  engine::WriteOptions opt_;
  io::OutputFile& out_;
  std::optional<engine::RowWriter> writer_;
};

int RunCountCommand(const std::string& key, const std::vector<std::string>& where,
                    const std::vector<std::string>& paths_in, size_t top,
                    const std::string& format_name, const std::string& output, bool percent,
                    size_t threads, size_t chunk_kib, bool quiet, const std::string& memory,
                    const std::string& temp_dir) {
  absl::StatusOr<engine::Query> query = engine::Query::Parse(key, where);
  if (!query.ok()) return UsageError(std::string(query.status().message()), "count");
  absl::StatusOr<engine::OutputFormat> format = engine::ParseOutputFormat(format_name);
  if (!format.ok()) return UsageError(std::string(format.status().message()), "count");

  std::vector<std::string> paths = paths_in;
  if (paths.empty()) paths.push_back("-");
  io::ExpandedPaths expanded = io::ExpandPaths(paths);

  // Open the output first: a bad -o path should fail before the work.
  absl::StatusOr<io::OutputFile> out = io::OutputFile::Open(output);
  if (!out.ok()) {
    std::fprintf(stderr, "logtally: %s\n", std::string(out.status().message()).c_str());
    return kExitError;
  }

  engine::RunOptions opt;
  if (!memory.empty()) {
    absl::StatusOr<uint64_t> m = engine::ParseSize(memory);
    if (!m.ok() || *m < (uint64_t{1} << 20)) {
      return UsageError(absl::StrCat("bad --memory '", memory, "': give a size like 256M or 4G (at least 1M)"),
                        "count");
    }
    opt.memory = *m;
  }
  opt.temp_dir = temp_dir;
  opt.threads = threads;
  opt.top = top;
  if (chunk_kib > 0) opt.chunk_size = chunk_kib * 1024;
  uint64_t total = 0;
  for (const io::InputSpec& in : expanded.inputs) {
    struct stat st {};
    if (in.path != "-" && ::stat(in.path.c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_size);
  }
  engine::WriteOptions wopt;
  wopt.format = *format;
  wopt.percent = percent;
  wopt.columns = query->column_names();
  WriterSink sink(wopt, *out);
  engine::RunResult result;
  {
    Progress progress(!quiet && ::isatty(2) != 0, total);
    opt.progress = progress.counter();
    result = engine::RunCount(*query, expanded.inputs, opt, sink);
  }
  int status = kExitOk;
  for (const absl::Status& e : expanded.errors) {
    std::fprintf(stderr, "logtally: %s\n", std::string(e.message()).c_str());
    status = kExitError;
  }
  for (const absl::Status& e : result.errors) {
    std::fprintf(stderr, "logtally: %s\n", std::string(e.message()).c_str());
    status = kExitError;
  }
  if (!result.fatal.ok()) {
    // No complete result: nothing is committed (an -o target is left as it was).
    std::fprintf(stderr, "logtally: %s\n", std::string(result.fatal.message()).c_str());
    if (!quiet) std::fprintf(stderr, "%s\n", Summary(result.stats).c_str());
    return kExitError;
  }
  absl::Status ws = sink.Finish();
  if (ws.ok()) ws = out->Commit();
  if (!ws.ok()) {
    std::fprintf(stderr, "logtally: %s\n", std::string(ws.message()).c_str());
    status = kExitError;
  }
  if (!quiet) std::fprintf(stderr, "%s\n", Summary(result.stats).c_str());
  return status;
}

int Main(int argc, char** argv) {
  io::InstallTruncationHandler();
  // Keep freed memory in the heap for reuse instead of returning it to the
  // kernel: count tables grow by doubling, and each fresh page costs a page
  // fault (expensive in a VM) while a reused one does not. Allocations of
  // 2 MiB and more bypass malloc (BigAlloc) and use huge pages.
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  CLI::App app{"logtally: exact, fast frequency tables from firewall (netfilter) and other line logs.",
               "logtally"};
  app.set_version_flag("-V,--version", VersionText());
  app.require_subcommand(1);
  app.footer("\nRun 'logtally COMMAND --help' for a command's options and examples.");

  std::string key = "line";
  std::vector<std::string> where;
  std::vector<std::string> paths;
  size_t top = 0;
  std::string format = "text";
  std::string output;
  bool percent = false;
  size_t threads = 0;
  size_t chunk_kib = 0;
  bool quiet = false;
  std::string memory;
  std::string temp_dir;

  CLI::App* count = app.add_subcommand("count", "Count lines by key, most frequent first.");
  count->add_option("-k,--by", key, "Key fields, comma-separated (default: line)");
  count->add_option("-w,--where", where, "Keep only lines matching COND (repeatable)")
      ->allow_extra_args(false)
      ->type_name("COND");
  count->add_option("-n,--top", top, "Only the N most frequent groups")
      ->check(CLI::PositiveNumber)
      ->type_name("N");
  count->add_option("-f,--format", format, "text (default), tsv, csv, json or ndjson")
      ->type_name("FORMAT");
  count->add_option("-o,--output", output, "Write to FILE atomically (default: standard output)")
      ->type_name("FILE");
  count->add_flag("--percent", percent, "Add each group's share of the counted lines");
  count->add_option("-j,--threads", threads, "Worker threads (default: all cores)")
      ->check(CLI::Range(size_t{1}, size_t{1024}))
      ->type_name("N");
  count->add_option("--chunk-size", chunk_kib, "Chunk size in KiB (default 1024; for testing)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->type_name("KIB");
  count->add_flag("-q,--quiet", quiet, "No run summary on standard error");
  count->add_option("--memory", memory,
                    "Memory budget for counting, e.g. 512M or 4G (default: a quarter of RAM); "
                    "beyond it counting goes on exactly through temporary files")
      ->type_name("SIZE");
  count->add_option("--temp-dir", temp_dir, "Directory for temporary files (default: $TMPDIR or /tmp)")
      ->type_name("DIR");
  count->add_option("PATH", paths, "Files, directories, or - for standard input (default: -)");
  count->footer(kCountFooter);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string cmd;
    for (CLI::App* sub : app.get_subcommands()) cmd = sub->get_name();
    return UsageError(e.what(), cmd);
  }
  if (count->parsed()) {
    return RunCountCommand(key, where, paths, top, format, output, percent, threads, chunk_kib,
                           quiet, memory, temp_dir);
  }
  return UsageError("unknown command", "");
}

}  // namespace
}  // namespace logtally::cli

int main(int argc, char** argv) { return logtally::cli::Main(argc, argv); }
