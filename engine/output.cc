#include "engine/output.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/query.h"
#include "io/absl_compat.h"

namespace logtally::engine {
namespace {

// Length of the valid UTF-8 multi-byte sequence at s[i], or 0.
size_t Utf8SeqLen(std::string_view s, size_t i) {
  auto cont = [&](size_t k) {
    return i + k < s.size() && (static_cast<uint8_t>(s[i + k]) & 0xc0) == 0x80;
  };
  uint8_t c = static_cast<uint8_t>(s[i]);
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    uint8_t c1 = static_cast<uint8_t>(s[i + 1]);
    if (c == 0xe0 && c1 < 0xa0) return 0;  // overlong
    if (c == 0xed && c1 > 0x9f) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    uint8_t c1 = static_cast<uint8_t>(s[i + 1]);
    if (c == 0xf0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xf4 && c1 > 0x8f) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

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

namespace {

// Length of the prefix of [p, p + n) that displays as itself: printable
// ASCII other than the backslash. Most values are all of it, so they are
// copied in one go. SSE2 is part of x86-64, so no dispatch is needed.
size_t PlainPrefix(const char* p, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i lo = _mm_set1_epi8(0x1f), hi = _mm_set1_epi8(0x7f), bs = _mm_set1_epi8('\\');
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // Signed compares: bytes from 0x80 up are negative, so they fail "> 0x1f".
    __m128i ok = _mm_andnot_si128(_mm_cmpeq_epi8(v, bs),
                                  _mm_and_si128(_mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi)));
    unsigned m = static_cast<unsigned>(_mm_movemask_epi8(ok));
    if (m != 0xffff) return i + static_cast<size_t>(__builtin_ctz(~m));
  }
#endif
  for (; i < n; ++i) {
    uint8_t c = static_cast<uint8_t>(p[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\') break;
  }
  return i;
}

}  // namespace

bool DisplaysAsItself(std::string_view v) { return PlainPrefix(v.data(), v.size()) == v.size(); }

void AppendDisplay(std::string& out, std::string_view v) {
  size_t i = 0;
  while (i < v.size()) {
    size_t k = PlainPrefix(v.data() + i, v.size() - i);
    out.append(v.data() + i, k);
    i += k;
    if (i >= v.size()) break;
    uint8_t c = static_cast<uint8_t>(v[i]);
    if (c == '\\') {
      out.append("\\\\");
      ++i;
      continue;
    }
    size_t n = c >= 0x80 ? Utf8SeqLen(v, i) : 0;
    if (n > 0) {
      out.append(v.substr(i, n));
      i += n;
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", c);
      ++i;
    }
  }
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
    : opt_(opt), out_(out), raw_(opt.columns.size()), vals_(opt.columns.size()), background_(out) {
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

absl::Status RowWriter::Add(const Row& r) {
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
