#include "engine/output.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/display.h"
#include "engine/key.h"
#include "io/strings.h"

namespace logtally::engine {
namespace {

// True for a cell a spreadsheet would run as a formula: one starting with
// '=', '+' or '@', or with '-' unless the cell is "-" (a missing value) or a
// plain number ("-5", "-0.25").
bool LooksLikeFormula(std::string_view d) {
  if (d.empty()) return false;
  if (d[0] == '=' || d[0] == '+' || d[0] == '@') return true;
  if (d[0] != '-' || d.size() == 1) return false;
  bool digits = false, dot = false;
  for (char c : d.substr(1)) {
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      return true;
    }
  }
  return !digits;
}

// RFC 4180 quoting; a cell that looks like a formula gets a leading
// apostrophe inside quotes, which spreadsheets show as text (OWASP's advice
// on CSV injection).
template <typename S>
void AppendCsvField(S& out, std::string_view d) {
  const bool formula = LooksLikeFormula(d);
  if (!formula && d.find_first_of(",\"") == std::string_view::npos) {
    out.append(d);
    return;
  }
  out.push_back('"');
  if (formula) out.push_back('\'');
  for (char c : d) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

// D(v) holds only printable ASCII and valid UTF-8, so JSON needs only the
// quote and the backslash escaped.
template <typename S>
void AppendJsonString(S& out, std::string_view d) {
  out.push_back('"');
  for (char c : d) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

template <typename S>
void AppendUint(S& out, uint64_t v) {
  char digits[24];
  char* e = digits + sizeof digits;
  char* d = e;
  do {
    *--d = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out.append(d, static_cast<size_t>(e - d));
}

std::string Percent(uint64_t count, uint64_t total) {
  double p = total == 0 ? 0.0 : 100.0 * static_cast<double>(count) / static_cast<double>(total);
  return absl::StrFormat("%.2f", p);
}

}  // namespace

absl::StatusOr<OutputFormat> ParseOutputFormat(std::string_view name) {
  if (name == "text") return OutputFormat::kText;
  if (name == "tsv") return OutputFormat::kTsv;
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "json") return OutputFormat::kJson;
  if (name == "ndjson") return OutputFormat::kNdjson;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown format '", AV(name), "': use text, tsv, csv, json or ndjson"));
}

// Output buffers are 1 MiB blocks of BigAlloc memory (OutBuffer), flushed
// when within 64 KiB of full; a buffer takes its full size once it holds
// 32 KiB, so a result of a few rows stays small. BigAlloc hands back memory
// the count tables just gave up, so writing a large result touches no fresh
// page: with std::string buffers, the page faults of growing them were most
// of the time spent writing 134 K rows (about 1,000 faults, 20 ms in a VM).
constexpr size_t kBufferBytes = size_t{1} << 20;
constexpr size_t kFlushAt = kBufferBytes - (size_t{64} << 10);
constexpr size_t kGrowAt = size_t{32} << 10;

RowWriter::RowWriter(const WriteOptions& opt, io::OutputFile& out)
    : opt_(opt), out_(out), raw_(opt.columns.size() + (opt.diff ? 2 : 0)), vals_(opt.columns.size()),
      background_(out) {
  names_.resize(opt.columns.size());
  for (size_t c = 0; c < opt.columns.size(); ++c) AppendDisplay(names_[c], opt.columns[c]);
  Header();
}

void RowWriter::Header() {
  if (opt_.format != OutputFormat::kTsv && opt_.format != OutputFormat::kCsv) return;
  const bool csv = opt_.format == OutputFormat::kCsv;
  const char sep = csv ? ',' : '\t';
  for (const std::string& n : names_) {
    if (csv) AppendCsvField(buf_, n); else buf_.append(n);
    buf_.push_back(sep);
  }
  if (opt_.diff) {
    for (const char* n : {"old", "new", "change"}) {
      buf_.append(n);
      buf_.push_back(sep);
    }
    buf_.append("status\n");
    return;
  }
  buf_.append("count");
  if (opt_.percent) {
    buf_.push_back(sep);
    buf_.append("percent");
  }
  buf_.push_back('\n');
}

BackgroundWriter::~BackgroundWriter() { (void)Drain(); }

void BackgroundWriter::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return has_pending_ || stop_; });
    if (!has_pending_) return;
    lock.unlock();
    absl::Status s = out_.Write(pending_);
    lock.lock();
    if (!s.ok() && error_.ok()) error_ = std::move(s);
    pending_.clear();
    has_pending_ = false;
    cv_.notify_all();
  }
}

