// JSON log lines: one JSON object per line, as `journalctl -o json` and
// ulogd2's JSON output plugin write them, or any other NDJSON log. This unit
// owns, for one line at a time: telling the three shapes apart (or rejecting
// the line as malformed), the journald fields the netfilter parser needs
// (MESSAGE, __REALTIME_TIMESTAMP, _HOSTNAME), ulogd keys shown the way the
// kernel's text LOG target prints the same field (so `-k DST,DPT` groups
// alike over text, journald and ulogd input), and the value at any generic
// path a query names (`.status`, `.http.hostname`).
//
// Cost model. Each line is copied once into a reusable padded buffer
// (simdjson reads up to SIMDJSON_PADDING bytes past the end) and indexed by
// simdjson's stage 1 (SIMD, picked at run time). Then one walk over the
// top-level fields compares each key, by hash, with the keys that someone
// asked for; only those values are looked at, and only the nested objects a
// path goes through are entered. Everything else is skipped without being
// decoded. Values are views into the line's copy (numbers, unescaped
// strings) or into a block arena reused from line to line (strings with
// escapes, journald byte arrays, converted ulogd fields). The buffers are
// sized for 64 KiB lines at construction, so no such line allocates; a
// longer one grows them (given back afterwards, see kDefaultMaxLineBytes).
// One instance per thread; nothing is shared.
//
// Validation. simdjson's stage 1 checks the whole line: UTF-8, closed
// strings, no raw control characters in strings. The walk checks the
// structure of the root object (commas, colons, the closing brace, nothing
// after it), so every truncation of a valid line is malformed. Inside
// values, only brackets are counted and scalars are not re-parsed
// (`{"a": tru}` is accepted, and `.a` reads `tru`): full validation would
// cost a second pass and buy nothing for counting. Skipping counts brackets
// without recursion, and the walk only recurses along the query's paths, so
// nesting depth needs no limit (a balanced 100000-deep value is skipped).
// String escapes are decoded leniently: an unknown escape stays as written,
// and a lone UTF-16 surrogate is kept as its 3-byte WTF-8 form (which
// output escaping then shows as \xNN bytes). A key that appears twice
// counts once, the first time (what simdjson's own lookups find too).
#ifndef LOGTALLY_ENGINE_JSON_LINE_H_
#define LOGTALLY_ENGINE_JSON_LINE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace logtally::engine {

class JsonLine {
 public:
  // What a line is:
  // - kJournald: an object with "MESSAGE" and ("__REALTIME_TIMESTAMP" or "_TRANSPORT");
  // - kUlogd: otherwise, an object with "src_ip", "oob.prefix" or "dvc";
  // - kOther: any other JSON object;
  // - kMalformed: everything else: invalid or truncated JSON, a root that is not
  //   an object (an array, a string, a number: not a log record), an empty or
  //   blank line, content after the object, a line longer than max_line_bytes.
  enum class Kind { kJournald, kUlogd, kOther, kMalformed };

  // The longest line parsed. A firewall record is under 2 KiB (a kernel log
  // line is at most 1 KiB of text, a ulogd2 JSON packet about 1 KiB), so this
  // is only about never failing on legitimately big JSON logs (a journald
  // entry exported with `--all`). It bounds memory: while a line of n bytes
  // is parsed, simdjson holds ~4n bytes of structural index and ~5n/3 of
  // string buffer beside our n-byte copy, about 430 MiB per thread at 64 MiB.
  // That memory is released at the next ordinary line (see kRetainBytes in
  // the .cc), so one huge line does not pin it for the rest of the run.
  static constexpr size_t kDefaultMaxLineBytes = size_t{64} << 20;

  // `paths`: the generic JSON paths the query uses (".status",
  // ".http.hostname", ".dest_port"), each addressed later by its index.
  //
  // Path rule. A path is split on '.' (a leading '.' is optional; "." alone
  // is the whole object). At each level the whole remaining path is first
  // tried as one literal key, then its first segment is taken as the key and
  // the rest is looked up in that value the same way. So ".oob.prefix" finds
  // the ulogd key "oob.prefix" when it is there, and {"oob": {"prefix": ..}}
  // otherwise; ".a.b.c" tries "a.b.c", then "a" -> "b.c", then a -> b -> c.
  // The first of those that exists wins, even when its value is null.
  // A segment of decimal digits also indexes an array (".events.0.message").
  // Keys are compared after unescaping, byte for byte.
  explicit JsonLine(std::vector<std::string> paths, size_t max_line_bytes = kDefaultMaxLineBytes);
  ~JsonLine();
  JsonLine(const JsonLine&) = delete;
  JsonLine& operator=(const JsonLine&) = delete;

  // Parses one line (without its '\n'). The bytes are copied, so `line` need
  // not outlive the call; every view returned below stays valid until the
  // next Parse.
  Kind Parse(std::string_view line);
  Kind kind() const { return kind_; }

  // journald (empty / false on other kinds). MESSAGE is a JSON string, or an
  // array of byte values 0-255 when journald found it not to be UTF-8: both
  // are decoded to bytes. Any other MESSAGE value reads as its JSON text
  // (null: empty).
  std::string_view message() const { return message_; }
  // __REALTIME_TIMESTAMP: microseconds since the epoch, a decimal string in
  // journald's exports (a JSON number is accepted too).
  bool has_time() const { return has_time_; }
  int64_t realtime_us() const { return realtime_us_; }
  std::string_view hostname() const { return hostname_; }

  // ulogd: the value of netfilter field `name` (SRC, DST, SPT, DPT, PROTO,
  // PREFIX, IN, OUT, LEN, TTL, ID, TOS, PREC, TC, HOPLIMIT, FLOWLBL, TYPE,
  // CODE, SEQ, MTU, WINDOW, URGP, MARK, UID, GID, MAC, TIME; HOST and any
  // other name are always empty) as the text LOG target prints it. See
  // ulogd.cc for the keys behind each. Empty for a missing or
  // null value and on lines that are not kUlogd. Numbers read exactly as
  // written, except where the kernel prints a different form: PROTO by name
  // (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 136 UDPLITE, 50 ESP, 51 AH, else the
  // number), TOS and PREC as 0x%02X of the tos byte's two parts, MARK as
  // 0x%x and empty when 0, PREFIX trimmed of surrounding spaces.
  // The first call with a new name registers its keys; on that one line the
  // object is walked a second time.
  std::string_view UlogdField(std::string_view name);
  // The same by number, for the per-line path: UlogdFieldId registers `name`
  // (any time, also before the first Parse) and returns its id; UlogdFieldAt
  // then skips the name comparisons. Ids are small and stable.
  size_t UlogdFieldId(std::string_view name);
  std::string_view UlogdFieldAt(size_t id);

  // `timestamp` of a ulogd line ("2024-03-08T17:00:00.577348+0100") as
  // microseconds since the epoch; false when missing or not such a time.
  bool UlogdTime(int64_t* epoch_us);

  // The value at path i on any valid line: strings decoded, numbers and
  // true/false as written, null or missing empty, an object or array as its
  // JSON text (as written, without surrounding spaces).
  std::string_view PathValue(size_t i);
  size_t path_count() const;

  // Lines that were kMalformed so far.
  size_t malformed_count() const { return malformed_count_; }

 private:
  struct Impl;
  Kind Classify();
  void SetJournald();

  std::unique_ptr<Impl> impl_;
  Kind kind_ = Kind::kMalformed;
  std::string_view message_;
  std::string_view hostname_;
  bool has_time_ = false;
  int64_t realtime_us_ = 0;
  size_t malformed_count_ = 0;
};

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_JSON_LINE_H_
