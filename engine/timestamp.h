// Timestamps: the TIME field turned into an instant, the year of BSD syslog
// times (which have none), the user's --since/--until bounds, and the derived
// `day` / `hour` keys.
//
// This file owns the calendar. It does its own civil-date arithmetic
// (DaysFromCivil / CivilFromDays, proleptic Gregorian, any year) instead of
// timegm/localtime: those consult the process time zone, take locks or
// return shared static buffers, and are slow; here everything is a few
// integer operations, thread-safe, and nothing on the per-line path
// (ParseTimestamp, FormatDay, FormatHour) allocates.
//
// Time zones. An RFC 3339 time with `Z` or `±HH:MM` names an instant; its
// offset is kept so that `day`/`hour` can be shown as the log wrote them. A
// BSD time (`Mar  5 14:59:59`) or an RFC 3339 time without an offset is a
// wall-clock reading in an unknown zone: it is treated as if it were UTC
// (epoch = that wall clock read as UTC, has_offset = false). User bounds
// without an offset are read the same way, so `--since '2024-03-05 14:00'`
// compares with a BSD log's wall clock exactly as written, whatever zone the
// logging host was in. A bound with an explicit offset is an instant; against
// a BSD log it is off by that host's own UTC offset (nothing in the log says
// what that is).
#ifndef LOGTALLY_ENGINE_TIMESTAMP_H_
#define LOGTALLY_ENGINE_TIMESTAMP_H_

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string_view>

#include "absl/status/statusor.h"

namespace logtally::engine {

// One parsed TIME value.
struct Timestamp {
  int64_t epoch = 0;           // seconds since 1970-01-01T00:00:00Z (floating times: as if UTC)
  int32_t nanos = 0;           // fraction of the second, 0..999999999
  int32_t offset_seconds = 0;  // the log's own UTC offset; 0 for BSD, Z and offset-less times
  bool has_offset = false;     // true when the text had `Z` or `±HH:MM`
};

// ---- Civil calendar (proleptic Gregorian) ---------------------------------

bool IsLeapYear(int64_t year);
// 1..31; 0 for a month outside 1..12.
int DaysInMonth(int64_t year, int month);
// Days since 1970-01-01 of year-month-day (month 1..12, day 1..31; not checked).
int64_t DaysFromCivil(int64_t year, int month, int day);

struct CivilTime {
  int64_t year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  int hour = 0;
  int minute = 0;
  int second = 0;
};
CivilTime CivilFromEpoch(int64_t epoch);

// ---- TIME text --------------------------------------------------------------

// A BSD syslog time without its year: `Mmm D HH:MM:SS` with 1 or 2 spaces
// after the month and a 1-2 digit day (the grammar of docs/choices.md).
struct BsdTime {
  int month = 0;  // 1..12
  int day = 0;    // 1..31 (checked against the month, Feb allowing 29)
  int hour = 0;
  int minute = 0;
  int second = 0;
};

// The whole of `text` must be one BSD time; false otherwise (including
// impossible dates such as `Apr 31` and clock readings past 23:59:60).
bool ParseBsdTime(std::string_view text, BsdTime* out);

// The whole of `text` must be `YYYY-MM-DDTHH:MM:SS[.frac][Z|±HH:MM]` with a
// real date. The fraction may have any number of digits; the first 9 are
// kept (truncated, never rounded, so a time never moves into the next
// second). A leap second `:60` counts as `:59` (same nanos), so the instant
// stays inside the minute, day and hour it was written in.
bool ParseRfc3339(std::string_view text, Timestamp* out);

// ---- BSD years --------------------------------------------------------------

// The UTC calendar year of a file modification time.
int YearFromMtime(time_t mtime);

// `--year YYYY`: four digits, 0001..9999.
absl::StatusOr<int> ParseYearOption(std::string_view text);

// Which year a BSD time belongs to. Pure and immutable, so the chunks of a
// file can be resolved in parallel, in any order, with one shared resolver.
//
// From a modification time: the file's last line was written at or before
// mtime, so a BSD time belongs to the latest year in which it is not after
// mtime + 1 day. The day of slack covers the logging host's UTC offset
// (at most 14 h; BSD times are wall clock, mtime is UTC) and a little clock
// skew. So in a file modified 2025-01-02, `Dec 31` is 2024 and `Jan  1` is
// 2025; `Feb 29` goes back to the latest leap year that fits.
// With `--year`: always that year (so `Feb 29` in a non-leap year is not a
// valid time).
class YearResolver {
 public:
  static YearResolver ForYear(int year);
  static YearResolver ForMtime(int64_t mtime);

  // The year of `t` (a BsdTime from ParseBsdTime).
  int YearOf(const BsdTime& t) const;
  // --year, or the year of mtime + 1 day.
  int default_year() const { return year_; }
  bool fixed() const { return fixed_; }

 private:
  YearResolver(bool fixed, int year, int64_t limit) : fixed_(fixed), year_(year), limit_(limit) {}
  bool fixed_;
  int year_;       // the explicit year, or the year of limit_
  int64_t limit_;  // mtime + 1 day, as a wall clock read as UTC
};

// TIME text of either style into `out`: BSD via `years`, RFC 3339 as
// written. False when the text is not a valid time (the caller treats the
// line as having no usable TIME).
bool ParseTimestamp(std::string_view text, const YearResolver& years, Timestamp* out);

// ---- --since / --until --------------------------------------------------------

// The instants a user's bound names: [start, end). `2024-03-05` is the whole
// day, `2024-03-05 14:00` the whole minute, `...14:00:07` one second. Accepted:
// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DDTHH:MM[:SS]` (`T` or `t`),
// with an optional `Z`/`z` or `±HH:MM` after a time of day. Without an offset
// the time is read as UTC (see the top of this file).
// Suggested use: keep a line when since.start <= epoch and epoch < until.end,
// so `--since D --until D` is the whole of day D.
struct TimeSpan {
  int64_t start = 0;
  int64_t end = 0;
};
absl::StatusOr<TimeSpan> ParseTimeSpan(std::string_view text);
// ParseTimeSpan(text)->start.
absl::StatusOr<int64_t> ParseTimeBound(std::string_view text);

// ---- day / hour keys ----------------------------------------------------------

inline constexpr size_t kDayKeyLen = 10;   // YYYY-MM-DD
inline constexpr size_t kHourKeyLen = 13;  // YYYY-MM-DDTHH

// Writes the key into `out` (room for kDayKeyLen / kHourKeyLen bytes, no
// NUL) and returns its length, or 0 when the year is outside 0000..9999.
// Without `utc`, the date and hour are the log's own, as written (epoch +
// offset_seconds); with `utc`, of the UTC instant. Floating times (BSD, no
// offset) are the same either way.
size_t FormatDay(const Timestamp& t, bool utc, char* out);
size_t FormatHour(const Timestamp& t, bool utc, char* out);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_TIMESTAMP_H_