absl::Status BackgroundWriter::Submit(OutBuffer& buf) {
  if (!thread_.joinable()) {
    stop_ = false;
    thread_ = std::thread([this] { Loop(); });
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !has_pending_; });
  if (!error_.ok()) return error_;
  pending_.swap(buf);  // buf gets the last buffer back, written and empty
  has_pending_ = true;
  cv_.notify_all();
  return absl::OkStatus();
}

absl::Status BackgroundWriter::Drain() {
  if (!thread_.joinable()) return absl::OkStatus();
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !has_pending_; });
    stop_ = true;
    cv_.notify_all();
  }
  thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

absl::Status RowWriter::MaybeFlush() {
  if (buf_.size() < kFlushAt) {
    // reserve(n) allocates n + 1 bytes: exactly one 1 MiB block.
    if (buf_.size() >= kGrowAt && buf_.capacity() < kBufferBytes - 1) buf_.reserve(kBufferBytes - 1);
    return absl::OkStatus();
  }
  return background_.Submit(buf_);  // buf_ comes back empty
}

absl::Status RowWriter::AddDiff(const Row& r) {
  const size_t ncol = names_.size();
  DecodeKey(r.key, ncol + 2, raw_.data());
  const std::string_view was = raw_[ncol], now = raw_[ncol + 1];
  // The counts are decimal text written by the diff itself: compare them as
  // numbers by length, then digits.
  const bool up = now.size() != was.size() ? now.size() > was.size() : now > was;
  const std::string change = absl::StrCat(up ? "+" : "-", r.count);
  const char* status = was == "0" ? "new" : now == "0" ? "gone" : up ? "up" : "down";
  for (size_t c = 0; c < ncol; ++c) {
    vals_[c].clear();
    AppendDisplay(vals_[c], raw_[c]);
  }
  switch (opt_.format) {
    case OutputFormat::kText: {
      char t[96];
      const int n = absl::SNPrintF(t, sizeof t, "%7s %7s %7s %-4s ", AV(was), AV(now), change, status);
      buf_.append(t, std::min(static_cast<size_t>(n), sizeof t - 1));
      buf_.append(r.display);
      buf_.push_back('\n');
      break;
    }
    case OutputFormat::kTsv:
    case OutputFormat::kCsv: {
      const bool csv = opt_.format == OutputFormat::kCsv;
      const char sep = csv ? ',' : '\t';
      for (size_t c = 0; c < ncol; ++c) {
        std::string_view d = vals_[c].empty() ? std::string_view("-") : std::string_view(vals_[c]);
        if (csv) AppendCsvField(buf_, d); else buf_.append(d);
        buf_.push_back(sep);
      }
      buf_.append(was);
      buf_.push_back(sep);
      buf_.append(now);
      buf_.push_back(sep);
      buf_.append(change);
      buf_.push_back(sep);
      buf_.append(status);
      buf_.push_back('\n');
      break;
    }
    case OutputFormat::kJson:
    case OutputFormat::kNdjson: {
      if (opt_.format == OutputFormat::kJson) buf_.append(rows_ == 0 ? "[\n" : ",\n");
      buf_.push_back('{');
      for (size_t c = 0; c < ncol; ++c) {
        AppendJsonString(buf_, names_[c]);
        buf_.push_back(':');
        if (raw_[c].empty()) buf_.append("null"); else AppendJsonString(buf_, vals_[c]);
        buf_.push_back(',');
      }
      buf_.append("\"old\":");
      buf_.append(was);
      buf_.append(",\"new\":");
      buf_.append(now);
      buf_.append(",\"change\":");
      buf_.append(up ? std::string_view(change).substr(1) : std::string_view(change));
      buf_.append(",\"status\":\"");
      buf_.append(status);
      buf_.append("\"}");
      if (opt_.format == OutputFormat::kNdjson) buf_.push_back('\n');
      break;
    }
  }
  ++rows_;
  return MaybeFlush();
}

