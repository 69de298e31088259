#include "engine/query.h"

#include <cstdio>
#include <cstring>
#include <ctime>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/key.h"
#include "engine/port_names.h"
#include "engine/ulogd.h"
#include "io/strings.h"

namespace logtally::engine {
namespace {

bool AllDigits(std::string_view s) {
  if (s.empty() || s.size() > 19) return false;  // 19 digits always fit in uint64
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

uint64_t ToU64(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) v = v * 10 + static_cast<uint64_t>(c - '0');
  return v;
}

bool IsNetfilterName(std::string_view s) {
  if (s.empty() || !(s[0] >= 'A' && s[0] <= 'Z')) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

bool AlternativeMatches(const Alternative& a, std::string_view v) {
  switch (a.kind) {
    case Alternative::Kind::kExact:
      return v == a.text;
    case Alternative::Kind::kRange: {
      if (!AllDigits(v)) {
        // Leading zeros beyond 19 digits are still a whole number.
        size_t z = 0;
        while (z + 1 < v.size() && v[z] == '0') ++z;
        if (z == 0 || !AllDigits(v.substr(z))) return false;
        v.remove_prefix(z);
      }
      uint64_t x = ToU64(v);
      return x >= a.lo && x <= a.hi;
    }
    case Alternative::Kind::kCidr: {
      IpAddr ip;
      return ParseIp(v, &ip) && CidrContains(a.cidr, ip);
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<size_t> Query::SlotFor(std::string_view name) {
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].name == name) return i;
  }
  Field f;
  f.name = std::string(name);
  if (name == "line") {
    f.kind = FieldKind::kLine;
  } else if (name == "TIME") {
    f.kind = FieldKind::kTime;
  } else if (name == "HOST") {
    f.kind = FieldKind::kHost;
  } else if (name == "PREFIX") {
    f.kind = FieldKind::kPrefix;
  } else if (!name.empty() && name[0] == '.') {
    f.kind = FieldKind::kJsonPath;
    f.index = json_paths_.size();
    json_paths_.emplace_back(name);
  } else if (name == "service") {
    f.kind = FieldKind::kService;
  } else if (name == "day" || name == "hour") {
    f.kind = name == "day" ? FieldKind::kDay : FieldKind::kHour;
    needs_header_ = true;
    needs_time_ = true;
  } else if (name.size() > 5 && name.substr(name.size() - 5) == ".name" &&
             (name.substr(0, name.size() - 5) == "DPT" || name.substr(0, name.size() - 5) == "SPT")) {
    f.kind = FieldKind::kPortName;
  } else if (size_t slash = name.find('/'); slash != std::string_view::npos && slash > 0 &&
             IsNetfilterName(name.substr(0, slash)) && AllDigits(name.substr(slash + 1)) &&
             name.size() - slash - 1 <= 3) {
    f.kind = FieldKind::kAddrPrefix;
    f.prefix_len = static_cast<int>(ToU64(name.substr(slash + 1)));
    if (f.prefix_len > 128) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad key '", AV(name), "': a prefix length is at most 32 (IPv4) or 128 (IPv6)"));
    }
  } else if (!name.empty() && name[0] == '$') {
    std::string_view num = name.substr(1);
    if (!AllDigits(num) || num.size() > 6 || ToU64(num) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad key '", AV(name), "': words are $1, $2, ... (use 'line' for the whole line)"));
    }
    f.kind = FieldKind::kWord;
    f.index = ToU64(num) - 1;
  } else if (IsNetfilterName(name)) {
    if (wanted_.size() >= WantedKeys::kMaxWantedKeys) {
      return absl::InvalidArgumentError(
          absl::StrCat("too many netfilter fields (at most ", WantedKeys::kMaxWantedKeys, ")"));
    }
    f.kind = FieldKind::kNetfilter;
    f.index = wanted_.Add(name);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown key '", AV(name),
        "': use netfilter fields as written (SRC, DST, DPT, PROTO, ...), TIME, HOST, PREFIX, "
        "line or $N"));
  }
  if (f.kind == FieldKind::kTime || f.kind == FieldKind::kHost || f.kind == FieldKind::kPrefix) {
    needs_header_ = true;
  }
  // Derived fields read netfilter fields: make sure the token walk finds them.
  auto want = [&](std::string_view key) -> absl::Status {
    if (wanted_.size() >= WantedKeys::kMaxWantedKeys) {
      return absl::InvalidArgumentError(
          absl::StrCat("too many netfilter fields (at most ", WantedKeys::kMaxWantedKeys, ")"));
    }
    return absl::OkStatus();
  };
  switch (f.kind) {
    case FieldKind::kService:
      if (absl::Status s = want("DPT"); !s.ok()) return s;
      f.index = wanted_.Add("DPT");
      f.proto = wanted_.Add("PROTO");
      break;
    case FieldKind::kPortName:
      if (absl::Status s = want("DPT"); !s.ok()) return s;
      f.index = wanted_.Add(name.substr(0, 3));
      f.proto = wanted_.Add("PROTO");
      break;
    case FieldKind::kAddrPrefix:
      if (absl::Status s = want("SRC"); !s.ok()) return s;
      f.index = wanted_.Add(name.substr(0, name.find('/')));
      break;
    default:
      break;
  }
  if (f.kind == FieldKind::kWord) max_word_ = std::max(max_word_, f.index + 1);
  slots_.push_back(std::move(f));
  return slots_.size() - 1;
}

