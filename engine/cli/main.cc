// The logtally command line: a thin layer that parses options (CLI11), builds
// a Query, runs the engine and writes the result. Exit status: 0 success,
// 2 usage error or any input/output error (results of good inputs are still
// written).
#include <malloc.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <fstream>
#include <sstream>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <limits>
#include <optional>
#include <thread>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "engine/count_run.h"
#include "engine/output.h"
#include "engine/query.h"
#include "engine/simd/kernels.h"
#include "engine/rules.h"
#include "engine/services.h"
#include "engine/state.h"
#include "engine/tally.h"
#include "engine/tally_merge.h"
#include "engine/key.h"
#include "engine/timestamp.h"
#include "io/strings.h"
#include "io/atomic_file.h"
#include "io/mapped_file.h"
#include "io/paths.h"
#include "io/xxhash64.h"

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
  if (s.malformed > 0) absl::StrAppend(&out, ", ", Thousands(s.malformed), " malformed JSON lines");
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

constexpr const char* kKeysHelp = R"(
Keys (-k, comma-separated): netfilter fields as written (SRC, DST, SPT, DPT,
PROTO, IN, OUT, MAC, LEN, TTL, ...), TIME, HOST, PREFIX, line (the whole line),
$1, $2, ... (words), and derived fields: service (the category of DPT),
DPT.name / SPT.name (the /etc/services name), day, hour, SRC/24, DST/48, ...
(the address's network), and for JSON lines any path (.status, .http.host). Keys of only line/$N count every line; any other
field counts only netfilter records (other lines are reported, not counted).

Conditions (-w, repeatable, all must hold):
  KEY=V  KEY!=V  KEY=V1,V2 (any of)  KEY!=V1,V2 (none of)
  KEY=LO-HI (numeric range)  SRC=10.0.0.0/8  DST=2001:db8::/32 (CIDR)
Time window: --since/--until take YYYY-MM-DD, 'YYYY-MM-DD HH:MM[:SS]' or
YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]; a bound covers what it names (a date is the
whole day), since inclusive, until inclusive of that day/minute/second.
)";

constexpr const char* kCountFooter = R"(
Examples:
  logtally count -k DST,DPT,PROTO /var/log/kern.log
  logtally count -k SRC,DST,DPT,PROTO -w service=other -n 20 fw.log      # the leftovers
  logtally count -k DPT,DPT.name -w PROTO=UDP -w DPT=1-1023 -f csv -o ports.csv fw.log
  logtally count -k day,service --since 2024-03-01 --until 2024-03-07 fw.log
  logtally count -k SRC/24 --percent -n 10 /var/log/ufw.log
  zcat fw.log.2.gz | logtally count -k SRC -w SRC=192.168.0.0/16 -
  logtally count -k '$5' app.log        # like awk '{print $5}' | sort | uniq -c | sort -rn
  logtally count -k DST,DPT,PROTO --save mon.tally fw.log      # a tally for merge and diff
  logtally count -k DST,DPT,PROTO --state /var/lib/logtally/fw --save $(date +%F).tally /var/log/fw.log*

--state DIR counts only what the inputs gained since the last run with DIR:
lines appended since, and rotated files (renamed, compressed, dated or
copy-truncated) recognised by their content, never a line twice; a log that
shrank or changed is counted from the start, with a warning. An unfinished
last line waits for the next run. If an input cannot be read, nothing is
written and the state stays as it was. The state is updated after the table
and the tally are written; a run stopped in between is finished or undone by
the next one.

Exit status: 0 success; 2 usage error, or an input that could not be read
(the other inputs are still counted and printed), or the output could not be
written.)";

constexpr const char* kServicesFooter = R"(
Categories: dns 53, ntp 123, http 80, https 443, ssh 22, smtp 25/465/587,
imap 143/993 (any protocol); any other destination port is 'other'; a record
without a destination port is its protocol in lower case (icmp, icmpv6, igmp).
--services FILE replaces the table: lines 'name port[,port|lo-hi...][/proto]'
('#' comments), the first matching line wins.

Examples:
  logtally services /var/log/kern.log
  logtally services --services my-services.txt -f csv fw.log
  logtally count -k SRC,DST,DPT,PROTO -w service=other fw.log   # then the leftovers

Exit status as for 'logtally count'.)";

constexpr const char* kRulesFooter = R"(
Each counted group becomes one rule (keys from SRC, DST, DPT, SPT, PROTO), with
a comment giving its count and time span. Every value is validated (addresses,
ports 0-65535, known protocols); a group that fails is reported and left out.
The rules go to -o FILE (default standard output); with -o, the script that
removes them again is written beside it as FILE.revert.

Examples:
  logtally rules -k SRC -w service=other -w DPT=23 --to iptables -o drop-telnet.sh fw.log
  logtally rules -k SRC,DPT,PROTO -n 20 --to nftables --action REJECT -o block.nft fw.log

Exit status: 0 success (also when groups were refused: they are listed on
standard error); 2 as for 'logtally count'.)";

constexpr const char* kMergeFooter = R"(
Tallies are written by 'count --save FILE' (and 'merge --save FILE'). merge
adds up tallies of the same query (the same key, conditions and settings that
change values) and prints exactly what one count over all their inputs would
print, in any format; tallies of different queries are refused, naming the
difference. With --save and none of -o, -f, -n, --percent, no table is printed.
-k may name some of the saved columns (or day from hour) and -w may test saved
columns: the result is still exact. Anything else needs a new count.

