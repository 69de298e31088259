#include "engine/timestamp.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "io/strings.h"

namespace logtally::engine {
namespace {

constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kSecondsPerHour = 3600;
// Widest UTC offset in use is +14:00 (Line Islands) and the narrowest
// -12:00; RFC 3339 allows any HH:MM, so accept the syntactic range 00..23.
constexpr int kMaxOffsetHours = 23;
// Digits of a nanosecond fraction.
constexpr int kNanoDigits = 9;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Value of the `n` ASCII digits at s[i..], or -1 when any is not a digit.
// The caller has checked that s has at least i + n bytes.
int Digits(std::string_view s, size_t i, size_t n) {
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    char c = s[i + k];
    if (!IsDigit(c)) return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

// "HH:MM:SS" at s[i..] (size checked by the caller); seconds may be 60.
bool ParseClock(std::string_view s, size_t i, int* h, int* m, int* sec) {
  if (s[i + 2] != ':' || s[i + 5] != ':') return false;
  *h = Digits(s, i, 2);
  *m = Digits(s, i + 3, 2);
  *sec = Digits(s, i + 6, 2);
  return *h >= 0 && *h <= 23 && *m >= 0 && *m <= 59 && *sec >= 0 && *sec <= 60;
}

// Month number from its English abbreviation, as syslog writes it
// (capitalised, nothing else); 0 when it is not one.
int MonthFromName(const char* p) {
  switch (p[0]) {
    case 'J':
      if (p[1] == 'a' && p[2] == 'n') return 1;
      if (p[1] == 'u' && p[2] == 'n') return 6;
      if (p[1] == 'u' && p[2] == 'l') return 7;
      return 0;
    case 'F':
      return p[1] == 'e' && p[2] == 'b' ? 2 : 0;
    case 'M':
      if (p[1] == 'a' && p[2] == 'r') return 3;
      if (p[1] == 'a' && p[2] == 'y') return 5;
      return 0;
    case 'A':
      if (p[1] == 'p' && p[2] == 'r') return 4;
      if (p[1] == 'u' && p[2] == 'g') return 8;
      return 0;
    case 'S':
      return p[1] == 'e' && p[2] == 'p' ? 9 : 0;
    case 'O':
      return p[1] == 'c' && p[2] == 't' ? 10 : 0;
    case 'N':
      return p[1] == 'o' && p[2] == 'v' ? 11 : 0;
    case 'D':
      return p[1] == 'e' && p[2] == 'c' ? 12 : 0;
    default:
      return 0;
  }
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void Put2(char* out, int v) {
  out[0] = static_cast<char>('0' + v / 10);
  out[1] = static_cast<char>('0' + v % 10);
}

// "YYYY-MM-DD" of the civil time; false when the year has not 4 digits.
bool PutDate(const CivilTime& c, char* out) {
  if (c.year < 0 || c.year > 9999) return false;
  int y = static_cast<int>(c.year);
  Put2(out, y / 100);
  Put2(out + 2, y % 100);
  out[4] = '-';
  Put2(out + 5, c.month);
  out[7] = '-';
  Put2(out + 8, c.day);
  return true;
}

CivilTime KeyTime(const Timestamp& t, bool utc) {
  return CivilFromEpoch(utc ? t.epoch : t.epoch + t.offset_seconds);
}

// Printable form of user input for an error message: printable ASCII as is,
// every other byte \xNN, at most kShown bytes of it.
std::string Shown(std::string_view v) {
  constexpr size_t kShown = 64;  // enough to recognise a time; bounds the message
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < v.size() && i < kShown; ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (v.size() > kShown) out += "...";
  return out;
}

absl::Status BadBound(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad time '", Shown(text), "': ", AV(why),
                   " (expected YYYY-MM-DD, 'YYYY-MM-DD HH:MM[:SS]' or YYYY-MM-DDTHH:MM[:SS], "
                   "optionally followed by Z or +HH:MM/-HH:MM)"));
}

}  // namespace

bool IsLeapYear(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return 0;
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Howard Hinnant's days_from_civil: the year is shifted to start in March so
// that the leap day is the last day of the "year"; 146097 days per 400-year
// era, 719468 = days from 0000-03-01 to 1970-01-01.
int64_t DaysFromCivil(int64_t year, int month, int day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t yoe = year - era * 400;                       // [0, 399]
  const int64_t mp = month > 2 ? month - 3 : month + 9;       // [0, 11]
  const int64_t doy = (153 * mp + 2) / 5 + day - 1;           // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  // [0, 146096]
  return era * 146097 + doe - 719468;
}

CivilTime CivilFromEpoch(int64_t epoch) {
  int64_t days = FloorDiv(epoch, kSecondsPerDay);
  int64_t secs = epoch - days * kSecondsPerDay;
  CivilTime c;
  c.hour = static_cast<int>(secs / kSecondsPerHour);
  c.minute = static_cast<int>(secs / 60 % 60);
  c.second = static_cast<int>(secs % 60);
  // civil_from_days, the inverse of DaysFromCivil.
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2);
  return c;
}

bool ParseBsdTime(std::string_view s, BsdTime* out) {
  // "Mmm" ' ' [' '] D[D] ' ' "HH:MM:SS": 14 to 16 bytes.
  if (s.size() < 14 || s.size() > 16 || s[3] != ' ') return false;
  int month = MonthFromName(s.data());
  if (month == 0) return false;
  size_t i = 4;
  if (s[i] == ' ') ++i;
  if (!IsDigit(s[i])) return false;
  int day = s[i++] - '0';
  if (IsDigit(s[i])) day = day * 10 + (s[i++] - '0');
  if (s[i] != ' ' || s.size() != i + 9) return false;
  BsdTime t;
  if (!ParseClock(s, i + 1, &t.hour, &t.minute, &t.second)) return false;
  // Feb 29 is a real date in some year; YearResolver picks one.
  if (day < 1 || day > DaysInMonth(2000, month)) return false;
  t.month = month;
  t.day = day;
  *out = t;
  return true;
}

bool ParseRfc3339(std::string_view s, Timestamp* out) {
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T') return false;
  int year = Digits(s, 0, 4);
  int month = Digits(s, 5, 2);
  int day = Digits(s, 8, 2);
  int hour, minute, second;
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) ||
      !ParseClock(s, 11, &hour, &minute, &second)) {
    return false;
  }
  size_t i = 19;
  int32_t nanos = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t f0 = i;
    while (i < s.size() && IsDigit(s[i])) {
      if (i - f0 < kNanoDigits) nanos = nanos * 10 + (s[i] - '0');
      ++i;
    }
    if (i == f0) return false;
    for (size_t k = i - f0; k < kNanoDigits; ++k) nanos *= 10;
  }
  Timestamp t;
  if (i < s.size()) {
    if (s[i] == 'Z' && i + 1 == s.size()) {
      t.has_offset = true;
    } else if ((s[i] == '+' || s[i] == '-') && i + 6 == s.size() && s[i + 3] == ':') {
      int oh = Digits(s, i + 1, 2);
      int om = Digits(s, i + 4, 2);
      if (oh < 0 || oh > kMaxOffsetHours || om < 0 || om > 59) return false;
      t.offset_seconds = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
      t.has_offset = true;
    } else {
      return false;
    }
  }
  if (second == 60) second = 59;
  t.nanos = nanos;
  t.epoch = DaysFromCivil(year, month, day) * kSecondsPerDay + hour * kSecondsPerHour +
            minute * 60 + second - t.offset_seconds;
  *out = t;
  return true;
}