absl::StatusOr<Query> Query::Parse(std::string_view key_spec,
                                   const std::vector<std::string>& conditions,
                                   const QueryOptions& options) {
  Query q;
  q.options_ = options;
  if (q.has_time_window()) q.needs_header_ = q.needs_time_ = true;
  if (key_spec.empty()) return absl::InvalidArgumentError("empty key: give -k FIELD[,FIELD...]");
  for (std::string_view name : SplitOn(key_spec, ',')) {
    if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("empty field in key '", AV(key_spec), "'"));
    absl::StatusOr<size_t> slot = q.SlotFor(name);
    if (!slot.ok()) return slot.status();
    for (size_t k : q.key_) {
      if (k == *slot) {
        return absl::InvalidArgumentError(absl::StrCat("field '", AV(name), "' appears twice in the key"));
      }
    }
    q.key_.push_back(*slot);
    if (q.slots_[*slot].NeedsRecord()) q.key_needs_record_ = true;
  }
  for (const std::string& text : conditions) {
    size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || (eq == 1 && text[0] == '!')) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad condition '", text, "': expected KEY=VALUE or KEY!=VALUE"));
    }
    Condition c;
    c.text = text;
    c.negate = text[eq - 1] == '!';
    std::string_view name(text.data(), c.negate ? eq - 1 : eq);
    absl::StatusOr<size_t> slot = q.SlotFor(name);
    if (!slot.ok()) return slot.status();
    c.slot = *slot;
    std::string_view values(text.data() + eq + 1, text.size() - eq - 1);
    for (std::string_view v : SplitOn(values, ',')) {
      Alternative a;
      size_t dash = v.find('-');
      Cidr cidr;
      if (dash != std::string_view::npos && AllDigits(v.substr(0, dash)) &&
          AllDigits(v.substr(dash + 1))) {
        a.kind = Alternative::Kind::kRange;
        a.lo = ToU64(v.substr(0, dash));
        a.hi = ToU64(v.substr(dash + 1));
        if (a.lo > a.hi) {
          return absl::InvalidArgumentError(
              absl::StrCat("bad range '", AV(v), "' in condition '", text, "': low end above high end"));
        }
      } else if (v.find('/') != std::string_view::npos && ParseCidr(v, &cidr)) {
        a.kind = Alternative::Kind::kCidr;
        a.cidr = cidr;
      } else {
        a.text = std::string(v);
      }
      c.alternatives.push_back(std::move(a));
    }
    q.conditions_.push_back(std::move(c));
  }
  return q;
}

std::vector<std::string> Query::column_names() const {
  std::vector<std::string> out;
  for (size_t s : key_) out.push_back(slots_[s].name);
  return out;
}

LineEvaluator::LineEvaluator(const Query& q, const simd::Kernels& k)
    : q_(q),
      k_(k),
      values_(q.slots().size()),
      nf_(q.wanted().size()),
      words_(q.max_word()),
      derived_(q.slots().size()),
      ulogd_addr_(q.wanted().size()) {
  key_.resize(256);
}

