#include "engine/tally.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/json_text.h"
#include "engine/key.h"
#include "io/strings.h"
#include "io/xxhash64.h"
#include "simdjson.h"

namespace logtally::engine {
namespace {

// The fixed parts of the file (docs/tally-format.md).
constexpr char kMagic[8] = {'L', 'O', 'G', 'T', 'A', 'L', 'L', 'Y'};
constexpr char kEndMagic[8] = {'T', 'A', 'L', 'L', 'Y', 'E', 'N', 'D'};
constexpr size_t kHeaderBytes = 16;
constexpr size_t kBlockHeaderBytes = 24;
constexpr size_t kIndexEntryBytes = 24;
constexpr size_t kTrailerBytes = 48;
// zstd's own default level: the files are kept, and at 32 KiB blocks the
// faster levels saved little time against a tally's write.
constexpr int kZstdLevel = 3;
// No block of a sane tally decompresses to more: the longest record is one
// key (a line of a log) and its count. A larger claim is damage, and is not
// allocated.
constexpr uint64_t kMaxBlockRaw = uint64_t{1} << 31;

void Put16(std::string& out, uint16_t v) {
  char b[2];
  std::memcpy(b, &v, 2);
  out.append(b, 2);
}
void Put32(std::string& out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}
void Put64(std::string& out, uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out.append(b, 8);
}
uint16_t Get16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
uint32_t Get32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t Get64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

std::string EpochText(int64_t t) {
  CivilTime c = CivilFromEpoch(t);
  char b[48];
  std::snprintf(b, sizeof b, "%04lld-%02d-%02dT%02d:%02d:%02d", static_cast<long long>(c.year), c.month,
                c.day, c.hour, c.minute, c.second);
  return b;
}

}  // namespace

// ---- Metadata -----------------------------------------------------------------

void TallyTotals::Add(const TallyTotals& o) {
  lines += o.lines;
  records += o.records;
  other += o.other;
  counted += o.counted;
  filtered += o.filtered;
  uncounted_other += o.uncounted_other;
  malformed += o.malformed;
  bytes += o.bytes;
  raw_bytes += o.raw_bytes;
  groups += o.groups;
}

TallyTotals TotalsOf(const RunStats& s) {
  TallyTotals t;
  t.lines = s.lines;
  t.records = s.records;
  t.other = s.other;
  t.counted = s.counted;
  t.filtered = s.filtered;
  t.uncounted_other = s.uncounted_other;
  t.malformed = s.malformed;
  t.bytes = s.bytes;
  t.raw_bytes = s.raw_bytes;
  t.groups = s.groups;
  return t;
}

RunStats StatsOf(const TallyTotals& t) {
  RunStats s;
  s.lines = t.lines;
  s.records = t.records;
  s.other = t.other;
  s.counted = t.counted;
  s.filtered = t.filtered;
  s.uncounted_other = t.uncounted_other;
  s.malformed = t.malformed;
  s.bytes = t.bytes;
  s.raw_bytes = t.raw_bytes;
  s.groups = t.groups;
  return s;
}

std::vector<std::pair<std::string, std::string>> TallyParams(const Query& q, const RunOptions& options,
                                                             std::string_view services_id) {
  std::map<std::string, std::string> p;
  const QueryOptions& o = q.options();
  // Bounds as the instants they compare with: a bound with an offset is an
  // instant (UTC), one without is a wall-clock reading.
  if (o.has_since) {
    p["since"] = o.since_instant ? EpochText(o.since.start) + "Z" : EpochText(o.since.start);
  }
  if (o.has_until) {
    p["until"] = absl::StrCat("before ", o.until_instant ? EpochText(o.until.end) + "Z" : EpochText(o.until.end));
  }
  if (q.needs_time()) {
    p["utc"] = o.utc ? "yes" : "no";
    p["year"] = options.year > 0 ? absl::StrCat(options.year) : "from each file";
    if (!o.utc) {
      const char* tz = std::getenv("TZ");
      if (tz != nullptr) {
        p["tz"] = tz;
      } else {
        char target[512];
        ssize_t n = ::readlink("/etc/localtime", target, sizeof target - 1);
        p["tz"] = n > 0 ? std::string(target, static_cast<size_t>(n)) : "system";
      }
    }
  }
  bool uses_service = false;
  for (const Field& f : q.slots()) uses_service = uses_service || f.kind == FieldKind::kService;
  if (uses_service) p["services"] = services_id.empty() ? "built-in" : std::string(services_id);
  switch (options.input) {
    case RunOptions::InputMode::kAuto: p["input"] = "auto"; break;
    case RunOptions::InputMode::kText: p["input"] = "text"; break;
    case RunOptions::InputMode::kJson: p["input"] = "json"; break;
  }
  return {p.begin(), p.end()};
}

absl::Status SameQuery(const TallyMeta& a, std::string_view an, const TallyMeta& b, std::string_view bn) {
  auto differ = [&](std::string_view what, std::string_view va, std::string_view vb) {
    return absl::InvalidArgumentError(absl::StrCat("tallies of different queries: ", AV(what), " differ: ", AV(va),
                                                   " in ", AV(an), ", ", AV(vb), " in ", AV(bn)));
  };
  auto quoted = [](const std::vector<std::string>& v) {
    return v.empty() ? std::string("none") : absl::StrCat("'", absl::StrJoin(v, "' '"), "'");
  };
  if (a.key != b.key) {
    return differ("the keys", absl::StrCat("'", absl::StrJoin(a.key, ","), "'"),
                  absl::StrCat("'", absl::StrJoin(b.key, ","), "'"));
  }
  std::vector<std::string> wa = a.where, wb = b.where;
  std::sort(wa.begin(), wa.end());
  std::sort(wb.begin(), wb.end());
  if (wa != wb) return differ("the conditions (-w)", quoted(a.where), quoted(b.where));
  std::map<std::string, std::string> pa(a.params.begin(), a.params.end()), pb(b.params.begin(), b.params.end());
  // The settings a user chooses first, then the ones that follow from them
  // (the time zone matters only without --utc), then any others.
  std::vector<std::string> names = {"since", "until", "utc", "year", "services", "input", "tz"};
  for (const auto* m : {&pa, &pb}) {
    for (const auto& kv : *m) {
      if (std::find(names.begin(), names.end(), kv.first) == names.end()) names.push_back(kv.first);
    }
  }
  for (const std::string& name : names) {
    auto ia = pa.find(name), ib = pb.find(name);
    const std::string va = ia == pa.end() ? "not set" : ia->second;
    const std::string vb = ib == pb.end() ? "not set" : ib->second;
    if (va != vb) return differ(absl::StrCat("the settings '", name, "'"), va, vb);
  }
  if (a.hash != b.hash || a.partition_bits != b.partition_bits) {
    return differ("the partitionings", absl::StrCat(a.hash, "/", a.partition_bits),
                  absl::StrCat(b.hash, "/", b.partition_bits));
  }
  return absl::OkStatus();
}

std::string MetaToJson(const TallyMeta& m) {
  std::string o;
  o.append("{\n\"format\":\"logtally tally\",\n\"version\":");
  absl::StrAppend(&o, m.version, ",\n\"written_by\":");
  AppendJsonValue(o, m.written_by);
  o.append(",\n\"query\":{\"key\":[");
  for (size_t i = 0; i < m.key.size(); ++i) {
    if (i > 0) o.push_back(',');
    AppendJsonValue(o, m.key[i]);
  }
  o.append("],\"where\":[");
  for (size_t i = 0; i < m.where.size(); ++i) {
    if (i > 0) o.push_back(',');
    AppendJsonValue(o, m.where[i]);
  }
  o.append("],\"params\":{");
  for (size_t i = 0; i < m.params.size(); ++i) {
    if (i > 0) o.push_back(',');
    AppendJsonValue(o, m.params[i].first);
    o.push_back(':');
    AppendJsonValue(o, m.params[i].second);
  }
  o.append("}},\n\"partitioning\":{\"hash\":");
  AppendJsonValue(o, m.hash);
  absl::StrAppend(&o, ",\"bits\":", m.partition_bits, "},\n\"tallies\":", m.tallies, ",\n");
  const TallyTotals& t = m.totals;
  absl::StrAppend(&o, "\"totals\":{\"lines\":", t.lines, ",\"records\":", t.records, ",\"other\":", t.other,
                  ",\"counted\":", t.counted, ",\"filtered\":", t.filtered,
                  ",\"uncounted_other\":", t.uncounted_other, ",\"malformed\":", t.malformed,
                  ",\"bytes\":", t.bytes, ",\"raw_bytes\":", t.raw_bytes, ",\"groups\":", t.groups, "},\n");
  if (m.has_span) {
    absl::StrAppend(&o, "\"span\":{\"first\":", m.first, ",\"last\":", m.last, ",\"first_text\":\"",
                    EpochText(m.first), "\",\"last_text\":\"", EpochText(m.last), "\"},\n");
  } else {
    o.append("\"span\":null,\n");
  }
  if (!m.run.empty()) {
    o.append("\"run\":");
    AppendJsonValue(o, m.run);
    o.append(",\n");
  }
  o.append("\"inputs\":[");
  for (size_t i = 0; i < m.inputs.size(); ++i) {
    const TallyInput& in = m.inputs[i];
    o.append(i == 0 ? "\n{\"path\":" : ",\n{\"path\":");
    AppendJsonValue(o, in.path);
    o.append(",\"format\":");
    AppendJsonValue(o, in.format);
    absl::StrAppend(&o, ",\"size\":", in.size, ",\"read\":", in.read, ",\"start\":", in.start,
                    ",\"decoded\":", in.decoded, ",\"mtime\":", in.mtime, ",\"head_bytes\":", in.head_bytes,
                    ",\"head\":\"", in.head, "\",\"tail_bytes\":", in.tail_bytes, ",\"tail\":\"", in.tail,
                    "\",\"error\":");
    AppendJsonValue(o, in.error);
    o.push_back('}');
  }
  o.append("]\n}\n");
  return o;
}

absl::StatusOr<TallyMeta> MetaFromJson(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS) {
    return absl::DataLossError("its metadata is not valid JSON");
  }
  TallyMeta m;
  auto bad = [](std::string_view what) {
    return absl::DataLossError(absl::StrCat("its metadata lacks or garbles '", AV(what), "'"));
  };
  std::string_view format;
  if (doc["format"].get_string().get(format) != simdjson::SUCCESS || format != "logtally tally") {
    return bad("format");
  }
  uint64_t u = 0;
  if (doc["version"].get_uint64().get(u) != simdjson::SUCCESS) return bad("version");
  m.version = static_cast<uint32_t>(u);
  if (auto s = StringField(doc, "written_by", "written_by"); s.ok()) m.written_by = *s;
  simdjson::dom::object query;
  if (doc["query"].get_object().get(query) != simdjson::SUCCESS) return bad("query");
  simdjson::dom::array arr;
  if (query["key"].get_array().get(arr) != simdjson::SUCCESS) return bad("query.key");
  for (simdjson::dom::element e : arr) {
    absl::StatusOr<std::string> s = JsonString(e, "query.key");
    if (!s.ok()) return s.status();
    m.key.push_back(std::move(*s));
  }
  if (query["where"].get_array().get(arr) != simdjson::SUCCESS) return bad("query.where");
  for (simdjson::dom::element e : arr) {
    absl::StatusOr<std::string> s = JsonString(e, "query.where");
    if (!s.ok()) return s.status();
    m.where.push_back(std::move(*s));
  }
  simdjson::dom::object params;
  if (query["params"].get_object().get(params) != simdjson::SUCCESS) return bad("query.params");
  for (auto field : params) {
    absl::StatusOr<std::string> s = JsonString(field.value, "query.params");
    if (!s.ok()) return s.status();
    m.params.emplace_back(std::string(field.key), std::move(*s));
  }
  std::sort(m.params.begin(), m.params.end());
  simdjson::dom::object part;
  if (doc["partitioning"].get_object().get(part) != simdjson::SUCCESS) return bad("partitioning");
  std::string_view hash;
  if (part["hash"].get_string().get(hash) != simdjson::SUCCESS) return bad("partitioning.hash");
  m.hash = std::string(hash);
  if (part["bits"].get_uint64().get(u) != simdjson::SUCCESS || u > 16) return bad("partitioning.bits");
  m.partition_bits = static_cast<int>(u);
  if (doc["tallies"].get_uint64().get(m.tallies) != simdjson::SUCCESS) return bad("tallies");
  simdjson::dom::object totals;
  if (doc["totals"].get_object().get(totals) != simdjson::SUCCESS) return bad("totals");
  struct {
    const char* name;
    uint64_t* field;
  } fields[] = {{"lines", &m.totals.lines},       {"records", &m.totals.records},
                {"other", &m.totals.other},       {"counted", &m.totals.counted},
                {"filtered", &m.totals.filtered}, {"uncounted_other", &m.totals.uncounted_other},
                {"malformed", &m.totals.malformed}, {"bytes", &m.totals.bytes},
                {"raw_bytes", &m.totals.raw_bytes}, {"groups", &m.totals.groups}};
  for (const auto& f : fields) {
    if (totals[f.name].get_uint64().get(*f.field) != simdjson::SUCCESS) {
      return bad(absl::StrCat("totals.", f.name));
    }
  }
  simdjson::dom::element span;
  if (doc["span"].get(span) != simdjson::SUCCESS) return bad("span");
  if (!span.is_null()) {
    if (span["first"].get_int64().get(m.first) != simdjson::SUCCESS ||
        span["last"].get_int64().get(m.last) != simdjson::SUCCESS) {
      return bad("span");
    }
    m.has_span = true;
  }
  if (auto run = StringField(doc, "run", "run"); run.ok()) m.run = *run;
  if (doc["inputs"].get_array().get(arr) != simdjson::SUCCESS) return bad("inputs");
  for (simdjson::dom::element e : arr) {
    TallyInput in;
    absl::StatusOr<std::string> s = StringField(e, "path", "inputs.path");
    if (!s.ok()) return s.status();
    in.path = std::move(*s);
    s = StringField(e, "format", "inputs.format");
    if (!s.ok()) return s.status();
    in.format = std::move(*s);
    struct {
      const char* name;
      uint64_t* field;
    } nums[] = {{"size", &in.size},       {"read", &in.read},
                {"start", &in.start},     {"decoded", &in.decoded},
                {"head_bytes", &in.head_bytes}, {"tail_bytes", &in.tail_bytes}};
    for (const auto& f : nums) {
      if (e[f.name].get_uint64().get(*f.field) != simdjson::SUCCESS) return bad(absl::StrCat("inputs.", f.name));
    }
    if (e["mtime"].get_int64().get(in.mtime) != simdjson::SUCCESS) return bad("inputs.mtime");
    std::string_view h;
    if (e["head"].get_string().get(h) != simdjson::SUCCESS) return bad("inputs.head");
    in.head = std::string(h);
    if (e["tail"].get_string().get(h) != simdjson::SUCCESS) return bad("inputs.tail");
    in.tail = std::string(h);
    s = StringField(e, "error", "inputs.error");
    if (!s.ok()) return s.status();
    in.error = std::move(*s);
    m.inputs.push_back(std::move(in));
  }
  return m;
}