absl::Status RowWriter::Add(const Row& r) {
  if (opt_.diff) return AddDiff(r);
  const size_t ncol = names_.size();
  auto column_values = [&] {
    DecodeKey(r.key, ncol, raw_.data());
    for (size_t c = 0; c < ncol; ++c) {
      vals_[c].clear();
      AppendDisplay(vals_[c], raw_[c]);
    }
  };
  switch (opt_.format) {
    case OutputFormat::kText:
      if (opt_.percent) {
        char t[64];  // a formatted string per row would be an allocation per row
        const int n = absl::SNPrintF(t, sizeof t, "%7d %6s%% ", r.count, Percent(r.count, opt_.counted));
        buf_.append(t, std::min(static_cast<size_t>(n), sizeof t - 1));
      } else {
        // "%7d ": right-aligned in 7 columns, by hand (this runs once per
        // output row, millions of times for a high-cardinality key).
        char digits[24];
        char* e = digits + sizeof digits;
        char* d = e;
        uint64_t v = r.count;
        do {
          *--d = static_cast<char>('0' + v % 10);
          v /= 10;
        } while (v != 0);
        size_t len = static_cast<size_t>(e - d);
        if (len < 7) buf_.append(7 - len, ' ');
        buf_.append(d, len);
        buf_.push_back(' ');
      }
      buf_.append(r.display);
      buf_.push_back('\n');
      break;
    case OutputFormat::kTsv:
    case OutputFormat::kCsv: {
      const bool csv = opt_.format == OutputFormat::kCsv;
      const char sep = csv ? ',' : '\t';
      column_values();
      for (size_t c = 0; c < ncol; ++c) {
        std::string_view d = vals_[c].empty() ? std::string_view("-") : std::string_view(vals_[c]);
        if (csv) AppendCsvField(buf_, d); else buf_.append(d);
        buf_.push_back(sep);
      }
      AppendUint(buf_, r.count);
      if (opt_.percent) {
        buf_.push_back(sep);
        buf_.append(Percent(r.count, opt_.counted));
      }
      buf_.push_back('\n');
      break;
    }
    case OutputFormat::kJson:
    case OutputFormat::kNdjson: {
      if (opt_.format == OutputFormat::kJson) buf_.append(rows_ == 0 ? "[\n" : ",\n");
      column_values();
      buf_.push_back('{');
      for (size_t c = 0; c < ncol; ++c) {
        AppendJsonString(buf_, names_[c]);
        buf_.push_back(':');
        if (raw_[c].empty()) buf_.append("null"); else AppendJsonString(buf_, vals_[c]);
        buf_.push_back(',');
      }
      buf_.append("\"count\":");
      AppendUint(buf_, r.count);
      if (opt_.percent) {
        buf_.append(",\"percent\":");
        buf_.append(Percent(r.count, opt_.counted));
      }
      buf_.push_back('}');
      if (opt_.format == OutputFormat::kNdjson) buf_.push_back('\n');
      break;
    }
  }
  ++rows_;
  return MaybeFlush();
}

absl::Status RowWriter::Finish() {
  if (opt_.format == OutputFormat::kJson) buf_.append(rows_ == 0 ? "[]\n" : "\n]\n");
  // The last buffer goes out after the ones in flight, from this thread.
  if (absl::Status s = background_.Drain(); !s.ok()) return s;
  absl::Status s = out_.Write(buf_);
  buf_.clear();
  return s;
}

absl::Status WriteRows(const std::vector<Row>& rows, const WriteOptions& opt, io::OutputFile& out) {
  RowWriter w(opt, out);
  for (const Row& r : rows) {
    if (absl::Status s = w.Add(r); !s.ok()) return s;
  }
  return w.Finish();
}

}  // namespace logtally::engine