int YearFromMtime(time_t mtime) { return static_cast<int>(CivilFromEpoch(mtime).year); }

absl::StatusOr<int> ParseYearOption(std::string_view text) {
  int y = text.size() == 4 ? Digits(text, 0, 4) : -1;
  if (y < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad year '", Shown(text), "': expected four digits, 0001 to 9999"));
  }
  return y;
}

YearResolver YearResolver::ForYear(int year) { return YearResolver(true, year, 0); }

YearResolver YearResolver::ForMtime(int64_t mtime) {
  int64_t limit = mtime + kSecondsPerDay;
  return YearResolver(false, static_cast<int>(CivilFromEpoch(limit).year), limit);
}

int YearResolver::YearOf(const BsdTime& t) const {
  if (fixed_) return year_;
  const int64_t clock = t.hour * kSecondsPerHour + t.minute * 60 + (t.second == 60 ? 59 : t.second);
  // Two steps for an ordinary date; Feb 29 skips non-leap years, at most 8
  // in a row (e.g. 2097..2103, since 2100 is not a leap year).
  for (int64_t y = year_;; --y) {
    if (t.month == 2 && t.day == 29 && !IsLeapYear(y)) continue;
    if (DaysFromCivil(y, t.month, t.day) * kSecondsPerDay + clock <= limit_) {
      return static_cast<int>(y);
    }
  }
}

