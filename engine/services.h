// Service categories: the `service` key and `logtally services` (SPEC section
// 3). A record with a destination port falls in the category of its port
// (`dns`, `https`, ...) or `other`; a record without one is named by its
// protocol in lower case (`icmp`, `icmpv6`, `igmp`, or the number as the
// kernel wrote it, `2`, `47`).
//
// This file owns the category table: the built-in one, the `--services FILE`
// parser with its error messages, the per-record lookup, and the rows of the
// breakdown (ServiceBreakdown). Lookup is on the
// per-line path, so it is one 65536-entry array index per record (an array per
// protocol class, each already resolved for "first matching line wins"), no
// map, no allocation.
//
// The built-in table matches its ports for every protocol: SPEC lists them
// without one, and the job is to split traffic the way `grep DPT=53` would
// (without its bugs), so DNS over TCP and UDP are both `dns`. A table read from
// a file can restrict a line to one protocol with `/tcp`, `/udp`, `/sctp`,
// `/udplite` or `/dccp`, matched case-insensitively with the record's PROTO.
#ifndef LOGTALLY_ENGINE_SERVICES_H_
#define LOGTALLY_ENGINE_SERVICES_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/rows.h"

namespace logtally::engine {

class ServiceTable {
 public:
  // The category of a destination port that no line names.
  static constexpr std::string_view kOther = "other";
  // Longest category name a --services file may use; names are short words.
  static constexpr size_t kMaxNameLen = 64;

  // SPEC's table: dns 53, ntp 123, http 80, https 443, ssh 22,
  // smtp 25/465/587, imap 143/993, all of them for any protocol.
  static const ServiceTable& Builtin();

  // A `--services FILE` table. `text` is the file's content, `filename` is
  // used in messages only. Format, one rule a line:
  //   name port[,port|lo-hi...][/proto]     e.g.  `mail 25,465,587/tcp`
  // - `#` starts a comment (whole line, or after the rule and a space or tab);
  //   blank lines are ignored; a trailing `\r` is ignored.
  // - name: 1..kMaxNameLen bytes of [a-z0-9_-]: lower case so that output is
  //   predictable and never collides by case with another line's name. A name
  //   may repeat on several lines (`dns 53` and `dns 853/tcp`). Using `other`
  //   or a protocol name (`icmp`) is allowed and merges with that category.
  // - ports: decimal 0..65535, a list joined by commas without spaces;
  //   `lo-hi` with lo <= hi is inclusive.
  // - proto: tcp, udp, sctp, udplite or dccp, any case; without it the line
  //   matches every protocol.
  // - The first line that matches a record wins.
  // A bad line is an InvalidArgumentError "FILE:LINE: what is wrong".
  static absl::StatusOr<ServiceTable> Parse(std::string_view text, std::string_view filename);

  // The category of a record, from its PROTO and DPT values (empty = missing):
  // - DPT present: the first matching line's name, else kOther (a DPT that is
  //   not a port, such as `0x50` or `99999`, matches no line: kOther);
  // - DPT missing: PROTO in lower case; empty when PROTO is missing too (the
  //   caller prints `-`).
  // The view points into the table, into static storage, or (for a PROTO that
  // is already lower case, such as a number) into `proto` itself. A PROTO with
  // upper-case letters that is not a name the kernel writes is lower-cased
  // into `*scratch` (reused, so it allocates only to grow).
  std::string_view Classify(std::string_view proto, std::string_view dpt,
                            std::string* scratch) const;
  // Same, with a thread-local scratch: a view into it lasts until this
  // thread's next call.
  std::string_view Classify(std::string_view proto, std::string_view dpt) const;

  // Category names in the order of their first line (the built-in table:
  // dns, ntp, http, https, ssh, smtp, imap), without kOther.
  const std::vector<std::string>& categories() const { return names_; }

 private:
  // Tables come only from Builtin() and Parse(), never empty.
  ServiceTable() = default;

  // Protocol classes a line can be restricted to; kAnyProto is every record
  // whose PROTO is none of the others (and the lines without /proto).
  enum ProtoClass : uint8_t { kAnyProto, kTcp, kUdp, kSctp, kUdplite, kDccp, kNumProtoClasses };
  static constexpr size_t kPorts = 65536;
  // Category index per port: 0 is kOther, i > 0 is names_[i - 1].
  using PortArray = std::array<uint16_t, kPorts>;

  struct Rule {
    uint16_t category;                                  // index as in PortArray
    ProtoClass proto;                                   // kAnyProto: every protocol
    std::vector<std::pair<uint32_t, uint32_t>> ranges;  // inclusive
  };

  static ProtoClass ClassOf(std::string_view proto);
  static ServiceTable FromRules(std::vector<std::string> names, const std::vector<Rule>& rules);

  std::vector<std::string> names_;
  // One array per distinct resolution; classes that no `/proto` line names
  // share the kAnyProto array, so the built-in table holds one.
  std::vector<PortArray> arrays_;
  std::array<uint8_t, kNumProtoClasses> array_of_class_{};
};

// The rows of `logtally services`: collects the rows of a run keyed by
// `service`, and on Finish adds every category of the table that no record
// fell in (count 0, `other` included), ordered as count orders them (count
// descending, then display text).
class ServiceBreakdown : public RowSink {
 public:
  struct Entry {
    uint64_t count;
    std::string display, key;
    Row row() const { return Row{count, display, key}; }
  };
  explicit ServiceBreakdown(const ServiceTable& table) : table_(table) {}
  absl::Status Begin(const RunStats&) override { return absl::OkStatus(); }
  absl::Status Add(const Row& r) override;
  std::vector<Entry> Finish();

 private:
  const ServiceTable& table_;
  std::vector<Entry> rows_;
};

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_SERVICES_H_
