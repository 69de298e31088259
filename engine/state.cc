#include "engine/state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "io/input.h"
#include "absl/strings/str_cat.h"
#include "engine/json_text.h"
#include "io/atomic_file.h"
#include "io/decode.h"
#include "io/strings.h"
#include "io/xxhash64.h"

namespace logtally::engine {
namespace {

// The most entries a state keeps: contents no input has held for a while
// (rotated away and deleted) are dropped, least recently seen first. A year
// of daily rotations of a few dozen logs fits.
constexpr size_t kMaxEntries = 10000;

std::string HashOf(std::string_view bytes) { return io::HashHex(io::Xxh64(bytes)); }

// What decoding an input from its start says about it: its first kEdgeBytes,
// the kEdgeBytes before `upto`, and whether it holds bytes after `upto`.
struct Probe {
  std::string head;
  std::string before;  // the bytes before `upto` (up to kEdgeBytes)
  bool reached = false;  // it holds at least `upto` bytes
  bool more = false;     // and more after them
};

absl::StatusOr<Probe> Decode(const io::InputSpec& spec, uint64_t upto, size_t chunk_size) {
  absl::StatusOr<io::OpenedInput> in = io::OpenInput(spec, {.chunk_size = chunk_size});
  if (!in.ok()) return in.status();
  Probe p;
  io::Chunk chunk;
  uint64_t at = 0;
  for (;;) {
    absl::StatusOr<bool> more = in->chunker->Next(chunk);
    if (!more.ok()) return more.status();
    if (!*more) break;
    std::string_view d = chunk.data;
    if (p.head.size() < kEdgeBytes) p.head.append(d.substr(0, kEdgeBytes - p.head.size()));
    if (at < upto) {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(d.size(), upto - at));
      std::string_view part = d.substr(0, take);
      p.before.append(part.size() > kEdgeBytes ? part.substr(part.size() - kEdgeBytes) : part);
      if (p.before.size() > kEdgeBytes) p.before.erase(0, p.before.size() - kEdgeBytes);
    }
    at += d.size();
    in->chunker->Recycle(chunk);
    if (at > upto && p.head.size() >= std::min<uint64_t>(kEdgeBytes, at)) {
      p.more = true;
      break;
    }
  }
  p.reached = at >= upto;
  return p;
}

bool HeadMatches(const StateEntry& e, std::string_view head) {
  return e.head_bytes <= head.size() && HashOf(head.substr(0, e.head_bytes)) == e.head;
}

}  // namespace

// ---- The directory --------------------------------------------------------------

absl::StatusOr<std::unique_ptr<StateDir>> StateDir::Open(const std::string& dir, std::vector<std::string>* notes) {
  std::unique_ptr<StateDir> d(new StateDir());
  d->dir_ = dir;
  if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create state directory ", dir, ": ", std::strerror(errno)));
  }
  const std::string lock = dir + "/lock";
  d->lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (d->lock_fd_ < 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot use state directory ", dir, ": ", std::strerror(errno)));
  }
  if (::flock(d->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return absl::UnavailableError(absl::StrCat("state directory ", dir, " is in use by another logtally run"));
  }
  auto read = [](const std::string& path, std::string* out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::stringstream ss;
    ss << in.rdbuf();
    *out = ss.str();
    return true;
  };
  // A run that stopped between its pending state and the final rename:
  // finished when the tally it names was written by that run, undone if not.
  const std::string pending = dir + "/state.pending", current = dir + "/state";
  std::string text;
  if (read(pending, &text)) {
    std::string run, tally;
    absl::StatusOr<CountState> s = StateFromJson(text, &run, &tally);
    bool written = false;
    if (s.ok() && !tally.empty()) {
      absl::StatusOr<std::unique_ptr<TallyFile>> t = TallyFile::Open(tally);
      written = t.ok() && (*t)->meta().run == run;
    }
    if (written) {
      if (::rename(pending.c_str(), current.c_str()) != 0) {
        return absl::PermissionDeniedError(absl::StrCat("cannot update ", current, ": ", std::strerror(errno)));
      }
      notes->push_back(absl::StrCat("state ", dir, ": the last run was interrupted after writing its tally ",
                                    tally, "; its state is now committed"));
    } else {
      ::unlink(pending.c_str());
      notes->push_back(absl::StrCat("state ", dir,
                                    ": the last run was interrupted before its result was written; "
                                    "what it counted is counted again"));
    }
  }
  if (read(current, &text)) {
    std::string run, tally;
    absl::StatusOr<CountState> s = StateFromJson(text, &run, &tally);
    if (!s.ok()) {
      return absl::DataLossError(absl::StrCat("state ", current, " is damaged: ", s.status().message(),
                                              " (remove the directory to start over: everything is counted again)"));
    }
    d->state_ = std::move(*s);
    d->has_state_ = true;
  }
  return d;
}