// ---- Writing ------------------------------------------------------------------

TallyWriter::TallyWriter(std::string temp_dir) : temp_dir_(std::move(temp_dir)), parts_(kPartitions) {}
TallyWriter::~TallyWriter() = default;

void TallyWriter::Fail(absl::Status s) {
  std::lock_guard<std::mutex> lock(mu_);
  if (error_.ok()) error_ = std::move(s);
}

absl::Status TallyWriter::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

uint64_t TallyWriter::groups() const { return groups_.load(); }

TallyWriter::Run::Run(TallyWriter& w, size_t partition) : w_(w), partition_(partition) {
  Partition& part = w_.parts_[partition];
  std::lock_guard<std::mutex> lock(part.mu);
  run_ = part.runs++;
  cctx_ = ZSTD_createCCtx();
}

TallyWriter::Run::~Run() { ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_)); }

absl::Status TallyWriter::Run::Add(std::string_view key, uint64_t count) {
  AppendVarint(raw_, key.size());
  raw_.append(key);
  AppendVarint(raw_, count);
  ++records_;
  w_.groups_.fetch_add(1, std::memory_order_relaxed);
  return raw_.size() >= kTallyBlockBytes ? FlushBlock() : absl::OkStatus();
}

absl::Status TallyWriter::Run::Finish() { return FlushBlock(); }

