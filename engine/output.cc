#include "engine/output.h"

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

void AppendCsvField(std::string& out, std::string_view d) {
  if (d.find_first_of(",\"") == std::string_view::npos) {
    out.append(d);
    return;
  }
  out.push_back('"');
  for (char c : d) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

// D(v) holds only printable ASCII and valid UTF-8, so JSON needs only the
// quote and the backslash escaped.
void AppendJsonString(std::string& out, std::string_view d) {
  out.push_back('"');
  for (char c : d) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
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

void AppendDisplay(std::string& out, std::string_view v) {
  size_t i = 0;
  while (i < v.size()) {
    uint8_t c = static_cast<uint8_t>(v[i]);
    if (c >= 0x20 && c < 0x7f) {
      if (c == '\\') out.push_back('\\');
      out.push_back(static_cast<char>(c));
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

absl::Status WriteRows(const std::vector<Row>& rows, const WriteOptions& opt, io::OutputFile& out) {
  const size_t ncol = opt.columns.size();
  std::vector<std::string_view> raw(ncol);
  std::string buf;
  std::string disp;
  // 1 MiB of formatted output per write(2).
  constexpr size_t kFlushAt = size_t{1} << 20;
  auto flush = [&]() -> absl::Status {
    absl::Status s = out.Write(buf);
    buf.clear();
    return s;
  };
  // The displayed values of one row, one per column ("-" when missing).
  auto column_values = [&](const Row& r, std::vector<std::string>& vals) {
    DecodeKey(r.key, ncol, raw.data());
    vals.resize(ncol);
    for (size_t c = 0; c < ncol; ++c) {
      vals[c].clear();
      AppendDisplay(vals[c], raw[c]);
    }
  };
  std::vector<std::string> vals;

  switch (opt.format) {
    case OutputFormat::kText:
      for (const Row& r : rows) {
        if (opt.percent) {
          absl::StrAppendFormat(&buf, "%7d %6s%% ", r.count, Percent(r.count, opt.counted));
        } else {
          absl::StrAppendFormat(&buf, "%7d ", r.count);
        }
        buf.append(r.display);
        buf.push_back('\n');
        if (buf.size() >= kFlushAt) {
          if (absl::Status s = flush(); !s.ok()) return s;
        }
      }
      break;
    case OutputFormat::kTsv:
    case OutputFormat::kCsv: {
      const bool csv = opt.format == OutputFormat::kCsv;
      const char sep = csv ? ',' : '\t';
      for (size_t c = 0; c < ncol; ++c) {
        disp.clear();
        AppendDisplay(disp, opt.columns[c]);
        if (csv) AppendCsvField(buf, disp); else buf.append(disp);
        buf.push_back(sep);
      }
      buf.append("count");
      if (opt.percent) {
        buf.push_back(sep);
        buf.append("percent");
      }
      buf.push_back('\n');
      for (const Row& r : rows) {
        column_values(r, vals);
        for (size_t c = 0; c < ncol; ++c) {
          std::string_view d = vals[c].empty() ? std::string_view("-") : std::string_view(vals[c]);
          if (csv) AppendCsvField(buf, d); else buf.append(d);
          buf.push_back(sep);
        }
        absl::StrAppend(&buf, r.count);
        if (opt.percent) {
          buf.push_back(sep);
          buf.append(Percent(r.count, opt.counted));
        }
        buf.push_back('\n');
        if (buf.size() >= kFlushAt) {
          if (absl::Status s = flush(); !s.ok()) return s;
        }
      }
      break;
    }
    case OutputFormat::kJson:
    case OutputFormat::kNdjson: {
      const bool array = opt.format == OutputFormat::kJson;
      std::vector<std::string> names(ncol);
      for (size_t c = 0; c < ncol; ++c) AppendDisplay(names[c], opt.columns[c]);
      if (array) buf.append(rows.empty() ? "[" : "[\n");
      for (size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        column_values(r, vals);
        buf.push_back('{');
        for (size_t c = 0; c < ncol; ++c) {
          AppendJsonString(buf, names[c]);
          buf.push_back(':');
          if (raw[c].empty()) buf.append("null"); else AppendJsonString(buf, vals[c]);
          buf.push_back(',');
        }
        absl::StrAppend(&buf, "\"count\":", r.count);
        if (opt.percent) absl::StrAppend(&buf, ",\"percent\":", Percent(r.count, opt.counted));
        buf.push_back('}');
        if (array && i + 1 < rows.size()) buf.push_back(',');
        buf.push_back('\n');
        if (buf.size() >= kFlushAt) {
          if (absl::Status s = flush(); !s.ok()) return s;
        }
      }
      if (array) buf.append("]\n");
      break;
    }
  }
  return flush();
}

}  // namespace logtally::engine