StateDir::~StateDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

absl::Status StateDir::Prepare(const CountState& next, const std::string& run, const std::string& tally) {
  absl::StatusOr<io::OutputFile> f = io::OutputFile::Open(dir_ + "/state.pending");
  if (!f.ok()) return f.status();
  if (absl::Status s = f->Write(StateToJson(next, run, tally)); !s.ok()) return s;
  return f->Commit();
}

absl::Status StateDir::Commit() {
  const std::string pending = dir_ + "/state.pending", current = dir_ + "/state";
  if (::rename(pending.c_str(), current.c_str()) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot update ", current, ": ", std::strerror(errno)));
  }
  // The rename itself reaches the disk with the directory.
  int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return absl::OkStatus();
}

// ---- Planning -------------------------------------------------------------------

absl::StatusOr<std::vector<InputPlan>> PlanInputs(const CountState* state, const std::vector<io::InputSpec>& inputs,
                                                  size_t chunk_size, std::vector<std::string>* warnings) {
  static const std::vector<StateEntry> kNone;
  const std::vector<StateEntry>& entries = state != nullptr ? state->entries : kNone;
  std::vector<InputPlan> plans(inputs.size());
  std::vector<int> claimed_by(entries.size(), -1);
  std::set<std::string> warned;  // paths already warned about
  for (size_t i = 0; i < inputs.size(); ++i) {
    const io::InputSpec& spec = inputs[i];
    InputPlan& plan = plans[i];
    if (spec.path == "-") {
      return absl::InvalidArgumentError("--state counts files: standard input cannot be remembered");
    }
    int fd = ::open(spec.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return absl::NotFoundError(absl::StrCat(spec.display, ": cannot open: ", std::strerror(errno)));
    struct stat st {};
    const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    const uint64_t size = regular ? static_cast<uint64_t>(st.st_size) : 0;
    std::string raw_head = regular ? io::ReadUpTo(fd, 0, static_cast<size_t>(std::min<uint64_t>(size, kEdgeBytes))) : "";
    const uint64_t tail_n = std::min<uint64_t>(size, kEdgeBytes);
    std::string raw_tail = regular ? io::ReadUpTo(fd, size - tail_n, static_cast<size_t>(tail_n)) : "";
    if (!regular) {
      ::close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat(spec.display, ": --state counts regular files (this one cannot be remembered)"));
    }
    const io::Format format = io::Sniff(raw_head);
    plan.format = std::string(io::FormatName(format));
    plan.raw_size = size;
    plan.mtime = static_cast<int64_t>(st.st_mtime);
    plan.raw_head = HashOf(raw_head);
    plan.raw_tail = HashOf(raw_tail);
    const bool plain = format == io::Format::kPlain;
    // The same file, byte for byte, as a run already read: nothing new.
    for (size_t e = 0; e < entries.size(); ++e) {
      const StateEntry& s = entries[e];
      if (claimed_by[e] < 0 && !s.raw_head.empty() && s.format == plan.format && s.raw_size == size &&
          s.raw_head == plan.raw_head && s.raw_tail == plan.raw_tail && (s.complete || plain)) {
        plan.entry = static_cast<int>(e);
        plan.count = false;
        break;
      }
    }
    if (plan.entry >= 0) {
      claimed_by[static_cast<size_t>(plan.entry)] = static_cast<int>(i);
      ::close(fd);
      continue;
    }
    // By content: the entries whose first bytes this input starts with,
    // the one counted furthest first.
    std::string head = plain ? raw_head : std::string();
    if (!plain) {
      absl::StatusOr<Probe> p = Decode(spec, 0, chunk_size);
      if (!p.ok()) {
        ::close(fd);
        return p.status();
      }
      head = std::move(p->head);
    }
    std::vector<size_t> candidates;
    for (size_t e = 0; e < entries.size(); ++e) {
      if (entries[e].counted > 0 && HeadMatches(entries[e], head)) candidates.push_back(e);
    }
    std::sort(candidates.begin(), candidates.end(),
              [&](size_t a, size_t b) { return entries[a].counted > entries[b].counted; });
    plan.range.whole_lines = plain;  // a plain file may still grow
    for (size_t e : candidates) {
      const StateEntry& s = entries[e];
      bool ok = false, more = false;
      if (plain) {
        ok = size >= s.counted &&
             HashOf(io::ReadUpTo(fd, s.counted - s.tail_bytes, static_cast<size_t>(s.tail_bytes))) == s.tail;
        more = size > s.counted;
      } else {
        absl::StatusOr<Probe> p = Decode(spec, s.counted, chunk_size);
        if (!p.ok()) {
          ::close(fd);
          return p.status();
        }
        const std::string_view before(p->before);
        ok = p->reached && s.tail_bytes <= before.size() &&
             HashOf(before.substr(before.size() - s.tail_bytes)) == s.tail;
        more = p->more;
        plan.verified_complete = ok && !more;
      }
      if (!ok) {
        if (s.path == spec.path && warned.insert(spec.path).second) {
          warnings->push_back(absl::StrCat(
              spec.display, ": changed since the last run (shorter than the ", s.counted,
              " bytes counted then, or those bytes differ): counted from the start"));
        }
        continue;
      }
      if (claimed_by[e] >= 0) {
        // Another input holds the same content: it is counted once.
        plan.count = false;
        plan.duplicate = true;
        warnings->push_back(absl::StrCat(spec.display, ": the same content as ",
                                         inputs[static_cast<size_t>(claimed_by[e])].display,
                                         ": not counted twice"));
        break;
      }
      claimed_by[e] = static_cast<int>(i);
      plan.entry = static_cast<int>(e);
      plan.count = more;
      plan.range.skip = s.counted;
      break;
    }
    ::close(fd);
  }
  // Content an earlier run counted in a plain file that is still named but
  // holds something else now, and that no input holds: lines written to it
  // after that run may be lost (its rotated generation was not given).
  std::set<std::string> names;
  for (const io::InputSpec& in : inputs) names.insert(in.path);
  for (size_t e = 0; e < entries.size(); ++e) {
    const StateEntry& s = entries[e];
    if (claimed_by[e] < 0 && s.format == "plain" && names.count(s.path) > 0 &&
        warned.insert(s.path).second) {
      warnings->push_back(absl::StrCat(
          s.path, ": changed since the last run (rewritten, or rotated without the rotated file among the "
          "inputs): counted from the start; lines added to what it held then (", s.counted,
          " bytes counted) are missing unless that file is given too (e.g. ", s.path, "*)"));
    }
  }
  return plans;
}