absl::Status TallyWriter::Run::FlushBlock() {
  if (records_ == 0) return absl::OkStatus();
  if (cctx_ == nullptr) return absl::ResourceExhaustedError("cannot set up zstd compression");
  const size_t bound = ZSTD_compressBound(raw_.size());
  compressed_.resize(kBlockHeaderBytes + bound);
  const size_t n = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(cctx_), compressed_.data() + kBlockHeaderBytes,
                                     bound, raw_.data(), raw_.size(), kZstdLevel);
  if (ZSTD_isError(n)) {
    return absl::InternalError(absl::StrCat("zstd compression failed: ", ZSTD_getErrorName(n)));
  }
  compressed_.resize(kBlockHeaderBytes + n);
  std::string head;
  Put64(head, 0);
  Put32(head, static_cast<uint32_t>(n));
  Put32(head, static_cast<uint32_t>(raw_.size()));
  Put32(head, records_);
  Put16(head, static_cast<uint16_t>(partition_));
  Put16(head, run_);
  std::memcpy(compressed_.data(), head.data(), kBlockHeaderBytes);
  const uint64_t sum = io::Xxh64(compressed_.data() + 8, compressed_.size() - 8);
  std::memcpy(compressed_.data(), &sum, 8);
  Partition& part = w_.parts_[partition_];
  std::lock_guard<std::mutex> lock(part.mu);
  if (part.file == nullptr) {
    absl::StatusOr<std::unique_ptr<TempFile>> f = TempFile::Create(w_.temp_dir_);
    if (!f.ok()) return f.status();
    part.file = std::move(*f);
  }
  part.blocks.push_back(Block{part.file->size(), static_cast<uint32_t>(n), static_cast<uint32_t>(raw_.size()),
                              records_, run_});
  raw_.clear();
  records_ = 0;
  return part.file->Append(compressed_);
}

