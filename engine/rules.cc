#include "engine/rules.h"

#include <algorithm>
#include <ctime>
#include <optional>

#include "engine/display.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/ip.h"
#include "engine/key.h"
#include "engine/timestamp.h"
#include "io/strings.h"

namespace logtally::engine {
namespace {

// Longest chain name iptables takes: XT_EXTENSION_MAXNAMELEN (29) less the NUL.
constexpr size_t kMaxChainLen = 28;
// Longest address text worth parsing: a full IPv6 address with an embedded
// IPv4 part, `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`, is 45 bytes.
constexpr size_t kMaxAddrText = 45;
// How much of a refused value is shown.
constexpr size_t kShownBytes = 64;
// Heredoc delimiter of the iptables shell script. No line of a restore text
// can equal it: they all start with '*', '-', '#' or are COMMIT.
constexpr std::string_view kHeredoc = "LOGTALLY_RULES";
constexpr std::string_view kNftTable = "inet logtally";

enum class Family { kAny, kV4, kV6 };

struct Protocol {
  std::string_view name;  // as printed in comments and nft port keywords
  int number;
  bool ports;                 // has SPT/DPT
  Family family;              // kAny unless the protocol exists in one family only
  std::string_view ipt_name;  // -p argument; a number where iptables might not know the name
                              // (it would ask /etc/protocols, which may be absent)
};

// Protocols known by name (SPEC: tcp, udp, icmp, icmpv6, sctp, gre, esp, ah,
// udplite, dccp, igmp), with their IANA numbers.
// clang-format off
constexpr Protocol kProtocols[] = {
    {"tcp",     6,   true,  Family::kAny, "tcp"},
    {"udp",     17,  true,  Family::kAny, "udp"},
    {"udplite", 136, true,  Family::kAny, "udplite"},
    {"sctp",    132, true,  Family::kAny, "sctp"},
    {"dccp",    33,  true,  Family::kAny, "33"},
    {"icmp",    1,   false, Family::kV4,  "icmp"},
    {"icmpv6",  58,  false, Family::kV6,  "icmpv6"},
    {"igmp",    2,   false, Family::kV4,  "2"},
    {"gre",     47,  false, Family::kAny, "47"},
    {"esp",     50,  false, Family::kAny, "esp"},
    {"ah",      51,  false, Family::kAny, "ah"},
};
// clang-format on

enum Column { kSrc, kDst, kDpt, kSpt, kProto, kNumColumns };
constexpr std::string_view kColumnNames[kNumColumns] = {"SRC", "DST", "DPT", "SPT", "PROTO"};

// The column named `name` exactly, or kNumColumns.
int ColumnOf(std::string_view name) {
  int c = 0;
  while (c < kNumColumns && name != kColumnNames[c]) ++c;
  return c;
}

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

// 1 to `max_digits` decimal digits with a value at most `max`; -1 otherwise.
int ParseNumber(std::string_view s, size_t max_digits, int max) {
  if (s.size() > max_digits || !AllDigits(s)) return -1;
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v <= max ? v : -1;
}

// The escaped, bounded form of a value for the refused list.
std::string Shown(std::string_view v) {
  // The output escaping (D(v)), so a message shows bytes as the results would.
  std::string out;
  AppendDisplay(out, v.substr(0, std::min(v.size(), kShownBytes)));
  if (v.size() > kShownBytes) absl::StrAppend(&out, "... (", v.size(), " bytes)");
  return out;
}

// ---- addresses ----------------------------------------------------------------

// A logged SRC or DST is one address, and the rule blocks exactly that
// address. Anything else is refused: a network prefix (`SRC=0.0.0.0/1` in a
// line forged with `logger` would otherwise block half the Internet), a zone
// id (`fe80::1%eth0`), or leading zeros that some parsers read as octal.
std::optional<IpAddr> ParseLoggedAddress(std::string_view v, std::string* why) {
  if (v.size() > kMaxAddrText) {
    *why = "is not an IPv4 or IPv6 address (too long)";
    return std::nullopt;
  }
  IpAddr ip;
  if (ParseIp(v, &ip)) return ip;  // strict: no leading zeros, no zone id
  size_t slash = v.find('/');
  *why = slash != std::string_view::npos && ParseIp(v.substr(0, slash), &ip)
             ? "is a network, not one address (a logged address never has a prefix)"
             : "is not an IPv4 or IPv6 address";
  return std::nullopt;
}

// The address as the rule prints it. iptables gets an explicit /32 or /128
// for a single address, the form iptables-save prints.
std::string FormatAddress(const IpAddr& ip, bool explicit_host_len) {
  std::string out;
  AppendIp(out, ip);
  if (explicit_host_len) absl::StrAppend(&out, ip.v6 ? "/128" : "/32");
  return out;
}

// ---- rows -----------------------------------------------------------------------

struct Rule {
  std::optional<IpAddr> src, dst;
  const Protocol* proto = nullptr;  // a known protocol, or
  int proto_number = -1;            // a bare number (when proto is null)
  int sport = -1, dport = -1;
  Family family = Family::kAny;
  std::string comment;  // validated text, no quotes
};

// Merges `f` into the rule's family; false on a conflict.
bool Narrow(Family* family, Family f) {
  if (f == Family::kAny || *family == f) return true;
  if (*family != Family::kAny) return false;
  *family = f;
  return true;
}

std::string_view FamilyName(Family f) { return f == Family::kV6 ? "IPv6" : "IPv4"; }

// Validates one row into `rule`; returns the reason it is refused, or "".
std::string CheckRow(const int* col_of, const RuleRow& row, RuleTarget target, Rule* rule) {
  auto value = [&](Column c) { return col_of[c] < 0 ? std::string_view() : row.values[col_of[c]]; };
  auto selected = [&](Column c) { return col_of[c] >= 0; };
  auto name = [](Column c) { return kColumnNames[c]; };

  for (Column c : {kSrc, kDst}) {
    if (!selected(c)) continue;
    if (value(c).empty()) return absl::StrCat(AV(name(c)), " is missing");
    std::string why;
    std::optional<IpAddr> a = ParseLoggedAddress(value(c), &why);
    if (!a) return absl::StrCat(AV(name(c)), " ", why);
    (c == kSrc ? rule->src : rule->dst) = a;
    if (!Narrow(&rule->family, a->v6 ? Family::kV6 : Family::kV4)) {
      return "SRC and DST are of different address families";
    }
  }

  if (selected(kProto)) {
    std::string_view p = value(kProto);
    if (p.empty()) return "PROTO is missing";
    int number = -1;
    if (AllDigits(p)) {
      number = ParseNumber(p, 3, 255);
      if (number < 0) return "PROTO is not a protocol number (0 to 255)";
    }
    for (const Protocol& k : kProtocols) {
      if (number >= 0 ? k.number == number : EqualsIgnoreCase(p, k.name)) rule->proto = &k;
    }
    if (rule->proto == nullptr) {
      if (number < 0) {
        return "PROTO is not a known protocol (tcp, udp, icmp, icmpv6, sctp, gre, esp, ah, "
               "udplite, dccp, igmp) or a number";
      }
      if (number == 0 && target == RuleTarget::kIptables) {
        return "PROTO 0 means every protocol to iptables";
      }
      rule->proto_number = number;
    } else if (!Narrow(&rule->family, rule->proto->family)) {
      return absl::StrCat(AV(rule->proto->name), " is ", AV(FamilyName(rule->proto->family)),
                          " only, the address is not");
    }
  }

  const bool has_ports = rule->proto != nullptr && rule->proto->ports;
  for (Column c : {kDpt, kSpt}) {
    if (!selected(c)) continue;
    std::string_view v = value(c);
    if (v.empty()) {
      // Exact only when the group's protocol has no ports at all.
      if (selected(kProto) && !has_ports) continue;
      return absl::StrCat(AV(name(c)), " is missing (a rule without it would match every port)");
    }
    int port = ParseNumber(v, 5, 65535);
    if (port < 0) return absl::StrCat(AV(name(c)), " is not a port (0 to 65535)");
    if (!has_ports) {
      return absl::StrCat(AV(name(c)), " needs PROTO tcp, udp, sctp, udplite or dccp in the key");
    }
    (c == kDpt ? rule->dport : rule->sport) = port;
  }

  rule->comment = absl::StrCat("logtally: ", row.count, row.count == 1 ? " hit" : " hits");
  // Timestamps are shown only when they are what TIME can be, so only
  // letters, digits, spaces, ':', '-', '+', '.' reach the comment.
  auto is_time = [](std::string_view t) {
    BsdTime b;
    Timestamp ts;
    return ParseBsdTime(t, &b) || ParseRfc3339(t, &ts);
  };
  if (is_time(row.first_time) && is_time(row.last_time)) {
    absl::StrAppend(&rule->comment, ", ", AV(row.first_time), "..", AV(row.last_time));
  }
  return "";
}

// ---- iptables ---------------------------------------------------------------------

std::string IptablesLine(char op, std::string_view chain, const Rule& r, RuleAction action) {
  std::string line = absl::StrCat("-", absl::string_view(&op, 1), " ", AV(chain));
  if (r.src) absl::StrAppend(&line, " -s ", FormatAddress(*r.src, true));
  if (r.dst) absl::StrAppend(&line, " -d ", FormatAddress(*r.dst, true));
  if (r.proto != nullptr) {
    absl::StrAppend(&line, " -p ", AV(r.proto->ipt_name));
  } else if (r.proto_number >= 0) {
    absl::StrAppend(&line, " -p ", r.proto_number);
  }
  if (r.sport >= 0 || r.dport >= 0) {
    if (r.proto->name == "udplite") {
      // No udplite match exists; multiport handles udplite, one option each.
      if (r.sport >= 0) absl::StrAppend(&line, " -m multiport --sports ", r.sport);
      if (r.dport >= 0) absl::StrAppend(&line, " -m multiport --dports ", r.dport);
    } else {
      absl::StrAppend(&line, " -m ", AV(r.proto->name));
      if (r.sport >= 0) absl::StrAppend(&line, " --sport ", r.sport);
      if (r.dport >= 0) absl::StrAppend(&line, " --dport ", r.dport);
    }
  }
  absl::StrAppend(&line, " -m comment --comment \"", r.comment, "\" -j ",
                  action == RuleAction::kDrop ? "DROP" : "REJECT", "\n");
  return line;
}

std::string RestoreText(const std::string& lines) {
  return lines.empty() ? std::string() : absl::StrCat("*filter\n", lines, "COMMIT\n");
}

std::string ShellScript(std::string_view what, const RuleScripts& s, bool revert) {
  const std::string& v4 = revert ? s.revert_v4 : s.restore_v4;
  const std::string& v6 = revert ? s.revert_v6 : s.restore_v6;
  std::string out = absl::StrCat("#!/bin/sh\n# ", AV(what), "\n", "set -e\n");
  for (auto [tool, text] : {std::pair{"iptables-restore", &v4}, {"ip6tables-restore", &v6}}) {
    if (text->empty()) continue;
    absl::StrAppend(&out, tool, " --noflush <<'", AV(kHeredoc), "'\n", *text, AV(kHeredoc), "\n");
  }
  return out;
}

// ---- nftables ---------------------------------------------------------------------

std::string NftRule(std::string_view chain, const Rule& r, RuleAction action) {
  std::string line = absl::StrCat("add rule ", AV(kNftTable), " ", AV(chain));
  if (r.src)
    absl::StrAppend(&line, r.src->v6 ? " ip6" : " ip", " saddr ", FormatAddress(*r.src, false));
  if (r.dst)
    absl::StrAppend(&line, r.dst->v6 ? " ip6" : " ip", " daddr ", FormatAddress(*r.dst, false));
  if (r.sport >= 0 || r.dport >= 0) {
    // `tcp dport 22` also matches the protocol.
    if (r.sport >= 0) absl::StrAppend(&line, " ", AV(r.proto->name), " sport ", r.sport);
    if (r.dport >= 0) absl::StrAppend(&line, " ", AV(r.proto->name), " dport ", r.dport);
  } else if (r.proto != nullptr || r.proto_number >= 0) {
    // By number: nft resolves other names through /etc/protocols.
    absl::StrAppend(&line, " meta l4proto ", r.proto != nullptr ? r.proto->number : r.proto_number);
  }
  absl::StrAppend(&line, " counter ", action == RuleAction::kDrop ? "drop" : "reject",
                  " comment \"", r.comment, "\"\n");
  return line;
}

}  // namespace

absl::StatusOr<RuleScripts> BuildRules(const std::vector<std::string>& columns,
                                       const std::vector<RuleRow>& rows, const RuleOptions& opt) {
  int col_of[kNumColumns] = {-1, -1, -1, -1, -1};
  if (columns.empty()) {
    return absl::InvalidArgumentError("rules need a key of SRC, DST, DPT, SPT and/or PROTO");
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    const int c = ColumnOf(columns[i]);
    if (c == kNumColumns) {
      return absl::InvalidArgumentError(absl::StrCat("rules cannot use the key field '",
                                                     Shown(columns[i]),
                                                     "': only SRC, DST, DPT, SPT and PROTO"));
    }
    if (col_of[c] >= 0) {
      return absl::InvalidArgumentError(absl::StrCat("key field ", columns[i], " given twice"));
    }
    col_of[c] = static_cast<int>(i);
  }

  std::string chain;
  if (opt.target == RuleTarget::kIptables) {
    chain = opt.chain.empty() ? "INPUT" : opt.chain;
    bool ok = chain.size() <= kMaxChainLen && chain[0] != '-';
    for (char c : chain) {
      ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-');
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad chain name '", Shown(opt.chain),
                       "': use 1 to 28 letters, digits, '_' or '-', not starting with '-'"));
    }
  } else {
    for (std::string_view hook : {"input", "forward", "output"}) {
      if (opt.chain.empty() ? hook == "input" : EqualsIgnoreCase(opt.chain, hook)) chain = hook;
    }
    if (chain.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad chain '", Shown(opt.chain),
          "' for nftables: rules go into table inet logtally, chain input, forward or output"));
    }
  }

  RuleScripts out;
  std::string v4, v6, v4_del, v6_del, nft;
  size_t n4 = 0, n6 = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const RuleRow& row = rows[i];
    if (row.values.size() != columns.size()) {
      return absl::InvalidArgumentError(absl::StrCat("row ", i + 1, " has ", row.values.size(),
                                                     " values for ", columns.size(), " columns"));
    }
    Rule rule;
    std::string why = CheckRow(col_of, row, opt.target, &rule);
    if (!why.empty()) {
      std::string shown;
      for (size_t c = 0; c < columns.size(); ++c) {
        absl::StrAppend(&shown, c == 0 ? "" : ", ", columns[c], "=",
                        row.values[c].empty() ? "-" : Shown(row.values[c]));
      }
      out.refused.push_back(absl::StrCat("row ", i + 1, " (", shown, "): ", why));
      continue;
    }
    ++out.rules;
    if (opt.target == RuleTarget::kNftables) {
      nft += NftRule(chain, rule, opt.action);
      continue;
    }
    if (rule.family != Family::kV6) {
      v4 += IptablesLine('A', chain, rule, opt.action);
      v4_del += IptablesLine('D', chain, rule, opt.action);
      ++n4;
    }
    if (rule.family != Family::kV4) {
      v6 += IptablesLine('A', chain, rule, opt.action);
      v6_del += IptablesLine('D', chain, rule, opt.action);
      ++n6;
    }
  }

  const std::string_view action = opt.action == RuleAction::kDrop ? "DROP" : "REJECT";
  if (opt.target == RuleTarget::kIptables) {
    out.restore_v4 = RestoreText(v4);
    out.restore_v6 = RestoreText(v6);
    out.revert_v4 = RestoreText(v4_del);
    out.revert_v6 = RestoreText(v6_del);
    out.apply = ShellScript(absl::StrCat("logtally rules: ", out.rules, " rules (", n4, " IPv4, ",
                                         n6, " IPv6), ", AV(action), ", appended to chain ", chain,
                                         " of table filter.\n# Undo with the revert script."),
                            out, false);
    out.revert = ShellScript(
        absl::StrCat("logtally rules, revert: deletes the ", out.rules, " rules (", n4, " IPv4, ",
                     n6, " IPv6) that the apply script appended to chain ", chain, "."),
        out, true);
    return out;
  }

  // Declaring the table, then deleting it, then building it again is the nft
  // idiom for "replace": the delete cannot fail, and all of it is one
  // transaction. Priority 0 is the usual filter priority.
  out.apply = absl::StrCat("#!/usr/sbin/nft -f\n# logtally rules: ", out.rules, " rules, ",
                           AV(action), ", in table ", AV(kNftTable),
                           " (replaced as a whole).\n# Undo with the revert script.\n",
                           "add table ", AV(kNftTable), "\ndelete table ", AV(kNftTable),
                           "\nadd table ", AV(kNftTable), "\nadd chain ", AV(kNftTable), " ", chain,
                           " { type filter hook ", chain, " priority 0; policy accept; }\n", nft);
  out.revert = absl::StrCat("#!/usr/sbin/nft -f\n# logtally rules, revert: deletes table ",
                            AV(kNftTable), " and every rule in it.\nadd table ", AV(kNftTable),
                            "\ndelete table ", AV(kNftTable), "\n");
  return out;
}

