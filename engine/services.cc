#include "engine/services.h"

#include <algorithm>
#include <utility>

#include "engine/display.h"
#include "engine/key.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "io/strings.h"

namespace logtally::engine {
namespace {

constexpr uint32_t kMaxPort = 65535;
// Category indexes are uint16_t, 0 meaning `other`.
constexpr size_t kMaxCategories = 65535;

// A decimal port: 1 to 5 digits, at most 65535; -1 otherwise.
int32_t ParsePort(std::string_view s) {
  if (s.empty() || s.size() > 5) return -1;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  return v <= kMaxPort ? static_cast<int32_t>(v) : -1;
}

// Protocol names a record without a port is shown by, lower case. Covers
// what the kernel's LOG target writes (TCP, UDP, UDPLITE, ICMP, ICMPv6, AH,
// ESP; a number for anything else) and names other loggers use.
constexpr std::string_view kProtoNames[] = {"tcp", "udp",  "udplite", "icmp", "icmpv6", "ah",
                                            "esp", "sctp", "dccp",    "igmp", "gre"};

// Printable form of a value inside an error message: the output escaping,
// at most kShown bytes.
std::string Shown(std::string_view v) {
  constexpr size_t kShown = 64;  // enough to recognise the token; bounds the message
  // The output escaping (D(v)), so a message shows bytes as the results would.
  std::string out;
  AppendDisplay(out, v.substr(0, std::min(v.size(), kShown)));
  if (v.size() > kShown) out += "...";
  return out;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

ServiceTable::ProtoClass ServiceTable::ClassOf(std::string_view proto) {
  switch (proto.size()) {
    case 3:
      if (EqualsIgnoreCase(proto, "tcp")) return kTcp;
      if (EqualsIgnoreCase(proto, "udp")) return kUdp;
      return kAnyProto;
    case 4:
      if (EqualsIgnoreCase(proto, "sctp")) return kSctp;
      if (EqualsIgnoreCase(proto, "dccp")) return kDccp;
      return kAnyProto;
    case 7:
      return EqualsIgnoreCase(proto, "udplite") ? kUdplite : kAnyProto;
    default:
      return kAnyProto;
  }
}

ServiceTable ServiceTable::FromRules(std::vector<std::string> names,
                                     const std::vector<Rule>& rules) {
  ServiceTable t;
  t.names_ = std::move(names);
  bool own_array[kNumProtoClasses] = {true};  // kAnyProto always has one
  for (const Rule& r : rules) own_array[r.proto] = true;

  // next[p]: the lowest unfilled port >= p (65536 when none), with path
  // halving, so that each port is written once however many lines overlap
  // and filling is linear in the file, not in lines x range widths.
  std::vector<uint32_t> next(kPorts + 1);
  auto find = [&](uint32_t p) {
    while (next[p] != p) {
      next[p] = next[next[p]];
      p = next[p];
    }
    return p;
  };
  for (int c = 0; c < kNumProtoClasses; ++c) {
    if (!own_array[c]) {
      t.array_of_class_[c] = t.array_of_class_[kAnyProto];
      continue;
    }
    t.array_of_class_[c] = static_cast<uint8_t>(t.arrays_.size());
    PortArray& a = t.arrays_.emplace_back();
    a.fill(0);
    for (uint32_t p = 0; p <= kPorts; ++p) next[p] = p;
    for (const Rule& r : rules) {
      if (r.proto != kAnyProto && r.proto != c) continue;
      for (auto [lo, hi] : r.ranges) {
        for (uint32_t p = find(lo); p <= hi; p = find(p)) {
          a[p] = r.category;  // first line wins: only unfilled ports are written
          next[p] = p + 1;
        }
      }
    }
  }
  return t;
}

const ServiceTable& ServiceTable::Builtin() {
  static const ServiceTable* const kTable = [] {
    std::vector<std::string> names = {"dns", "ntp", "http", "https", "ssh", "smtp", "imap"};
    auto rule = [](uint16_t cat, std::initializer_list<uint32_t> ports) {
      Rule r{cat, kAnyProto, {}};
      for (uint32_t p : ports) r.ranges.emplace_back(p, p);
      return r;
    };
    std::vector<Rule> rules = {rule(1, {53}),      rule(2, {123}), rule(3, {80}),
                               rule(4, {443}),     rule(5, {22}),  rule(6, {25, 465, 587}),
                               rule(7, {143, 993})};
    return new ServiceTable(FromRules(std::move(names), rules));
  }();
  return *kTable;
}

absl::StatusOr<ServiceTable> ServiceTable::Parse(std::string_view text, std::string_view filename) {
  std::vector<std::string> names;
  std::vector<Rule> rules;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    auto fail = [&](const std::string& what) {
      return absl::InvalidArgumentError(absl::StrCat(AV(filename), ":", line_no, ": ", what));
    };

    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '#' && (i == 0 || IsBlank(line[i - 1]))) {
        line = line.substr(0, i);
        break;
      }
    }
    std::string_view words[3];
    size_t nwords = 0;
    for (size_t i = 0; i < line.size();) {
      while (i < line.size() && IsBlank(line[i])) ++i;
      if (i == line.size()) break;
      size_t start = i;
      while (i < line.size() && !IsBlank(line[i])) ++i;
      if (nwords < 3) words[nwords] = line.substr(start, i - start);
      ++nwords;
    }
    if (nwords == 0) continue;
    if (nwords != 2) {
      return fail(absl::StrCat("expected 'name port[,port|lo-hi...][/proto]', got ", nwords,
                               nwords == 1 ? " word" : " words"));
    }