void TallyWriter::SavePartition(size_t p, const HashTable& t) {
  if (!error().ok()) return;
  std::vector<const Entry*> entries;
  entries.reserve(t.size());
  for (const Entry& e : t.slots()) {
    if (e.key != nullptr) entries.push_back(&e);
  }
  std::sort(entries.begin(), entries.end(), [](const Entry* a, const Entry* b) { return a->view() < b->view(); });
  Run run(*this, p);
  for (const Entry* e : entries) {
    if (absl::Status s = run.Add(e->view(), e->count); !s.ok()) return Fail(std::move(s));
  }
  if (absl::Status s = run.Finish(); !s.ok()) Fail(std::move(s));
}

absl::Status TallyWriter::Write(TallyMeta meta, io::OutputFile& out) {
  if (absl::Status s = error(); !s.ok()) return s;
  std::string head(kMagic, sizeof kMagic);
  Put32(head, kTallyVersion);
  Put32(head, 0);
  if (absl::Status s = out.Write(head); !s.ok()) return s;
  uint64_t at = kHeaderBytes;
  std::string index;
  uint64_t blocks = 0;
  std::string buf(size_t{1} << 20, '\0');
  for (size_t p = 0; p < kPartitions; ++p) {
    Partition& part = parts_[p];
    if (part.file == nullptr) continue;
    for (const Block& b : part.blocks) {
      Put64(index, at + b.offset);
      Put32(index, b.payload);
      Put32(index, b.raw);
      Put32(index, b.records);
      Put16(index, static_cast<uint16_t>(p));
      Put16(index, b.run);
      ++blocks;
    }
    const uint64_t size = part.file->size();
    for (uint64_t off = 0; off < size;) {
      absl::StatusOr<size_t> got = part.file->ReadAt(off, buf.data(), std::min<uint64_t>(buf.size(), size - off));
      if (!got.ok()) return got.status();
      if (*got == 0) return absl::DataLossError("a tally's temporary data ended early");
      if (absl::Status s = out.Write(std::string_view(buf.data(), *got)); !s.ok()) return s;
      off += *got;
    }
    at += size;
    part.file.reset();
  }
  meta.version = kTallyVersion;
  meta.totals.groups = groups();
  std::string tail = MetaToJson(meta);
  const uint64_t meta_size = tail.size();
  tail.append(index);
  Put64(tail, at);
  Put64(tail, meta_size);
  Put64(tail, at + meta_size);
  Put64(tail, blocks);
  Put64(tail, io::Xxh64(tail));
  tail.append(kEndMagic, sizeof kEndMagic);
  return out.Write(tail);
}