absl::StatusOr<std::vector<std::string>> ParseRuleKey(std::string_view key_spec) {
  std::vector<std::string> columns;
  for (std::string_view c : SplitOn(key_spec, ',')) {
    if (ColumnOf(c) == kNumColumns) {
      return absl::InvalidArgumentError(
          absl::StrCat("rules keys are drawn from SRC, DST, DPT, SPT, PROTO (not '", AV(c), "')"));
    }
    columns.emplace_back(c);
  }
  return columns;
}

RuleGroupSink::RuleGroupSink(size_t columns, int year)
    : ncol_(columns), year_(year), vals_(columns + 1) {}

absl::Status RuleGroupSink::Add(const Row& r) {
  if (!years_) {
    years_ = year_ > 0 ? YearResolver::ForYear(year_)
                       : YearResolver::ForMtime(static_cast<int64_t>(::time(nullptr)));
  }
  DecodeKey(r.key, ncol_ + 1, vals_.data());
  std::string gkey;
  for (size_t c = 0; c < ncol_; ++c) AppendKeyValue(gkey, vals_[c]);
  Group& g = groups_[gkey];
  if (g.values.empty()) {
    for (size_t c = 0; c < ncol_; ++c) g.values.emplace_back(vals_[c]);
  }
  g.count += r.count;
  const std::string_view time = vals_[ncol_];
  Timestamp ts;
  if (!time.empty() && ParseTimestamp(time, *years_, &ts)) {
    if (!g.have_time || ts.epoch < g.first_t) {
      g.first_t = ts.epoch;
      g.first = std::string(time);
    }
    if (!g.have_time || ts.epoch > g.last_t) {
      g.last_t = ts.epoch;
      g.last = std::string(time);
    }
    g.have_time = true;
  }
  return absl::OkStatus();
}

std::vector<RuleRow> RuleGroupSink::Rows(size_t top) const {
  std::vector<const Group*> order;
  for (const auto& [k, g] : groups_) order.push_back(&g);
  std::stable_sort(order.begin(), order.end(),
                   [](const Group* x, const Group* y) { return x->count > y->count; });
  if (top > 0 && order.size() > top) order.resize(top);
  std::vector<RuleRow> rows;
  for (const Group* g : order) {
    RuleRow row;
    for (const std::string& v : g->values) row.values.emplace_back(v);
    row.count = g->count;
    row.first_time = g->first;
    row.last_time = g->last;
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace logtally::engine