void LineEvaluator::SetJson(bool json) {
  json_mode_ = json;
  if (json && json_ == nullptr) {
    json_ = std::make_unique<JsonLine>(q_.json_paths());
    // ulogd fields by number on the per-line path: registered now, before
    // any line, so no line is walked twice and no name is compared per line.
    ulogd_ids_.resize(q_.wanted().size());
    for (size_t i = 0; i < ulogd_ids_.size(); ++i) ulogd_ids_[i] = json_->UlogdFieldId(q_.wanted().name(i));
    if (q_.needs_header()) {
      ulogd_prefix_id_ = json_->UlogdFieldId("PREFIX");
      ulogd_time_id_ = json_->UlogdFieldId("TIME");
    }
  }
}

LineEvaluator::Outcome LineEvaluator::Evaluate(const char* line, size_t n, bool* is_record) {
  if (json_mode_) return EvaluateJson(line, n, is_record);
  size_t in_pos = FindRecordStart(line, n, k_);
  bool record = in_pos != kNoRecord;
  *is_record = record;
  if (!record && q_.key_needs_record()) return Outcome::kOther;

  if (record && !nf_.empty()) {
    for (auto& v : nf_) v = {};
    ExtractFields(line, n, in_pos, q_.wanted(), nf_.data(), k_);
  }
  Header h;
  if (record && q_.needs_header()) h = ParseHeader(line, in_pos);
  return Finish(line, n, record, h, is_record);
}

// A JSON line: journald's MESSAGE is a kernel line, parsed as text (TIME and
// HOST come from the journal's own fields); a ulogd object maps its keys onto
// the text field names; any other object is not a netfilter record.
LineEvaluator::Outcome LineEvaluator::EvaluateJson(const char* line, size_t n, bool* is_record) {
  for (auto& v : nf_) v = {};
  Header h;
  bool record = false;
  switch (json_->Parse(std::string_view(line, n))) {
    case JsonLine::Kind::kMalformed:
      // Not an object: an other line, except for keys made only of line and
      // $N, which count every line.
      ++malformed_;
      *is_record = false;
      if (q_.key_needs_record() || !q_.json_paths().empty()) return Outcome::kOther;
      return Finish(line, n, false, Header(), is_record);
    case JsonLine::Kind::kJournald: {
      std::string_view msg = json_->message();
      size_t in_pos = FindRecordStart(msg.data(), msg.size(), k_);
      record = in_pos != kNoRecord;
      if (record && !nf_.empty()) ExtractFields(msg.data(), msg.size(), in_pos, q_.wanted(), nf_.data(), k_);
      if (record && q_.needs_header()) {
        h = ParseHeader(msg.data(), in_pos);
        h.host = json_->hostname();
        h.time = {};
        if (json_->has_time()) {
          // __REALTIME_TIMESTAMP is UTC microseconds: shown as RFC 3339.
          int64_t us = json_->realtime_us();
          int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
          CivilTime c = CivilFromEpoch(secs);
          char buf[64];
          int len = std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02d.%06lldZ",
                                  static_cast<long long>(c.year), c.month, c.day, c.hour, c.minute,
                                  c.second, static_cast<long long>(us - secs * 1000000));
          json_time_.assign(buf, static_cast<size_t>(len));
          h.time = json_time_;
        }
      }
      break;
    }
    case JsonLine::Kind::kUlogd: {
      record = true;
      for (size_t i = 0; i < nf_.size(); ++i) {
        nf_[i] = UlogdAddressAsKernel(json_->UlogdFieldAt(ulogd_ids_[i]), ulogd_addr_[i]);
      }
      if (q_.needs_header()) {
        h.prefix = json_->UlogdFieldAt(ulogd_prefix_id_);
        while (!h.prefix.empty() && h.prefix.front() == ' ') h.prefix.remove_prefix(1);
        while (!h.prefix.empty() && h.prefix.back() == ' ') h.prefix.remove_suffix(1);
        h.time = UlogdTimeAsRfc3339(json_->UlogdFieldAt(ulogd_time_id_), json_time_);
      }
      break;
    }
    case JsonLine::Kind::kOther:
      break;
  }
  *is_record = record;
  if (!record && q_.key_needs_record()) return Outcome::kOther;
  return Finish(line, n, record, h, is_record);
}