// ---- Reading ------------------------------------------------------------------

TallyFile::~TallyFile() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

absl::Status ReadExactly(int fd, uint64_t off, char* buf, size_t n, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      return absl::DataLossError(absl::StrCat("tally ", path, ": cannot read: ", std::strerror(errno)));
    }
    if (r == 0) {
      return absl::DataLossError(absl::StrCat("tally ", path, ": ends at byte ", off + done,
                                              ", before the bytes its index names (truncated)"));
    }
    done += static_cast<size_t>(r);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TallyFile>> TallyFile::Open(const std::string& path) {
  std::unique_ptr<TallyFile> f(new TallyFile());
  f->path_ = path;
  f->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f->fd_ < 0) {
    return absl::NotFoundError(absl::StrCat("cannot open tally ", path, ": ", std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(f->fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("tally ", path, " is not a regular file"));
  }
  f->size_ = static_cast<uint64_t>(st.st_size);
  auto damaged = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("tally ", path, ": ", what));
  };
  char head[kHeaderBytes];
  if (f->size_ < kHeaderBytes ||
      !ReadExactly(f->fd_, 0, head, kHeaderBytes, path).ok() ||
      std::memcmp(head, kMagic, sizeof kMagic) != 0) {
    return damaged("not a tally file (it does not start with LOGTALLY)");
  }
  const uint32_t version = Get32(head + 8);
  if (version != kTallyVersion) {
    return damaged(absl::StrCat("format version ", version, "; this logtally reads version ", kTallyVersion));
  }
  if (Get32(head + 12) != 0) {
    return damaged(absl::StrCat("flags ", Get32(head + 12), " that this logtally does not know"));
  }
  // The trailer locates the metadata and the index. Without it the file was
  // cut short: find the first block that does not fit, to name it.
  char trailer[kTrailerBytes];
  const bool has_trailer = f->size_ >= kHeaderBytes + kTrailerBytes &&
                           ReadExactly(f->fd_, f->size_ - kTrailerBytes, trailer, kTrailerBytes, path).ok() &&
                           std::memcmp(trailer + 40, kEndMagic, sizeof kEndMagic) == 0;
  if (!has_trailer) {
    uint64_t at = kHeaderBytes;
    size_t n = 0;
    char bh[kBlockHeaderBytes];
    while (at + kBlockHeaderBytes <= f->size_ && ReadExactly(f->fd_, at, bh, kBlockHeaderBytes, path).ok()) {
      const uint64_t end = at + kBlockHeaderBytes + Get32(bh + 8);
      if (Get16(bh + 20) >= kPartitions || end > f->size_) break;
      at = end;
      ++n;
    }
    return damaged(absl::StrCat("truncated or damaged: no end marker; it is ", f->size_,
                                " bytes long and block ", n, " (at byte ", at,
                                ") is cut short or garbled"));
  }
  const uint64_t meta_off = Get64(trailer), meta_size = Get64(trailer + 8), index_off = Get64(trailer + 16),
                 nblocks = Get64(trailer + 24), sum = Get64(trailer + 32);
  if (meta_off < kHeaderBytes || meta_off > f->size_ || meta_size > f->size_ ||
      index_off != meta_off + meta_size || nblocks > f->size_ / kIndexEntryBytes ||
      index_off + nblocks * kIndexEntryBytes + kTrailerBytes != f->size_) {
    return damaged("its trailer is damaged (the metadata and index it locates do not fit the file)");
  }
  std::string tail(static_cast<size_t>(f->size_ - meta_off - 16), '\0');
  if (absl::Status s = ReadExactly(f->fd_, meta_off, tail.data(), tail.size(), path); !s.ok()) return s;
  if (io::Xxh64(tail) != sum) {
    return damaged("its metadata or block index is damaged (checksum mismatch)");
  }
  absl::StatusOr<TallyMeta> meta = MetaFromJson(std::string_view(tail.data(), static_cast<size_t>(meta_size)));
  if (!meta.ok()) return damaged(meta.status().message());
  f->meta_ = std::move(*meta);
  if (f->meta_.partition_bits != kPartitionBits) {
    return damaged(absl::StrCat("partitioned by ", f->meta_.partition_bits, " bits; this logtally uses ",
                                kPartitionBits));
  }
  f->runs_.resize(kPartitions);
  const char* ix = tail.data() + meta_size;
  uint64_t expect = kHeaderBytes;
  int last_p = -1;
  for (uint64_t i = 0; i < nblocks; ++i) {
    const char* e = ix + i * kIndexEntryBytes;
    Block b{Get64(e), Get32(e + 8), Get32(e + 12), Get32(e + 16), Get16(e + 20), Get16(e + 22)};
    if (b.offset != expect || b.partition >= kPartitions || static_cast<int>(b.partition) < last_p ||
        b.records == 0 || b.raw > kMaxBlockRaw) {
      return damaged(absl::StrCat("its block index is inconsistent at block ", i));
    }
    auto& runs = f->runs_[b.partition];
    if (static_cast<int>(b.partition) != last_p) {
      if (b.run != 0) return damaged(absl::StrCat("its block index is inconsistent at block ", i));
    } else if (b.run != runs.size() - 1 && b.run != runs.size()) {
      return damaged(absl::StrCat("its block index is inconsistent at block ", i));
    }
    if (b.run == runs.size()) runs.emplace_back();
    runs.back().push_back(f->blocks_.size());
    last_p = b.partition;
    expect = b.offset + kBlockHeaderBytes + b.payload;
    f->blocks_.push_back(b);
  }
  if (expect != meta_off) return damaged("its block index does not cover the data");
  return f;
}