CountState NextState(const CountState* old, const TallyMeta& query, const std::vector<io::InputSpec>& inputs,
                     const std::vector<InputPlan>& plans, const std::vector<int>& counted_inputs,
                     const std::vector<InputReport>& reports, int64_t now) {
  CountState next;
  next.query = query;  // only the query: no inputs, totals or run
  next.query.inputs.clear();
  next.query.totals = TallyTotals();
  next.query.has_span = false;
  next.query.run.clear();
  static const std::vector<StateEntry> kNone;
  const std::vector<StateEntry>& entries = old != nullptr ? old->entries : kNone;
  std::vector<char> continued(entries.size(), 0);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const InputPlan& plan = plans[i];
    if (plan.duplicate) continue;
    StateEntry e;
    if (plan.entry >= 0) {
      continued[static_cast<size_t>(plan.entry)] = 1;
      e = entries[static_cast<size_t>(plan.entry)];
    }
    e.path = inputs[i].path;
    e.format = plan.format;
    e.raw_size = plan.raw_size;
    e.mtime = plan.mtime;
    e.raw_head = plan.raw_head;
    e.raw_tail = plan.raw_tail;
    e.seen = now;
    const int r = counted_inputs[i];
    if (r < 0) {
      if (plan.verified_complete) e.complete = true;
      if (plan.entry < 0) continue;  // nothing in it, nothing to remember
    } else {
      const InputReport& rep = reports[static_cast<size_t>(r)];
      const uint64_t counted = rep.start + rep.decoded;
      if (counted == 0) continue;  // an empty file: nothing to remember
      if (rep.decoded > 0 || plan.entry < 0) {
        e.counted = counted;
        e.head_bytes = std::min<uint64_t>(rep.head.size(), counted);
        e.head = HashOf(std::string_view(rep.head).substr(0, static_cast<size_t>(e.head_bytes)));
        e.tail_bytes = rep.tail.size();
        e.tail = HashOf(rep.tail);
      }
      e.complete = rep.held == 0 && (plan.format != "plain" || counted == rep.raw_size);
      // The raw fingerprints describe the file only if it did not grow
      // between the plan and the count.
      if (rep.raw_size != plan.raw_size) e.raw_head.clear();
    }
    next.entries.push_back(std::move(e));
  }
  std::vector<StateEntry> kept;
  for (size_t e = 0; e < entries.size(); ++e) {
    if (continued[e] == 0) kept.push_back(entries[e]);
  }
  std::sort(kept.begin(), kept.end(), [](const StateEntry& a, const StateEntry& b) { return a.seen > b.seen; });
  for (StateEntry& e : kept) {
    if (next.entries.size() >= kMaxEntries) break;
    next.entries.push_back(std::move(e));
  }
  return next;
}