LineEvaluator::Outcome LineEvaluator::Finish(const char* line, size_t n, bool record,
                                             const Header& h, bool* is_record) {

  static const YearResolver kThisYear = YearResolver::ForMtime(static_cast<int64_t>(::time(nullptr)));
  const YearResolver& years = years_ != nullptr ? *years_ : kThisYear;
  Timestamp ts;
  bool have_ts = false;
  if (record && q_.needs_time()) {
    have_ts = !h.time.empty() && ParseTimestamp(h.time, years, &ts);
  }
  if (q_.has_time_window()) {
    // Other lines and records without a usable TIME are outside any window.
    if (!have_ts) return record ? Outcome::kFiltered : Outcome::kOther;
    const QueryOptions& o = q_.options();
    const int64_t wall = ts.epoch + (o.utc ? 0 : ts.offset_seconds);
    if ((o.has_since && (o.since_instant ? ts.epoch : wall) < o.since.start) ||
        (o.has_until && (o.until_instant ? ts.epoch : wall) >= o.until.end)) {
      return Outcome::kFiltered;
    }
  }
  if (!words_.empty()) {
    for (auto& w : words_) w = {};
    SplitWords(line, n, words_.data(), words_.size());
  }
  const std::vector<Field>& slots = q_.slots();
  for (size_t i = 0; i < slots.size(); ++i) {
    const Field& f = slots[i];
    switch (f.kind) {
      case FieldKind::kNetfilter: values_[i] = record ? nf_[f.index] : std::string_view(); break;
      case FieldKind::kTime: values_[i] = h.time; break;
      case FieldKind::kHost: values_[i] = h.host; break;
      case FieldKind::kPrefix: values_[i] = h.prefix; break;
      case FieldKind::kLine: values_[i] = std::string_view(line, n); break;
      case FieldKind::kWord: values_[i] = words_[f.index]; break;
      case FieldKind::kService:
        values_[i] = record ? q_.services().Classify(nf_[f.proto], nf_[f.index], &derived_[i])
                            : std::string_view();
        break;
      case FieldKind::kPortName:
        values_[i] = record ? PortName(nf_[f.proto], nf_[f.index]) : std::string_view();
        break;
      case FieldKind::kDay:
      case FieldKind::kHour: {
        values_[i] = {};
        if (!have_ts) break;
        std::string& buf = derived_[i];
        buf.resize(kHourKeyLen);
        size_t n = f.kind == FieldKind::kDay ? FormatDay(ts, q_.options().utc, buf.data())
                                            : FormatHour(ts, q_.options().utc, buf.data());
        values_[i] = std::string_view(buf.data(), n);
        break;
      }
      case FieldKind::kJsonPath:
        values_[i] = json_mode_ ? json_->PathValue(f.index) : std::string_view();
        break;
      case FieldKind::kAddrPrefix: {
        values_[i] = {};
        IpAddr ip;
        std::string_view base = record ? nf_[f.index] : std::string_view();
        if (base.empty() || !ParseIp(base, &ip) || f.prefix_len > (ip.v6 ? 128 : 32)) break;
        MaskTo(ip, f.prefix_len);
        std::string& buf = derived_[i];
        buf.clear();
        AppendIp(buf, ip);
        buf.push_back('/');
        buf.append(std::to_string(f.prefix_len));
        values_[i] = buf;
        break;
      }
    }
  }
  for (const Condition& c : q_.conditions()) {
    const Field& f = slots[c.slot];
    if (!record && f.NeedsRecord()) return Outcome::kFiltered;
    std::string_view v = values_[c.slot];
    bool any = false;
    for (const Alternative& a : c.alternatives) {
      if (AlternativeMatches(a, v)) {
        any = true;
        break;
      }
    }
    if (any == c.negate) return Outcome::kFiltered;
  }
  // Encode the key in one go: size it, then copy (no per-byte push_back).
  size_t total = 0;
  for (size_t s : q_.key()) total += MaxKeyValueSize(values_[s]);
  if (key_.size() < total) key_.resize(std::max(total, key_.size() * 2));
  char* out = key_.data();
  for (size_t s : q_.key()) out = EncodeKeyValue(values_[s], out);
  key_len_ = static_cast<size_t>(out - key_.data());
  return Outcome::kCounted;
}

}  // namespace logtally::engine