absl::Status TallyFile::BlockError(size_t i, std::string_view what) const {
  const Block& b = blocks_[i];
  return absl::DataLossError(absl::StrCat("tally ", path_, ": block ", i, " of ", blocks_.size(), " (partition ",
                                          b.partition, ", bytes ", b.offset, "-",
                                          b.offset + kBlockHeaderBytes + b.payload, ") is damaged: ", AV(what)));
}

absl::Status TallyFile::ReadBlock(size_t i, std::string& scratch, std::string& raw) const {
  const Block& b = blocks_[i];
  scratch.resize(kBlockHeaderBytes + b.payload);
  if (absl::Status s = ReadExactly(fd_, b.offset, scratch.data(), scratch.size(), path_); !s.ok()) {
    return BlockError(i, std::string_view(s.message().data(), s.message().size()));
  }
  const char* h = scratch.data();
  if (io::Xxh64(h + 8, scratch.size() - 8) != Get64(h)) return BlockError(i, "its checksum does not match");
  if (Get32(h + 8) != b.payload || Get32(h + 12) != b.raw || Get32(h + 16) != b.records ||
      Get16(h + 20) != b.partition || Get16(h + 22) != b.run) {
    return BlockError(i, "its header disagrees with the index");
  }
  raw.resize(b.raw);
  const size_t n = ZSTD_decompress(raw.data(), raw.size(), h + kBlockHeaderBytes, b.payload);
  if (ZSTD_isError(n)) return BlockError(i, absl::StrCat("zstd: ", ZSTD_getErrorName(n)));
  if (n != b.raw) return BlockError(i, "it decompresses to another size than its header says");
  return absl::OkStatus();
}