bool ParseTimestamp(std::string_view text, const YearResolver& years, Timestamp* out) {
  if (!text.empty() && IsDigit(text[0])) return ParseRfc3339(text, out);
  BsdTime b;
  if (!ParseBsdTime(text, &b)) return false;
  int year = years.YearOf(b);
  if (b.month == 2 && b.day == 29 && !IsLeapYear(year)) return false;  // only with --year
  Timestamp t;
  t.epoch = DaysFromCivil(year, b.month, b.day) * kSecondsPerDay + b.hour * kSecondsPerHour +
            b.minute * 60 + (b.second == 60 ? 59 : b.second);
  *out = t;
  return true;
}

absl::StatusOr<TimeSpan> ParseTimeSpan(std::string_view s) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return BadBound(s, "no date");
  int year = Digits(s, 0, 4);
  int month = Digits(s, 5, 2);
  int day = Digits(s, 8, 2);
  if (year < 0 || month < 0 || day < 0) return BadBound(s, "no date");
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) {
    return BadBound(s, "no such date");
  }
  int64_t start = DaysFromCivil(year, month, day) * kSecondsPerDay;
  if (s.size() == 10) return TimeSpan{start, start + kSecondsPerDay};

  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
    return BadBound(s, "expected 'T' or a space after the date");
  }
  size_t i = 11;
  if (s.size() < i + 5 || s[i + 2] != ':') return BadBound(s, "expected HH:MM after the date");
  int hour = Digits(s, i, 2);
  int minute = Digits(s, i + 3, 2);
  if (hour < 0 || minute < 0) return BadBound(s, "expected HH:MM after the date");
  if (hour > 23 || minute > 59) return BadBound(s, "no such time of day");
  i += 5;
  int64_t width = 60;
  int second = 0;
  if (i < s.size() && s[i] == ':') {
    if (s.size() < i + 3 || (second = Digits(s, i + 1, 2)) < 0) {
      return BadBound(s, "expected two digits of seconds");
    }
    if (second > 59) return BadBound(s, "no such time of day");
    i += 3;
    width = 1;
  }
  start += hour * kSecondsPerHour + minute * 60 + second;
  if (i < s.size()) {
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) {
      // UTC, as without an offset.
    } else if ((s[i] == '+' || s[i] == '-') && i + 6 == s.size() && s[i + 3] == ':') {
      int oh = Digits(s, i + 1, 2);
      int om = Digits(s, i + 4, 2);
      if (oh < 0 || om < 0 || oh > kMaxOffsetHours || om > 59) {
        return BadBound(s, "bad UTC offset");
      }
      start -= (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    } else {
      return BadBound(s, "unexpected text after the time");
    }
  }
  return TimeSpan{start, start + width};
}

absl::StatusOr<int64_t> ParseTimeBound(std::string_view text) {
  absl::StatusOr<TimeSpan> span = ParseTimeSpan(text);
  if (!span.ok()) return span.status();
  return span->start;
}

size_t FormatDay(const Timestamp& t, bool utc, char* out) {
  return PutDate(KeyTime(t, utc), out) ? kDayKeyLen : 0;
}

size_t FormatHour(const Timestamp& t, bool utc, char* out) {
  CivilTime c = KeyTime(t, utc);
  if (!PutDate(c, out)) return 0;
  out[10] = 'T';
  Put2(out + 11, c.hour);
  return kHourKeyLen;
}

}  // namespace logtally::engine