    std::string_view name = words[0];
    bool name_ok = name.size() <= kMaxNameLen;
    for (char c : name) {
      name_ok =
          name_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
    }
    if (!name_ok) {
      return fail(absl::StrCat("bad name '", Shown(name),
                               "': use lower-case letters, digits, '_' and '-', at most ",
                               kMaxNameLen));
    }

    Rule rule{0, kAnyProto, {}};
    std::string_view spec = words[1];
    if (size_t slash = spec.find('/'); slash != std::string_view::npos) {
      std::string_view proto = spec.substr(slash + 1);
      rule.proto = ClassOf(proto);
      if (rule.proto == kAnyProto) {
        return fail(absl::StrCat("unknown protocol '", Shown(proto),
                                 "': expected tcp, udp, sctp, udplite or dccp"));
      }
      spec = spec.substr(0, slash);
    }
    for (std::string_view item : SplitOn(spec, ',')) {
      if (item.empty()) {
        return fail(absl::StrCat("empty port in '", Shown(words[1]), "'"));
      }
      size_t dash = item.find('-');
      std::string_view lo_text = item.substr(0, dash);
      std::string_view hi_text = dash == std::string_view::npos ? item : item.substr(dash + 1);
      int32_t lo = ParsePort(lo_text);
      int32_t hi = ParsePort(hi_text);
      if (lo < 0 || hi < 0) {
        std::string_view bad = lo < 0 ? lo_text : hi_text;
        return fail(absl::StrCat("bad port '", Shown(bad), "': expected a number from 0 to 65535"));
      }
      if (lo > hi) {
        return fail(absl::StrCat("bad port range '", Shown(item), "': ", lo, " is above ", hi));
      }
      rule.ranges.emplace_back(static_cast<uint32_t>(lo), static_cast<uint32_t>(hi));
    }

    size_t index = 0;
    while (index < names.size() && names[index] != name) ++index;
    if (index == names.size()) {
      if (names.size() == kMaxCategories) return fail("too many categories");
      names.emplace_back(name);
    }
    rule.category = static_cast<uint16_t>(index + 1);
    rules.push_back(std::move(rule));
  }
  return FromRules(std::move(names), rules);
}

std::string_view ServiceTable::Classify(std::string_view proto, std::string_view dpt,
                                        std::string* scratch) const {
  if (!dpt.empty()) {
    int32_t port = ParsePort(dpt);
    if (port < 0) return kOther;
    uint16_t cat = arrays_[array_of_class_[ClassOf(proto)]][static_cast<uint32_t>(port)];
    return cat == 0 ? kOther : std::string_view(names_[cat - 1]);
  }
  bool has_upper = false;
  for (char c : proto) has_upper = has_upper || (c >= 'A' && c <= 'Z');
  if (!has_upper) return proto;  // numbers, empty, already lower case
  for (std::string_view known : kProtoNames) {
    if (EqualsIgnoreCase(proto, known)) return known;
  }
  scratch->assign(proto.data(), proto.size());
  for (char& c : *scratch) c = LowerAscii(c);
  return *scratch;
}

std::string_view ServiceTable::Classify(std::string_view proto, std::string_view dpt) const {
  thread_local std::string scratch;
  return Classify(proto, dpt, &scratch);
}

absl::Status ServiceBreakdown::Add(const Row& r) {
  rows_.push_back(Entry{r.count, std::string(r.display), std::string(r.key)});
  return absl::OkStatus();
}

std::vector<ServiceBreakdown::Entry> ServiceBreakdown::Finish() {
  std::vector<Entry> rows = std::move(rows_);
  auto has = [&](std::string_view name) {
    for (const Entry& r : rows) {
      if (r.display == name) return true;
    }
    return false;
  };
  std::vector<std::string> names = table_.categories();
  names.emplace_back(ServiceTable::kOther);
  for (const std::string& n : names) {
    if (has(n)) continue;
    std::string key;
    AppendKeyValue(key, n);
    rows.push_back({0, n, key});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Entry& x, const Entry& y) {
    if (x.count != y.count) return x.count > y.count;
    return x.display < y.display;
  });
  return rows;
}

}  // namespace logtally::engine