absl::Status TallyFile::Verify() const {
  for (size_t p = 0; p < kPartitions; ++p) {
    for (const std::vector<size_t>& run : runs_[p]) {
      TallyRunReader r(*this, run);
      for (;;) {
        absl::StatusOr<bool> more = r.Next();
        if (!more.ok()) return more.status();
        if (!*more) break;
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> TallyRunReader::Next() {
  while (left_ == 0) {
    if (pos_ != raw_.size()) return file_.BlockError(current_, "bytes after its last record");
    if (next_block_ == blocks_.size()) return false;
    if (next_block_ > 0) {
      prev_.assign(key_);
      have_prev_ = true;
    }
    current_ = blocks_[next_block_++];
    if (absl::Status s = file_.ReadBlock(current_, scratch_, raw_); !s.ok()) return s;
    pos_ = 0;
    left_ = file_.blocks()[current_].records;
  }
  uint64_t klen = 0;
  const size_t a = ParseVarint(raw_.data() + pos_, raw_.size() - pos_, &klen);
  if (a == 0 || klen > raw_.size() - pos_ - a) return file_.BlockError(current_, "a record is cut short");
  const std::string_view key(raw_.data() + pos_ + a, klen);
  const size_t b = ParseVarint(raw_.data() + pos_ + a + klen, raw_.size() - pos_ - a - klen, &count_);
  if (b == 0 || count_ == 0) return file_.BlockError(current_, "a record's count is garbled");
  // Keys ascend strictly within a run, across its blocks too.
  const bool first_in_block = pos_ == 0;
  if (first_in_block ? (have_prev_ && !(std::string_view(prev_) < key)) : !(key_ < key)) {
    return file_.BlockError(current_, "its keys are out of order");
  }
  key_ = key;
  pos_ += a + klen + b;
  --left_;
  return true;
}

}  // namespace logtally::engine