// ---- JSON -------------------------------------------------------------------------

std::string StateToJson(const CountState& s, const std::string& run, const std::string& tally) {
  std::string o = "{\n\"format\":\"logtally state\",\n\"version\":1,\n\"run\":";
  AppendJsonValue(o, run);
  o.append(",\n\"tally\":");
  AppendJsonValue(o, tally);
  o.append(",\n\"query\":");
  std::string meta = MetaToJson(s.query);
  while (!meta.empty() && meta.back() == '\n') meta.pop_back();
  o.append(meta);
  o.append(",\n\"entries\":[");
  for (size_t i = 0; i < s.entries.size(); ++i) {
    const StateEntry& e = s.entries[i];
    o.append(i == 0 ? "\n{\"path\":" : ",\n{\"path\":");
    AppendJsonValue(o, e.path);
    o.append(",\"format\":");
    AppendJsonValue(o, e.format);
    absl::StrAppend(&o, ",\"raw_size\":", e.raw_size, ",\"mtime\":", e.mtime, ",\"raw_head\":\"", e.raw_head,
                    "\",\"raw_tail\":\"", e.raw_tail, "\",\"head_bytes\":", e.head_bytes, ",\"head\":\"", e.head,
                    "\",\"counted\":", e.counted, ",\"tail_bytes\":", e.tail_bytes, ",\"tail\":\"", e.tail,
                    "\",\"complete\":", e.complete ? "true" : "false", ",\"seen\":", e.seen, "}");
  }
  o.append("]\n}\n");
  return o;
}

absl::StatusOr<CountState> StateFromJson(std::string_view json, std::string* run, std::string* tally) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS) {
    return absl::DataLossError("not valid JSON");
  }
  auto bad = [](std::string_view what) {
    return absl::DataLossError(absl::StrCat("it lacks or garbles '", AV(what), "'"));
  };
  std::string_view format;
  uint64_t version = 0;
  if (doc["format"].get_string().get(format) != simdjson::SUCCESS || format != "logtally state") return bad("format");
  if (doc["version"].get_uint64().get(version) != simdjson::SUCCESS || version != 1) return bad("version");
  absl::StatusOr<std::string> s = StringField(doc, "run", "run");
  if (!s.ok()) return s.status();
  *run = *s;
  s = StringField(doc, "tally", "tally");
  if (!s.ok()) return s.status();
  *tally = *s;
  simdjson::dom::element query;
  if (doc["query"].get(query) != simdjson::SUCCESS) return bad("query");
  CountState st;
  absl::StatusOr<TallyMeta> meta = MetaFromJson(simdjson::to_string(query));
  if (!meta.ok()) return meta.status();
  st.query = std::move(*meta);
  simdjson::dom::array entries;
  if (doc["entries"].get_array().get(entries) != simdjson::SUCCESS) return bad("entries");
  for (simdjson::dom::element el : entries) {
    StateEntry e;
    s = StringField(el, "path", "entries.path");
    if (!s.ok()) return s.status();
    e.path = *s;
    s = StringField(el, "format", "entries.format");
    if (!s.ok()) return s.status();
    e.format = *s;
    struct {
      const char* name;
      uint64_t* field;
    } nums[] = {{"raw_size", &e.raw_size},
                {"head_bytes", &e.head_bytes},
                {"counted", &e.counted},
                {"tail_bytes", &e.tail_bytes}};
    for (const auto& n : nums) {
      if (el[n.name].get_uint64().get(*n.field) != simdjson::SUCCESS) return bad(absl::StrCat("entries.", n.name));
    }
    struct {
      const char* name;
      std::string* field;
    } strs[] = {{"raw_head", &e.raw_head}, {"raw_tail", &e.raw_tail}, {"head", &e.head}, {"tail", &e.tail}};
    for (const auto& n : strs) {
      std::string_view v;
      if (el[n.name].get_string().get(v) != simdjson::SUCCESS) return bad(absl::StrCat("entries.", n.name));
      *n.field = std::string(v);
    }
    if (el["mtime"].get_int64().get(e.mtime) != simdjson::SUCCESS ||
        el["seen"].get_int64().get(e.seen) != simdjson::SUCCESS ||
        el["complete"].get_bool().get(e.complete) != simdjson::SUCCESS) {
      return bad("entries");
    }
    if (e.tail_bytes > e.counted || e.head_bytes > kEdgeBytes || e.tail_bytes > kEdgeBytes) return bad("entries");
    st.entries.push_back(std::move(e));
  }
  return st;
}

}  // namespace logtally::engine