Examples:
  logtally count -k DST,DPT,PROTO --save mon.tally /var/log/fw.log.1
  logtally merge -n 20 mon.tally tue.tally wed.tally
  logtally merge -k DST -w DPT=53 -f csv -o dns.csv week/*.tally
  logtally merge --save week.tally day-*.tally

Exit status: 0 success; 2 usage error, tallies of different queries, or a
tally that cannot be read (damaged, truncated): it is named with the block,
and nothing is printed or saved.)";

constexpr const char* kDiffFooter = R"(
Rows are the groups whose counts differ: old count, new count, the change and
a status (new, gone, up, down), largest change first; TSV, CSV and JSON name
them old, new, change, status.

Examples:
  logtally diff monday.tally tuesday.tally
  logtally diff -n 10 -f csv last-week.tally this-week.tally

Exit status as for 'logtally merge'.)";

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
  engine::RowWriter& writer() { return *writer_; }
  const engine::WriteOptions& options() const { return opt_; }

 private:
  engine::WriteOptions opt_;
  io::OutputFile& out_;
  std::optional<engine::RowWriter> writer_;
};

// Options shared by count, services and rules.
struct CommonArgs {
  std::string key;
  std::vector<std::string> where;
  std::vector<std::string> paths;
  size_t top = 0;
  std::string format = "text";
  std::string output;
  bool percent = false;
  size_t threads = 0;
  size_t chunk_kib = 0;
  bool mmap = false;
  bool quiet = false;
  std::string memory;
  std::string temp_dir;
  std::string since, until, year;
  bool utc = false;
  std::string services_file;
  std::string input = "auto";
  // count --save, merge
  std::string save;
  // count --state
  std::string state;
  // Whether the table was asked for (-o, -f, -n or --percent given): with
  // --save, it is printed only then.
  bool table_asked = false;
  // merge, diff
  std::vector<std::string> tallies;
  // rules
  std::string to;
  std::string chain;
  std::string action = "DROP";
};

void AddCommonOptions(CLI::App* cmd, CommonArgs& a, bool with_key, bool with_format) {
  if (with_key) {
    cmd->add_option("-k,--by", a.key, "Key fields, comma-separated")->type_name("FIELDS");
  }
  cmd->add_option("-w,--where", a.where, "Keep only lines matching COND (repeatable)")
      ->allow_extra_args(false)
      ->type_name("COND");
  if (with_key) {
    // Not CLI::PositiveNumber: its message for 0 printed the largest double.
    const CLI::Validator at_least_one(
        [](std::string& v) -> std::string {
          if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) {
            return "expects a whole number, got '" + v + "'";
          }
          // Digits only: from_chars reads them all, or says they overflow.
          uint64_t n = 0;
          if (std::from_chars(v.data(), v.data() + v.size(), n).ec != std::errc()) {
            return "'" + v + "' is too large";
          }
          if (n == 0) return "must be at least 1";
          return "";
        },
        "N>=1", "at_least_one");
    cmd->add_option("-n,--top", a.top, "Only the N most frequent groups")
        ->check(at_least_one)
        ->type_name("N");
  }
  if (with_format) {
    cmd->add_option("-f,--format", a.format, "text (default), tsv, csv, json or ndjson")
        ->type_name("FORMAT");
  }
  cmd->add_option("-o,--output", a.output, "Write to FILE atomically (default: standard output)")
      ->type_name("FILE");
  cmd->add_option("-j,--threads", a.threads, "Worker threads (default: all cores)")
      ->check(CLI::Range(size_t{1}, size_t{1024}))
      ->type_name("N");
  cmd->add_option("--since", a.since, "Only lines whose TIME is at or after T")->type_name("T");
  cmd->add_option("--until", a.until, "Only lines whose TIME is up to T (inclusive)")->type_name("T");
  cmd->add_option("--year", a.year, "Year of BSD timestamps (default: from each file's mtime)")
      ->type_name("YYYY");
  cmd->add_flag("--utc", a.utc, "day and hour in UTC instead of the log's own offset");
  cmd->add_option("--services", a.services_file, "Service categories from FILE (see 'logtally services --help')")
      ->type_name("FILE");
  cmd->add_option("--memory", a.memory,
                  "Memory budget for counting, e.g. 512M or 4G (default: a quarter of RAM); "
                  "beyond it counting goes on exactly through temporary files")
      ->type_name("SIZE");
  cmd->add_option("--temp-dir", a.temp_dir, "Directory for temporary files (default: $TMPDIR or /tmp)")
      ->type_name("DIR");
  cmd->add_flag("--mmap", a.mmap,
                "Memory-map plain files instead of reading them into buffers (slower on the "
                "machines measured; see the README)");
  cmd->add_option("--chunk-size", a.chunk_kib, "Chunk size in KiB (default 1024 for plain files, 512 for streams; for testing)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->type_name("KIB");
  cmd->add_option("--input", a.input,
                  "Line format: text, json (journald, ulogd2 or any NDJSON), or auto (default: "
                  "by each input's first byte)")
      ->type_name("FORMAT");
  cmd->add_flag("-q,--quiet", a.quiet, "No run summary on standard error");
  cmd->add_option("PATH", a.paths, "Files, directories, or - for standard input (default: -)");
}

// Everything a command needs before it counts; a usage error returns exit 2.
struct Prepared {
  std::optional<engine::ServiceTable> services;
  std::optional<engine::Query> query;
  engine::RunOptions run;
  io::ExpandedPaths inputs;
  engine::OutputFormat format = engine::OutputFormat::kText;
  std::string services_id;  // a --services table by content; empty: built-in

  // What -o must not overwrite.
  std::vector<std::string> input_paths() const {
    std::vector<std::string> paths;
    for (const io::InputSpec& in : inputs.inputs) paths.push_back(in.path);
    return paths;
  }
};

int Prepare(const CommonArgs& a, const std::string& cmd, const std::string& key, Prepared& p) {
  engine::QueryOptions qo;
  if (!a.services_file.empty()) {
    std::ifstream in(a.services_file, std::ios::binary);
    if (!in) {
      return UsageError(absl::StrCat("cannot read --services file ", a.services_file), cmd);
    }
    std::stringstream ss;
    ss << in.rdbuf();
    p.services_id = absl::StrCat("file with XXH64 ", io::HashHex(io::Xxh64(ss.str())));
    absl::StatusOr<engine::ServiceTable> t = engine::ServiceTable::Parse(ss.str(), a.services_file);
    if (!t.ok()) return UsageError(std::string(t.status().message()), cmd);
    p.services.emplace(std::move(*t));
    qo.services = &*p.services;
  }
  qo.utc = a.utc;
  // A bound that names its offset (Z, +HH:MM) is an instant.
  auto names_offset = [](const std::string& t) {
    if (!t.empty() && (t.back() == 'Z' || t.back() == 'z')) return true;
    return t.size() >= 16 && (t[t.size() - 6] == '+' || t[t.size() - 6] == '-') && t[t.size() - 3] == ':';
  };
  qo.since_instant = names_offset(a.since);
  qo.until_instant = names_offset(a.until);
  if (!a.since.empty()) {
    absl::StatusOr<engine::TimeSpan> t = engine::ParseTimeSpan(a.since);
    if (!t.ok()) return UsageError(absl::StrCat("bad --since: ", t.status().message()), cmd);
    qo.has_since = true;
    qo.since = *t;
  }
  if (!a.until.empty()) {
    absl::StatusOr<engine::TimeSpan> t = engine::ParseTimeSpan(a.until);
    if (!t.ok()) return UsageError(absl::StrCat("bad --until: ", t.status().message()), cmd);
    qo.has_until = true;
    qo.until = *t;
  }
  if (!a.year.empty()) {
    absl::StatusOr<int> y = engine::ParseYearOption(a.year);
    if (!y.ok()) return UsageError(absl::StrCat("bad --year: ", y.status().message()), cmd);
    p.run.year = *y;
  }
  absl::StatusOr<engine::Query> query = engine::Query::Parse(key, a.where, qo);
  if (!query.ok()) return UsageError(std::string(query.status().message()), cmd);
  p.query.emplace(std::move(*query));
  absl::StatusOr<engine::OutputFormat> format = engine::ParseOutputFormat(a.format);
  if (!format.ok()) return UsageError(std::string(format.status().message()), cmd);
  p.format = *format;
  if (!a.memory.empty()) {
    absl::StatusOr<uint64_t> m = engine::ParseSize(a.memory);
    if (!m.ok() || *m < (uint64_t{1} << 20)) {
      return UsageError(
          absl::StrCat("bad --memory '", a.memory, "': give a size like 256M or 4G (at least 1M)"), cmd);
    }
    p.run.memory = *m;
  }
  if (a.input == "json") {
    p.run.input = engine::RunOptions::InputMode::kJson;
  } else if (a.input == "text") {
    p.run.input = engine::RunOptions::InputMode::kText;
  } else if (a.input != "auto") {
    return UsageError("--input must be text, json or auto", cmd);
  }
  p.run.temp_dir = a.temp_dir;
  p.run.threads = a.threads;
  p.run.top = a.top;
  if (a.chunk_kib > 0) p.run.chunk_size = p.run.stream_chunk_size = a.chunk_kib * 1024;
  p.run.map_files = a.mmap;
  std::vector<std::string> paths = a.paths;
  if (paths.empty()) paths.push_back("-");
  p.inputs = io::ExpandPaths(paths);
  return kExitOk;
}

// Runs the count with a progress display; prints input errors. Returns the
// exit status so far (0, or 2 when an input failed).
int Execute(const CommonArgs& a, Prepared& p, engine::RowSink& sink, engine::RunResult& result) {
  uint64_t total = 0;
  for (const io::InputSpec& in : p.inputs.inputs) {
    struct stat st {};
    if (in.path != "-" && ::stat(in.path.c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_size);
  }
  {
    Progress progress(!a.quiet && ::isatty(2) != 0, total);
    p.run.progress = progress.counter();
    result = engine::RunCount(*p.query, p.inputs.inputs, p.run, sink);
  }
  int status = kExitOk;
  for (const absl::Status& e : p.inputs.errors) {
    std::fprintf(stderr, "logtally: %s\n", std::string(e.message()).c_str());
    status = kExitError;
  }
  for (const absl::Status& e : result.errors) {
    std::fprintf(stderr, "logtally: %s\n", std::string(e.message()).c_str());
    status = kExitError;
  }
  return status;
}

int Fail(const absl::Status& s, const CommonArgs& a, const engine::RunResult* result) {
  std::fprintf(stderr, "logtally: %s\n", std::string(s.message()).c_str());
  if (!a.quiet && result != nullptr) std::fprintf(stderr, "%s\n", Summary(result->stats).c_str());
  return kExitError;
}

// Commits the output (unless writing failed) and prints the summary: the
// common end of every command.
int Conclude(absl::Status ws, io::OutputFile* out, const CommonArgs& a,
             const engine::RunResult& result, int status) {
  if (ws.ok() && out != nullptr) ws = out->Commit();
  if (!ws.ok()) {
    Fail(ws, a, nullptr);
    status = kExitError;
  }
  if (!a.quiet) std::fprintf(stderr, "%s\n", Summary(result.stats).c_str());
  return status;
}

// Takes every row and prints none: `--save` without a table asked for.
class DiscardSink : public engine::RowSink {
 public:
  absl::Status Begin(const engine::RunStats&) override { return absl::OkStatus(); }
  absl::Status Add(const engine::Row&) override { return absl::OkStatus(); }
};

// A tally's description of a count: the query, what changes its values,
// each input as far as it was read, and the totals.
engine::TallyMeta CountMeta(const Prepared& p, const CommonArgs& a, const engine::RunResult& r) {
  engine::TallyMeta m;
  m.written_by = absl::StrCat("logtally ", kVersion);
  m.key = p.query->column_names();
  m.where = a.where;
  m.params = engine::TallyParams(*p.query, p.run, p.services_id);
  for (size_t i = 0; i < p.inputs.inputs.size() && i < r.inputs.size(); ++i) {
    const engine::InputReport& rep = r.inputs[i];
    engine::TallyInput t;
    t.path = p.inputs.inputs[i].path;
    t.format = rep.opened ? std::string(io::FormatName(rep.format)) : std::string();
    t.size = rep.raw_size;
    t.read = rep.raw_read;
    t.start = rep.start;
    t.decoded = rep.decoded;
    t.mtime = rep.mtime;
    t.head_bytes = rep.head.size();
    t.tail_bytes = rep.tail.size();
    if (!rep.head.empty()) t.head = io::HashHex(io::Xxh64(rep.head));
    if (!rep.tail.empty()) t.tail = io::HashHex(io::Xxh64(rep.tail));
    if (!rep.opened && rep.error.ok()) t.error = "not read";
    if (!rep.error.ok()) t.error = std::string(rep.error.message());
    m.inputs.push_back(std::move(t));
  }
  m.totals = engine::TotalsOf(r.stats);
  m.has_span = r.stats.has_span;
  m.first = r.stats.first;
  m.last = r.stats.last;
  return m;
}

// Where --save writes, checked before any work: a file name, not -o's.
absl::StatusOr<std::optional<io::OutputFile>> OpenSave(const CommonArgs& a,
                                                       const std::vector<std::string>& inputs) {
  if (a.save.empty()) return std::optional<io::OutputFile>();
  if (a.save == "-") {
    return absl::InvalidArgumentError("--save needs a file name (a tally is binary; -o takes the table)");
  }
  if (!a.output.empty() && a.output == a.save) {
    return absl::InvalidArgumentError("--save and -o name the same file: the tally and the table need one each");
  }
  absl::StatusOr<io::OutputFile> f = io::OutputFile::Open(a.save, inputs);
  if (!f.ok()) return f.status();
  return std::optional<io::OutputFile>(std::move(*f));
}

// count --state: the state directory, opened and locked, and what is new in
// each input. The inputs to count replace p.inputs; `all` keeps them all.
struct StateRun {
  std::unique_ptr<engine::StateDir> dir;
  std::vector<io::InputSpec> all;
  std::vector<engine::InputPlan> plans;
  std::vector<engine::InputRange> ranges;  // per input counted
  std::vector<int> counted;                // per input in `all`: its index among those counted, or -1
};

int PrepareState(const CommonArgs& a, Prepared& p, StateRun& st) {
  if (!p.inputs.errors.empty()) {
    for (const absl::Status& e : p.inputs.errors) {
      std::fprintf(stderr, "logtally: %s\n", std::string(e.message()).c_str());
    }
    std::fprintf(stderr, "logtally: nothing was counted: with --state, a run counts all its inputs or none\n");
    return kExitError;
  }
  std::vector<std::string> notes;
  absl::StatusOr<std::unique_ptr<engine::StateDir>> dir = engine::StateDir::Open(a.state, &notes);
  if (!dir.ok()) return Fail(dir.status(), a, nullptr);
  st.dir = std::move(*dir);
  for (const std::string& n : notes) std::fprintf(stderr, "logtally: %s\n", n.c_str());
  if (const engine::CountState* old = st.dir->state(); old != nullptr) {
    engine::TallyMeta now;
    now.key = p.query->column_names();
    now.where = a.where;
    now.params = engine::TallyParams(*p.query, p.run, p.services_id);
    absl::Status same = engine::SameQuery(old->query, absl::StrCat("state ", a.state), now, "this run");
    if (!same.ok()) {
      return UsageError(absl::StrCat(same.message(), ": a state follows one query; use another directory"),
                        "count");
    }
  }
  std::vector<std::string> warnings;
  absl::StatusOr<std::vector<engine::InputPlan>> plans =
      engine::PlanInputs(st.dir->state(), p.inputs.inputs, p.run.stream_chunk_size, &warnings);
  if (!plans.ok()) {
    if (absl::IsInvalidArgument(plans.status())) return UsageError(std::string(plans.status().message()), "count");
    return Fail(plans.status(), a, nullptr);
  }
  for (const std::string& w : warnings) std::fprintf(stderr, "logtally: warning: %s\n", w.c_str());
  st.plans = std::move(*plans);
  st.all = p.inputs.inputs;
  p.inputs.inputs.clear();
  for (size_t i = 0; i < st.all.size(); ++i) {
    if (!st.plans[i].count) {
      st.counted.push_back(-1);
      continue;
    }
    st.counted.push_back(static_cast<int>(p.inputs.inputs.size()));
    p.inputs.inputs.push_back(st.all[i]);
    st.ranges.push_back(st.plans[i].range);
  }
  p.run.ranges = &st.ranges;
  p.run.all_or_nothing = true;
  p.run.fingerprints = true;
  return kExitOk;
}

// A run's name in its tally and its state: its time, process and address
// hashed, distinct from any other run's.
std::string RunId() {
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  std::string seed = absl::StrCat(now, "/", ::getpid(), "/", reinterpret_cast<uintptr_t>(&now));
  return io::HashHex(io::Xxh64(seed));
}

std::string Absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[4096];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
  return absl::StrCat(cwd, "/", path);
}

int RunCountCommand(const CommonArgs& a) {
  Prepared p;
  std::string key = a.key.empty() ? "line" : a.key;
  if (int rc = Prepare(a, "count", key, p); rc != kExitOk) return rc;
  // Neither -o nor --save may replace an input (all of them, counted or not).
  const std::vector<std::string> inputs = p.input_paths();
  StateRun state;
  if (!a.state.empty()) {
    if (int rc = PrepareState(a, p, state); rc != kExitOk) return rc;
  }
  absl::StatusOr<std::optional<io::OutputFile>> save = OpenSave(a, inputs);
  if (!save.ok()) {
    if (absl::IsInvalidArgument(save.status())) return UsageError(std::string(save.status().message()), "count");
    return Fail(save.status(), a, nullptr);
  }
  // With --save, the table is printed only when asked for (-o, -f, -n,
  // --percent): a tally alone does not flood the terminal.
  const bool print = !save->has_value() || a.table_asked;
  // Open the output first: a bad -o path should fail before the work.
  std::optional<io::OutputFile> out;
  if (print) {
    absl::StatusOr<io::OutputFile> o = io::OutputFile::Open(a.output, inputs);
    if (!o.ok()) return Fail(o.status(), a, nullptr);
    out.emplace(std::move(*o));
  }
  std::unique_ptr<engine::TallyWriter> tally;
  if (save->has_value()) {
    tally = std::make_unique<engine::TallyWriter>(p.run.temp_dir.empty() ? engine::DefaultTempDir()
                                                                          : p.run.temp_dir);
    p.run.save = tally.get();
    p.run.fingerprints = true;
  }
  engine::WriteOptions wopt;
  wopt.format = p.format;
  wopt.percent = a.percent;
  wopt.columns = p.query->column_names();
  std::optional<WriterSink> table;
  DiscardSink discard;
  if (out) table.emplace(wopt, *out);
  engine::RunResult result;
  int status = Execute(a, p, table ? static_cast<engine::RowSink&>(*table) : discard, result);
  // Without a complete result nothing is committed: an -o target is left as it was.
  if (!result.fatal.ok()) return Fail(result.fatal, a, &result);
  absl::Status ws = table ? table->Finish() : absl::OkStatus();
  if (state.dir == nullptr) {
    if (ws.ok() && tally != nullptr) {
      ws = tally->Write(CountMeta(p, a, result), **save);
      if (ws.ok()) ws = (*save)->Commit();
    }
    return Conclude(ws, out ? &*out : nullptr, a, result, status);
  }
  // With --state: the table, then the pending state naming the run and its
  // tally, then the tally, then the state. Stopped anywhere, the next run
  // finds either no trace of this one or a tally it names (StateDir::Open).
  if (ws.ok() && out) ws = out->Commit();
  const std::string run = RunId();
  engine::TallyMeta meta = CountMeta(p, a, result);
  meta.run = run;
  if (ws.ok()) {
    engine::TallyMeta query = meta;
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    engine::CountState next = engine::NextState(state.dir->state(), query, state.all, state.plans, state.counted,
                                                result.inputs, now);
    ws = state.dir->Prepare(next, run, tally != nullptr ? Absolute(a.save) : std::string());
  }
  if (ws.ok() && tally != nullptr) {
    ws = tally->Write(meta, **save);
    if (ws.ok()) ws = (*save)->Commit();
  }
  if (ws.ok()) ws = state.dir->Commit();
  return Conclude(ws, nullptr, a, result, status);
}

// ---- merge and diff ---------------------------------------------------------

// The tallies named, opened and checked to count one query; exit 2 naming
// the file (and the block) that fails, or the first difference.
int OpenTallies(const std::vector<std::string>& paths, const std::string& cmd,
                std::vector<std::unique_ptr<engine::TallyFile>>& out) {
  for (const std::string& path : paths) {
    absl::StatusOr<std::unique_ptr<engine::TallyFile>> t = engine::TallyFile::Open(path);
    if (!t.ok()) {
      std::fprintf(stderr, "logtally: %s\n", std::string(t.status().message()).c_str());
      return kExitError;
    }
    out.push_back(std::move(*t));
  }
  for (size_t i = 1; i < out.size(); ++i) {
    absl::Status same = engine::SameQuery(out[0]->meta(), out[0]->path(), out[i]->meta(), out[i]->path());
    if (!same.ok()) {
      std::fprintf(stderr, "logtally %s: %s\n", cmd.c_str(), std::string(same.message()).c_str());
      return kExitError;
    }
  }
  return kExitOk;
}

int MergeOptionsFrom(const CommonArgs& a, const std::string& cmd, engine::MergeOptions& mo) {
  mo.threads = a.threads;
  mo.temp_dir = a.temp_dir;
  mo.top = a.top;
  if (!a.memory.empty()) {
    absl::StatusOr<uint64_t> m = engine::ParseSize(a.memory);
    if (!m.ok() || *m < (uint64_t{1} << 20)) {
      return UsageError(absl::StrCat("bad --memory '", a.memory, "': give a size like 256M or 4G (at least 1M)"),
                        cmd);
    }
    mo.memory = *m;
  }
  return kExitOk;
}

std::string MergeSummary(const engine::RunStats& s, size_t tallies, double seconds) {
  std::string out = absl::StrCat("logtally: ", Thousands(tallies), tallies == 1 ? " tally: " : " tallies: ",
                                 Thousands(s.lines), " lines (", Thousands(s.records), " netfilter records, ",
                                 Thousands(s.other), " other lines): ", Thousands(s.counted), " counted in ",
                                 Thousands(s.groups), " groups, ", Thousands(s.filtered), " filtered out");
  if (s.uncounted_other > 0) {
    absl::StrAppend(&out, ", ", Thousands(s.uncounted_other), " other lines not counted");
  }
  absl::StrAppend(&out, "; merged in ", absl::StrFormat("%.2f", seconds), " s");
  return out;
}

int RunMergeCommand(const CommonArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  engine::MergeOptions mo;
  if (int rc = MergeOptionsFrom(a, "merge", mo); rc != kExitOk) return rc;
  absl::StatusOr<engine::OutputFormat> format = engine::ParseOutputFormat(a.format);
  if (!format.ok()) return UsageError(std::string(format.status().message()), "merge");
  std::vector<std::unique_ptr<engine::TallyFile>> tallies;
  if (int rc = OpenTallies(a.tallies, "merge", tallies); rc != kExitOk) return rc;
  engine::TallyMeta meta;
  absl::StatusOr<engine::Narrowing> narrowing = engine::PlanNarrowing(tallies[0]->meta(), a.key, a.where, &meta);
  if (!narrowing.ok()) return UsageError(std::string(narrowing.status().message()), "merge");
  mo.narrowing = &*narrowing;
  // A merge may replace one of its tallies by the sum (--save), not by a table (-o).
  absl::StatusOr<std::optional<io::OutputFile>> save = OpenSave(a, {});
  if (!save.ok()) {
    if (absl::IsInvalidArgument(save.status())) return UsageError(std::string(save.status().message()), "merge");
    return Fail(save.status(), a, nullptr);
  }
  const bool print = !save->has_value() || a.table_asked;
  std::optional<io::OutputFile> out;
  if (print) {
    absl::StatusOr<io::OutputFile> o = io::OutputFile::Open(a.output, a.tallies);
    if (!o.ok()) return Fail(o.status(), a, nullptr);
    out.emplace(std::move(*o));
  }
  std::unique_ptr<engine::TallyWriter> tally;
  if (save->has_value()) {
    tally = std::make_unique<engine::TallyWriter>(a.temp_dir.empty() ? engine::DefaultTempDir() : a.temp_dir);
    mo.save = tally.get();
  }
  engine::WriteOptions wopt;
  wopt.format = *format;
  wopt.percent = a.percent;
  wopt.columns = meta.key;
  std::optional<WriterSink> table;
  DiscardSink discard;
  if (out) table.emplace(wopt, *out);
  std::vector<const engine::TallyFile*> files;
  for (const auto& t : tallies) files.push_back(t.get());
  engine::MergeResult result =
      engine::MergeTallies(files, mo, table ? static_cast<engine::RowSink&>(*table) : discard);
  if (!result.fatal.ok()) {
    std::fprintf(stderr, "logtally: %s\n", std::string(result.fatal.message()).c_str());
    return kExitError;
  }
  absl::Status ws = table ? table->Finish() : absl::OkStatus();
  if (ws.ok() && tally != nullptr) {
    meta.written_by = absl::StrCat("logtally ", kVersion);
    meta.tallies = 0;
    meta.inputs.clear();
    for (const auto& t : tallies) {
      meta.tallies += t->meta().tallies;
      meta.inputs.insert(meta.inputs.end(), t->meta().inputs.begin(), t->meta().inputs.end());
    }
    meta.totals = engine::TotalsOf(result.stats);
    meta.has_span = result.stats.has_span;
    meta.first = result.stats.first;
    meta.last = result.stats.last;
    ws = tally->Write(std::move(meta), **save);
    if (ws.ok()) ws = (*save)->Commit();
  }
  if (ws.ok() && out) ws = out->Commit();
  if (!ws.ok()) return Fail(ws, a, nullptr);
  if (!a.quiet) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "%s\n", MergeSummary(result.stats, tallies.size(), secs).c_str());
  }
  return kExitOk;
}

int RunDiffCommand(const CommonArgs& a) {
  engine::MergeOptions mo;
  if (int rc = MergeOptionsFrom(a, "diff", mo); rc != kExitOk) return rc;
  absl::StatusOr<engine::OutputFormat> format = engine::ParseOutputFormat(a.format);
  if (!format.ok()) return UsageError(std::string(format.status().message()), "diff");
  if (a.tallies.size() != 2) return UsageError("diff compares two tallies: OLD NEW", "diff");
  std::vector<std::unique_ptr<engine::TallyFile>> tallies;
  if (int rc = OpenTallies(a.tallies, "diff", tallies); rc != kExitOk) return rc;
  absl::StatusOr<io::OutputFile> out = io::OutputFile::Open(a.output, a.tallies);
  if (!out.ok()) return Fail(out.status(), a, nullptr);
  engine::WriteOptions wopt;
  wopt.format = *format;
  wopt.diff = true;
  wopt.columns = tallies[0]->meta().key;
  WriterSink table(wopt, *out);
  engine::DiffResult result = engine::DiffTallies(*tallies[0], *tallies[1], mo, table);
  if (!result.fatal.ok()) {
    std::fprintf(stderr, "logtally: %s\n", std::string(result.fatal.message()).c_str());
    return kExitError;
  }
  absl::Status ws = table.Finish();
  if (ws.ok()) ws = out->Commit();
  if (!ws.ok()) return Fail(ws, a, nullptr);
  if (!a.quiet) {
    const engine::TallyTotals& o = tallies[0]->meta().totals;
    const engine::TallyTotals& n = tallies[1]->meta().totals;
    std::fprintf(stderr,
                 "logtally: %s new, %s gone, %s changed, %s unchanged groups; counted %s in %s, %s in %s\n",
                 Thousands(result.added).c_str(), Thousands(result.gone).c_str(), Thousands(result.changed).c_str(),
                 Thousands(result.unchanged).c_str(), Thousands(o.counted).c_str(), tallies[0]->path().c_str(),
                 Thousands(n.counted).c_str(), tallies[1]->path().c_str());
  }
  return kExitOk;
}

// The service breakdown: one row per category (the table's categories even
// when nothing matched them), with its count and share, then the total.
int RunServicesCommand(const CommonArgs& a) {
  Prepared p;
  if (int rc = Prepare(a, "services", "service", p); rc != kExitOk) return rc;
  absl::StatusOr<io::OutputFile> out = io::OutputFile::Open(a.output, p.input_paths());
  if (!out.ok()) return Fail(out.status(), a, nullptr);
  engine::ServiceBreakdown breakdown(p.query->services());
  engine::RunResult result;
  int status = Execute(a, p, breakdown, result);
  if (!result.fatal.ok()) return Fail(result.fatal, a, &result);
  const std::vector<engine::ServiceBreakdown::Entry> rows = breakdown.Finish();
  engine::WriteOptions wopt;
  wopt.format = p.format;
  wopt.percent = true;
  wopt.counted = result.stats.counted;
  wopt.columns = {"service"};
  engine::RowWriter writer(wopt, *out);
  absl::Status ws;
  for (const auto& r : rows) {
    if (ws.ok()) ws = writer.Add(r.row());
  }
  std::string total_key;
  engine::AppendKeyValue(total_key, "total");
  if (ws.ok()) ws = writer.Add(engine::Row{result.stats.counted, "total", total_key});
  if (ws.ok()) ws = writer.Finish();
  return Conclude(ws, &*out, a, result, status);
}

// Firewall rules from counted groups: counted with TIME added to the key,
// then folded per group (engine::RuleGroupSink) for each rule's time span.
int RunRulesCommand(const CommonArgs& a) {
  engine::RuleOptions ro;
  if (a.to == "iptables") {
    ro.target = engine::RuleTarget::kIptables;
  } else if (a.to == "nftables") {
    ro.target = engine::RuleTarget::kNftables;
  } else {
    return UsageError("--to must be iptables or nftables", "rules");
  }
  std::string action = absl::AsciiStrToUpper(a.action);
  if (action == "DROP") {
    ro.action = engine::RuleAction::kDrop;
  } else if (action == "REJECT") {
    ro.action = engine::RuleAction::kReject;
  } else {
    return UsageError("--action must be DROP or REJECT", "rules");
  }
  ro.chain = a.chain;
  std::string key = a.key.empty() ? "SRC" : a.key;
  absl::StatusOr<std::vector<std::string>> columns = engine::ParseRuleKey(key);
  if (!columns.ok()) return UsageError(std::string(columns.status().message()), "rules");
  Prepared p;
  CommonArgs counted = a;
  counted.top = 0;  // -n applies to the folded groups
  if (int rc = Prepare(counted, "rules", key + ",TIME", p); rc != kExitOk) return rc;
  absl::StatusOr<io::OutputFile> out = io::OutputFile::Open(a.output, p.input_paths());
  if (!out.ok()) return Fail(out.status(), a, nullptr);
  engine::RuleGroupSink groups(columns->size(), p.run.year);
  engine::RunResult result;
  int status = Execute(a, p, groups, result);
  if (!result.fatal.ok()) return Fail(result.fatal, a, &result);
  const std::vector<engine::RuleRow> rows = groups.Rows(a.top);
  absl::StatusOr<engine::RuleScripts> scripts = engine::BuildRules(*columns, rows, ro);
  if (!scripts.ok()) return UsageError(std::string(scripts.status().message()), "rules");
  for (const std::string& r : scripts->refused) {
    std::fprintf(stderr, "logtally: refused %s\n", r.c_str());
  }
  absl::Status ws = out->Write(scripts->apply);
  if (ws.ok() && !a.output.empty() && a.output != "-") {
    absl::StatusOr<io::OutputFile> rev = io::OutputFile::Open(a.output + ".revert", p.input_paths());
    ws = rev.ok() ? rev->Write(scripts->revert) : rev.status();
    if (ws.ok()) ws = rev->Commit();
  }
  status = Conclude(ws, &*out, a, result, status);
  if (!a.quiet) {
    std::fprintf(stderr, "logtally: %zu rules written, %zu groups refused\n", scripts->rules,
                 scripts->refused.size());
  }
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
  // Counting beyond --memory keeps temporary files open; the usual soft
  // limit of 1024 descriptors is a convention, the hard limit is the rule.
  struct rlimit files {};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  CLI::App app{"logtally: exact, fast frequency tables from firewall (netfilter) and other line logs.",
               "logtally"};
  app.set_version_flag("-V,--version", VersionText());
  app.require_subcommand(1);
  app.footer("\nRun 'logtally COMMAND --help' for a command's options and examples.");

  CommonArgs a;
  CLI::App* count = app.add_subcommand("count", "Count lines by key, most frequent first.");
  AddCommonOptions(count, a, true, true);
  count->add_flag("--percent", a.percent, "Add each group's share of the counted lines");
  count->add_option("--save", a.save,
                    "Also keep the counts in a tally FILE (for merge and diff); alone, it prints no table")
      ->type_name("FILE");
  count->add_option("--state", a.state,
                    "Count only what the inputs gained since the last run with this state DIR "
                    "(appended lines, rotated files recognised by content)")
      ->type_name("DIR");
  count->footer(std::string(kKeysHelp) + kCountFooter);

  CLI::App* merge = app.add_subcommand("merge", "Add up tallies of one query; print or save the result.");
  merge->add_option("-k,--by", a.key, "A coarser key: some of the saved columns (or day from hour)")
      ->type_name("FIELDS");
  merge->add_option("-w,--where", a.where, "Keep only groups whose saved columns match COND (repeatable)")
      ->allow_extra_args(false)
      ->type_name("COND");
  merge->add_option("-n,--top", a.top, "Only the N most frequent groups")
      ->check(CLI::Range(size_t{1}, std::numeric_limits<size_t>::max()))
      ->type_name("N");
  merge->add_option("-f,--format", a.format, "text (default), tsv, csv, json or ndjson")->type_name("FORMAT");
  merge->add_option("-o,--output", a.output, "Write to FILE atomically (default: standard output)")
      ->type_name("FILE");
  merge->add_flag("--percent", a.percent, "Add each group's share of the counted lines");
  merge->add_option("--save", a.save, "Keep the sum as a tally FILE; alone, it prints no table")
      ->type_name("FILE");
  merge->add_option("-j,--threads", a.threads, "Worker threads (default: all cores)")
      ->check(CLI::Range(size_t{1}, size_t{1024}))
      ->type_name("N");
  merge->add_option("--memory", a.memory, "Memory budget, e.g. 512M (default: a quarter of RAM)")
      ->type_name("SIZE");
  merge->add_option("--temp-dir", a.temp_dir, "Directory for temporary files (default: $TMPDIR or /tmp)")
      ->type_name("DIR");
  merge->add_flag("-q,--quiet", a.quiet, "No summary on standard error");
  merge->add_option("TALLY", a.tallies, "Tally files written by count --save or merge --save")
      ->required()
      ->type_name("TALLY");
  merge->footer(kMergeFooter);

  CLI::App* diff = app.add_subcommand("diff", "Groups new, gone or changed most between two tallies.");
  diff->add_option("-n,--top", a.top, "Only the N largest changes")
      ->check(CLI::Range(size_t{1}, std::numeric_limits<size_t>::max()))
      ->type_name("N");
  diff->add_option("-f,--format", a.format, "text (default), tsv, csv, json or ndjson")->type_name("FORMAT");
  diff->add_option("-o,--output", a.output, "Write to FILE atomically (default: standard output)")
      ->type_name("FILE");
  diff->add_option("-j,--threads", a.threads, "Worker threads (default: all cores)")
      ->check(CLI::Range(size_t{1}, size_t{1024}))
      ->type_name("N");
  diff->add_option("--memory", a.memory, "Memory budget, e.g. 512M (default: a quarter of RAM)")
      ->type_name("SIZE");
  diff->add_option("--temp-dir", a.temp_dir, "Directory for temporary files (default: $TMPDIR or /tmp)")
      ->type_name("DIR");
  diff->add_flag("-q,--quiet", a.quiet, "No summary on standard error");
  diff->add_option("TALLY", a.tallies, "OLD NEW: two tallies of the same query")->required()->type_name("TALLY");
  diff->footer(kDiffFooter);

  CLI::App* services = app.add_subcommand("services", "The service breakdown: counts and shares per category.");
  AddCommonOptions(services, a, false, true);
  services->footer(kServicesFooter);

  CLI::App* rules = app.add_subcommand("rules", "Firewall rules (and their revert script) from counted groups.");
  AddCommonOptions(rules, a, true, false);
  rules->add_option("--to", a.to, "iptables or nftables")->required()->type_name("TARGET");
  rules->add_option("--chain", a.chain, "Chain (iptables default INPUT; nftables input, forward or output)")
      ->type_name("C");
  rules->add_option("--action", a.action, "DROP (default) or REJECT")->type_name("A");
  rules->footer(std::string(kKeysHelp) + kRulesFooter);

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
  for (CLI::App* cmd : {count, merge}) {
    if (cmd->parsed()) {
      for (const char* opt : {"-o", "-f", "-n", "--percent"}) {
        if (cmd->get_option(opt)->count() > 0) a.table_asked = true;
      }
    }
  }
  if (count->parsed()) return RunCountCommand(a);
  if (merge->parsed()) return RunMergeCommand(a);
  if (diff->parsed()) return RunDiffCommand(a);
  if (services->parsed()) return RunServicesCommand(a);
  if (rules->parsed()) return RunRulesCommand(a);
  return UsageError("unknown command", "");
}

}  // namespace
}  // namespace logtally::cli

int main(int argc, char** argv) { return logtally::cli::Main(argc, argv); }
