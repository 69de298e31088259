// TIME parsing, BSD years, --since/--until bounds and day/hour keys
// (engine/timestamp.h). Civil arithmetic is checked against timegm(3), which
// the engine itself does not use.
#include "engine/timestamp.h"

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/port_names.h"
#include "engine/services.h"
#include "gtest/gtest.h"

// ---- heap allocation counter -------------------------------------------------------
// The per-line paths promise not to allocate; counting operator new on this
// thread while they run checks it. The replacement forwards to malloc/free,
// so it changes nothing else in the test binary.
namespace {
thread_local bool g_counting = false;
thread_local size_t g_allocations = 0;
}  // namespace

// Not under AddressSanitizer: it replaces operator new itself, and a second
// replacement here mixes allocators across libsimdjson's inline and compiled
// code (alloc-dealloc-mismatch reports). The Release test run does the count.
#if !defined(__SANITIZE_ADDRESS__)
// noinline: once inlined, GCC pairs the malloc/free inside with the callers'
// new/delete and warns (-Wmismatched-new-delete) about a mismatch that is not one.
__attribute__((noinline)) void* operator new(size_t n) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void* operator new[](size_t n) { return operator new(n); }
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete[](void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, size_t) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete[](void* p, size_t) noexcept { std::free(p); }
#endif

namespace logtally::engine {
namespace {

int64_t TimegmOf(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm));
}

Timestamp Rfc(const std::string& s) {
  Timestamp t;
  EXPECT_TRUE(ParseRfc3339(s, &t)) << s;
  return t;
}

std::string Day(const Timestamp& t, bool utc) {
  char buf[kDayKeyLen];
  size_t n = FormatDay(t, utc, buf);
  return n == 0 ? "<none>" : std::string(buf, n);
}

std::string Hour(const Timestamp& t, bool utc) {
  char buf[kHourKeyLen];
  size_t n = FormatHour(t, utc, buf);
  return n == 0 ? "<none>" : std::string(buf, n);
}

// ---- calendar -----------------------------------------------------------------------

TEST(CivilTest, LeapYears) {
  EXPECT_TRUE(IsLeapYear(2000));
  EXPECT_TRUE(IsLeapYear(2024));
  EXPECT_TRUE(IsLeapYear(1600));
  EXPECT_FALSE(IsLeapYear(1900));
  EXPECT_FALSE(IsLeapYear(2100));
  EXPECT_FALSE(IsLeapYear(2023));
  EXPECT_TRUE(IsLeapYear(0));
  EXPECT_TRUE(IsLeapYear(-4));
  EXPECT_EQ(DaysInMonth(2024, 2), 29);
  EXPECT_EQ(DaysInMonth(2023, 2), 28);
  EXPECT_EQ(DaysInMonth(2100, 2), 28);
  EXPECT_EQ(DaysInMonth(2023, 4), 30);
  EXPECT_EQ(DaysInMonth(2023, 12), 31);
  EXPECT_EQ(DaysInMonth(2023, 0), 0);
  EXPECT_EQ(DaysInMonth(2023, 13), 0);
}

TEST(CivilTest, KnownDays) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(2024, 2, 29) + 1, DaysFromCivil(2024, 3, 1));
  EXPECT_EQ(DaysFromCivil(2023, 2, 28) + 1, DaysFromCivil(2023, 3, 1));
  EXPECT_EQ(DaysFromCivil(1, 1, 1), -719162);
  EXPECT_EQ(DaysFromCivil(9999, 12, 31), 2932896);
}

TEST(CivilTest, MatchesTimegmAndRoundTrips) {
  // Every day from 1900 to 2200 (through the non-leap 1900 and 2100), and a
  // time of day that varies with it.
  for (int64_t day = DaysFromCivil(1900, 1, 1); day <= DaysFromCivil(2200, 12, 31); ++day) {
    int64_t epoch = day * 86400 + ((day * 7919) % 86400 + 86400) % 86400;
    CivilTime c = CivilFromEpoch(epoch);
    ASSERT_EQ(DaysFromCivil(c.year, c.month, c.day), day);
    ASSERT_EQ(TimegmOf(static_cast<int>(c.year), c.month, c.day, c.hour, c.minute, c.second),
              epoch);
  }
  // Far years and negative epochs.
  for (int64_t epoch :
       {int64_t{-62135596800}, int64_t{253402300799}, int64_t{-1}, int64_t{0}, int64_t{-86401}}) {
    CivilTime c = CivilFromEpoch(epoch);
    EXPECT_EQ(
        DaysFromCivil(c.year, c.month, c.day) * 86400 + c.hour * 3600 + c.minute * 60 + c.second,
        epoch);
  }
  CivilTime c = CivilFromEpoch(-1);
  EXPECT_EQ(c.year, 1969);
  EXPECT_EQ(c.month, 12);
  EXPECT_EQ(c.day, 31);
  EXPECT_EQ(c.hour, 23);
  EXPECT_EQ(c.second, 59);
}

// ---- RFC 3339 ------------------------------------------------------------------------

TEST(Rfc3339Test, SampleStyles) {
  // cs456-blueteam-ufw-rfc3339.log: microseconds, negative offset.
  Timestamp t = Rfc("2025-11-30T00:00:20.570472-07:00");
  EXPECT_EQ(t.epoch, 1764486020);
  EXPECT_EQ(t.nanos, 570472000);
  EXPECT_EQ(t.offset_seconds, -7 * 3600);
  EXPECT_TRUE(t.has_offset);
  // psad-syslog_time_fmt1.log: positive offset.
  t = Rfc("2015-03-07T05:09:30.045015+02:00");
  EXPECT_EQ(t.epoch, 1425697770);
  EXPECT_EQ(t.nanos, 45015000);
  EXPECT_EQ(t.offset_seconds, 7200);
  // elastic raw: `<6>2021-03-12T14:10:18Z` (TIME excludes the <PRI>).
  t = Rfc("2021-03-12T14:10:18Z");
  EXPECT_EQ(t.epoch, 1615558218);
  EXPECT_EQ(t.nanos, 0);
  EXPECT_EQ(t.offset_seconds, 0);
  EXPECT_TRUE(t.has_offset);
  // journald JSON: nanoseconds, and milliseconds.
  t = Rfc("2021-03-12T14:10:18.123456789Z");
  EXPECT_EQ(t.nanos, 123456789);
  t = Rfc("2021-03-12T14:10:18.123Z");
  EXPECT_EQ(t.nanos, 123000000);
}

TEST(Rfc3339Test, FieldsAndLimits) {
  Timestamp t = Rfc("2021-03-12T14:10:18");
  EXPECT_FALSE(t.has_offset);
  EXPECT_EQ(t.epoch, TimegmOf(2021, 3, 12, 14, 10, 18));
  t = Rfc("2021-03-12T14:10:18-00:00");  // RFC 3339: UTC, local offset unknown
  EXPECT_TRUE(t.has_offset);
  EXPECT_EQ(t.epoch, TimegmOf(2021, 3, 12, 14, 10, 18));
  t = Rfc("2024-02-29T12:00:00+14:00");
  EXPECT_EQ(t.epoch, 1709157600);
  t = Rfc("1969-12-31T23:59:59.5Z");
  EXPECT_EQ(t.epoch, -1);
  EXPECT_EQ(t.nanos, 500000000);
  t = Rfc("0001-01-01T00:00:00Z");
  EXPECT_EQ(t.epoch, -62135596800);
  t = Rfc("9999-12-31T23:59:59Z");
  EXPECT_EQ(t.epoch, 253402300799);
  // More than 9 fraction digits: truncated, never rounded into the next second.
  t = Rfc("2021-03-12T14:10:18.9999999999999Z");
  EXPECT_EQ(t.nanos, 999999999);
  EXPECT_EQ(t.epoch, 1615558218);
  // Leap second: kept in its minute.
  t = Rfc("2016-12-31T23:59:60Z");
  EXPECT_EQ(t.epoch, TimegmOf(2016, 12, 31, 23, 59, 59));
  EXPECT_EQ(Day(t, true), "2016-12-31");

  Timestamp u;
  for (const char* bad : {"",
                          "2021",
                          "2021-03-12",
                          "2021-03-12 14:10:18",
                          "2021-03-12t14:10:18",
                          "2021-13-12T14:10:18Z",
                          "2021-00-12T14:10:18Z",
                          "2021-03-00T14:10:18Z",
                          "2021-04-31T14:10:18Z",
                          "2023-02-29T00:00:00Z",
                          "2100-02-29T00:00:00Z",
                          "2021-03-12T24:00:00Z",
                          "2021-03-12T14:60:18Z",
                          "2021-03-12T14:10:61Z",
                          "2021-03-12T14:10:18.Z",
                          "2021-03-12T14:10:18.",
                          "2021-03-12T14:10:18ZZ",
                          "2021-03-12T14:10:18z",
                          "2021-03-12T14:10:18+0200",
                          "2021-03-12T14:10:18+02",
                          "2021-03-12T14:10:18+24:00",
                          "2021-03-12T14:10:18+02:60",
                          "2021-03-12T14:10:18 ",
                          "202a-03-12T14:10:18Z",
                          "2021-03-12T14:10:18.5x",
                          "+021-03-12T14:10:18Z",
                          "2021-03-12T14:10:18+02:00 extra",
                          "-2021-03-12T14:10:18Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad, &u)) << bad;
  }
  EXPECT_TRUE(ParseRfc3339("2024-02-29T00:00:00Z", &u));
  EXPECT_TRUE(ParseRfc3339("2000-02-29T00:00:00Z", &u));
  std::string with_nul("2021-03-12T14:10:18Z\0", 21);
  EXPECT_FALSE(ParseRfc3339(with_nul, &u));
}

// ---- BSD -----------------------------------------------------------------------------

TEST(BsdTest, Grammar) {
  BsdTime b;
  ASSERT_TRUE(ParseBsdTime("Mar  5 14:59:59", &b));
  EXPECT_EQ(b.month, 3);
  EXPECT_EQ(b.day, 5);
  EXPECT_EQ(b.hour, 14);
  EXPECT_EQ(b.minute, 59);
  EXPECT_EQ(b.second, 59);
  ASSERT_TRUE(ParseBsdTime("Mar 15 14:59:59", &b));
  EXPECT_EQ(b.day, 15);
  ASSERT_TRUE(ParseBsdTime("Mar 5 14:59:59", &b));  // one space, one digit
  EXPECT_EQ(b.day, 5);
  ASSERT_TRUE(ParseBsdTime("Mar  15 14:59:59", &b));  // two spaces, two digits
  EXPECT_EQ(b.day, 15);
  ASSERT_TRUE(ParseBsdTime("Dec 31 23:59:60", &b));  // leap second
  const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int m = 0; m < 12; ++m) {
    ASSERT_TRUE(ParseBsdTime(std::string(months[m]) + "  1 00:00:00", &b)) << months[m];
    EXPECT_EQ(b.month, m + 1);
    ASSERT_TRUE(ParseBsdTime(std::string(months[m]) + " 28 00:00:00", &b));
  }
  ASSERT_TRUE(ParseBsdTime("Feb 29 00:00:00", &b));
  for (const char* bad : {"",
                          "Mar",
                          "Mar  5",
                          "Mar  5 14:59",
                          "mar  5 14:59:59",
                          "MAR  5 14:59:59",
                          "Mrz  5 14:59:59",
                          "Mar   5 14:59:59",
                          "Mar  0 14:59:59",
                          "Mar 32 14:59:59",
                          "Apr 31 14:59:59",
                          "Feb 30 00:00:00",
                          "Mar  5 24:00:00",
                          "Mar  5 14:60:00",
                          "Mar  5 14:59:61",
                          "Mar  5 14:59:59 ",
                          "Mar  5  14:59:59",
                          "Mar 5 4:59:59",
                          "Mar  5T14:59:59",
                          "Mar-15 14:59:59",
                          "Mar 123 14:59:59",
                          "Mar  5 14-59-59"}) {
    EXPECT_FALSE(ParseBsdTime(bad, &b)) << bad;
  }
}

TEST(YearResolverTest, FixedYear) {
  YearResolver y = YearResolver::ForYear(2023);
  EXPECT_TRUE(y.fixed());
  EXPECT_EQ(y.default_year(), 2023);
  Timestamp t;
  ASSERT_TRUE(ParseTimestamp("Dec 31 23:59:59", y, &t));
  EXPECT_EQ(t.epoch, TimegmOf(2023, 12, 31, 23, 59, 59));
  ASSERT_TRUE(ParseTimestamp("Jan  1 00:00:00", y, &t));
  EXPECT_EQ(t.epoch, TimegmOf(2023, 1, 1));
  EXPECT_FALSE(ParseTimestamp("Feb 29 12:00:00", y, &t));  // 2023 has none
  ASSERT_TRUE(ParseTimestamp("Feb 29 12:00:00", YearResolver::ForYear(2024), &t));
  EXPECT_EQ(t.epoch, TimegmOf(2024, 2, 29, 12));
  EXPECT_FALSE(t.has_offset);
  EXPECT_EQ(t.offset_seconds, 0);
  EXPECT_EQ(t.nanos, 0);
}

int YearOf(const YearResolver& y, const char* bsd) {
  BsdTime b;
  EXPECT_TRUE(ParseBsdTime(bsd, &b)) << bsd;
  return y.YearOf(b);
}

TEST(YearResolverTest, DecemberJanuaryRollOver) {
  // A log rotated on 2 January: its lines run from late December into January.
  YearResolver y = YearResolver::ForMtime(TimegmOf(2025, 1, 2, 10, 0, 0));
  EXPECT_FALSE(y.fixed());
  EXPECT_EQ(y.default_year(), 2025);
  EXPECT_EQ(YearOf(y, "Dec 31 23:59:59"), 2024);
  EXPECT_EQ(YearOf(y, "Dec 24 08:00:00"), 2024);
  EXPECT_EQ(YearOf(y, "Jan  1 00:00:00"), 2025);
  EXPECT_EQ(YearOf(y, "Jan  2 10:00:00"), 2025);
  // One day of slack after mtime (the host's zone, clock skew) ...
  EXPECT_EQ(YearOf(y, "Jan  3 10:00:00"), 2025);
  // ... and no more: a later date is last year's.
  EXPECT_EQ(YearOf(y, "Jan  3 10:00:01"), 2024);
  EXPECT_EQ(YearOf(y, "Mar  1 00:00:00"), 2024);
  Timestamp t;
  ASSERT_TRUE(ParseTimestamp("Dec 31 23:59:59", y, &t));
  EXPECT_EQ(Day(t, false), "2024-12-31");
  ASSERT_TRUE(ParseTimestamp("Jan  1 00:00:01", y, &t));
  EXPECT_EQ(Day(t, false), "2025-01-01");
}

TEST(YearResolverTest, SlackReachesIntoNextYear) {
  // mtime on 31 December, noon UTC: a host at UTC+14 may already have
  // written "Jan  1" lines, which are within the day of slack.
  YearResolver y = YearResolver::ForMtime(TimegmOf(2024, 12, 31, 12, 0, 0));
  EXPECT_EQ(y.default_year(), 2025);
  EXPECT_EQ(YearOf(y, "Jan  1 00:30:00"), 2025);
  EXPECT_EQ(YearOf(y, "Jan  1 12:00:01"), 2024);
  EXPECT_EQ(YearOf(y, "Dec 31 11:00:00"), 2024);
  EXPECT_EQ(YearOf(y, "Jun 15 11:00:00"), 2024);
}

TEST(YearResolverTest, LeapDay) {
  // Feb 29 goes to the latest leap year that fits.
  EXPECT_EQ(YearOf(YearResolver::ForMtime(TimegmOf(2024, 3, 1)), "Feb 29 23:00:00"), 2024);
  EXPECT_EQ(YearOf(YearResolver::ForMtime(TimegmOf(2024, 2, 28)), "Feb 29 23:00:00"), 2020);
  EXPECT_EQ(YearOf(YearResolver::ForMtime(TimegmOf(2023, 6, 1)), "Feb 29 00:00:00"), 2020);
  EXPECT_EQ(YearOf(YearResolver::ForMtime(TimegmOf(2101, 1, 1)), "Feb 29 00:00:00"), 2096);
  EXPECT_EQ(YearOf(YearResolver::ForMtime(TimegmOf(2104, 1, 1)), "Feb 29 00:00:00"), 2096);
  EXPECT_EQ(YearOf(YearResolver::ForMtime(TimegmOf(2104, 3, 1)), "Feb 29 00:00:00"), 2104);
  // Days after Feb 29 in a leap year are counted right.
  YearResolver y = YearResolver::ForMtime(TimegmOf(2024, 3, 2));
  Timestamp t;
  ASSERT_TRUE(ParseTimestamp("Mar  1 00:00:00", y, &t));
  EXPECT_EQ(t.epoch, TimegmOf(2024, 3, 1));
  ASSERT_TRUE(ParseTimestamp("Feb 29 00:00:00", y, &t));
  EXPECT_EQ(t.epoch, TimegmOf(2024, 2, 29));
  EXPECT_EQ(Day(t, false), "2024-02-29");
}

TEST(YearResolverTest, PureAcrossThreads) {
  // Chunks of one file are resolved in parallel, in any order.
  const YearResolver y = YearResolver::ForMtime(TimegmOf(2025, 1, 2, 10));
  const char* lines[] = {"Dec 30 10:00:00", "Jan  1 00:00:00", "Dec 31 23:59:59", "Jan  2 09:00:00",
                         "Feb 29 00:00:00"};
  const int want[] = {2024, 2025, 2024, 2025, 2024};
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < 20000; ++i) {
        int k = (i + th) % 5;
        BsdTime b;
        if (!ParseBsdTime(lines[k], &b) || y.YearOf(b) != want[k]) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(YearTest, FromMtimeAndOption) {
  EXPECT_EQ(YearFromMtime(0), 1970);
  EXPECT_EQ(YearFromMtime(1735689599), 2024);  // 2024-12-31T23:59:59Z
  EXPECT_EQ(YearFromMtime(1735689600), 2025);
  EXPECT_EQ(YearFromMtime(-1), 1969);
  EXPECT_EQ(*ParseYearOption("2024"), 2024);
  EXPECT_EQ(*ParseYearOption("0001"), 1);
  for (const char* bad : {"", "0000", "24", "20245", "2o24", "-2024", " 2024", "2024\n"}) {
    absl::StatusOr<int> y = ParseYearOption(bad);
    EXPECT_FALSE(y.ok()) << bad;
  }
  absl::StatusOr<int> y = ParseYearOption(std::string("\x1b[2J", 4));
  ASSERT_FALSE(y.ok());
  EXPECT_EQ(std::string(y.status().message()).find('\x1b'), std::string::npos);
}

// ---- every timestamp in the real samples ----------------------------------------------

std::filesystem::path SamplesDir() {
#ifdef LOGTALLY_SAMPLES_DIR
  return LOGTALLY_SAMPLES_DIR;
#else
  if (const char* env = std::getenv("LOGTALLY_SAMPLES")) return env;
  // tests/engine/this_file.cc -> ../shared/samples/real beside the repository
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path() /
         "shared" / "samples" / "real";
#endif
}

TEST(SamplesTest, EveryTimestampParses) {
  std::filesystem::path dir = SamplesDir();
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "no samples at " << dir;
  // The header grammar of docs/choices.md, steps 1 and 2, at the line start;
  // and any RFC 3339 time inside double quotes.
  const std::regex header(
      "^(?:<[0-9]{1,3}>)?("
      "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}([0-9]{1,2}) "
      "([0-9]{2}):([0-9]{2}):([0-9]{2})"
      "|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]+)?"
      "(?:Z|[+-][0-9]{2}:[0-9]{2})?) ");
  const std::regex quoted(
      "\"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]+)?"
      "(?:Z|[+-][0-9]{2}:[0-9]{2})?)\"");
  const std::map<std::string, int> month_of = {{"Jan", 1}, {"Feb", 2},  {"Mar", 3},  {"Apr", 4},
                                               {"May", 5}, {"Jun", 6},  {"Jul", 7},  {"Aug", 8},
                                               {"Sep", 9}, {"Oct", 10}, {"Nov", 11}, {"Dec", 12}};
  const YearResolver year2024 = YearResolver::ForYear(2024);
  std::map<std::string, int> styles;  // shape of the text (digits as 9) -> count

  auto check_rfc = [&](const std::string& text) {
    Timestamp t;
    ASSERT_TRUE(ParseTimestamp(text, year2024, &t)) << text;
    // As written: the date and hour are the text's own.
    EXPECT_EQ(Day(t, false), text.substr(0, 10)) << text;
    EXPECT_EQ(Hour(t, false), text.substr(0, 13)) << text;
    // The instant, independently: timegm of the fields, less the offset.
    int64_t want = TimegmOf(std::stoi(text.substr(0, 4)), std::stoi(text.substr(5, 2)),
                            std::stoi(text.substr(8, 2)), std::stoi(text.substr(11, 2)),
                            std::stoi(text.substr(14, 2)), std::stoi(text.substr(17, 2)));
    size_t z = text.find_first_of("Z+-", 19);
    if (z != std::string::npos && text[z] != 'Z') {
      int off = std::stoi(text.substr(z + 1, 2)) * 3600 + std::stoi(text.substr(z + 4, 2)) * 60;
      want -= text[z] == '-' ? -off : off;
      EXPECT_EQ(t.offset_seconds, text[z] == '-' ? -off : off);
    }
    EXPECT_EQ(t.epoch, want) << text;
    EXPECT_EQ(t.has_offset, z != std::string::npos);
    std::string shape = text;
    for (char& c : shape) c = (c >= '0' && c <= '9') ? '9' : c;
    ++styles[shape];
  };

  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string ext = entry.path().extension().string();
    if (ext != ".log" && ext != ".json") continue;
    ++files;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      // Times quoted inside messages (journald JSON, rsyslog's own lines).
      for (auto it = std::sregex_iterator(line.begin(), line.end(), quoted);
           it != std::sregex_iterator(); ++it) {
        check_rfc((*it)[1].str());
      }
      std::smatch m;
      if (ext == ".json" || !std::regex_search(line, m, header)) continue;
      std::string text = m[1].str();
      if (m[2].matched) {
        Timestamp t;
        ASSERT_TRUE(ParseTimestamp(text, year2024, &t)) << entry.path() << ": " << text;
        int mo = month_of.at(m[2].str());
        int d = std::stoi(m[3].str());
        EXPECT_EQ(t.epoch, TimegmOf(2024, mo, d, std::stoi(m[4].str()), std::stoi(m[5].str()),
                                    std::stoi(m[6].str())))
            << text;
        char want[16];
        std::snprintf(want, sizeof want, "2024-%02d-%02d", mo, d);
        EXPECT_EQ(Day(t, false), want);
        EXPECT_EQ(Day(t, true), want);  // floating: the same in UTC
        EXPECT_FALSE(t.has_offset);
        std::string shape = text;
        for (char& c : shape) c = (c >= '0' && c <= '9') ? '9' : c;
        shape.replace(0, 3, "Mmm");
        ++styles[shape];
      } else {
        check_rfc(text);
      }
    }
  }
  ASSERT_GT(files, 0u);
  // Every style the samples hold was seen (and so parsed above).
  for (const char* shape :
       {"Mmm  9 99:99:99", "Mmm 99 99:99:99", "9999-99-99T99:99:99.999999-99:99",
        "9999-99-99T99:99:99.999999+99:99", "9999-99-99T99:99:99Z",
        "9999-99-99T99:99:99.999999999Z", "9999-99-99T99:99:99.999Z"}) {
    EXPECT_GT(styles[shape], 0) << shape;
  }
}

// ---- --since / --until ----------------------------------------------------------------

TEST(TimeSpanTest, Forms) {
  const int64_t day = TimegmOf(2024, 3, 5);
  absl::StatusOr<TimeSpan> s = ParseTimeSpan("2024-03-05");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->start, day);
  EXPECT_EQ(s->end, day + 86400);
  s = ParseTimeSpan("2024-03-05 14:00");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->start, day + 14 * 3600);
  EXPECT_EQ(s->end, day + 14 * 3600 + 60);
  s = ParseTimeSpan("2024-03-05T14:00:07");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->start, day + 14 * 3600 + 7);
  EXPECT_EQ(s->end, s->start + 1);
  s = ParseTimeSpan("2024-03-05 14:00:07");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->start, day + 14 * 3600 + 7);
  s = ParseTimeSpan("2024-03-05t14:00z");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->start, day + 14 * 3600);
  s = ParseTimeSpan("2024-03-05T14:00Z");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->start, day + 14 * 3600);
  s = ParseTimeSpan("2024-03-05T14:00+02:00");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->start, day + 12 * 3600);
  EXPECT_EQ(s->end, day + 12 * 3600 + 60);
  s = ParseTimeSpan("2024-03-05T01:00:00-05:30");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->start, day + 6 * 3600 + 30 * 60);
  s = ParseTimeSpan("2024-02-29");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->start, TimegmOf(2024, 2, 29));
  s = ParseTimeSpan("1969-12-31 23:59:59");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->start, -1);
  EXPECT_EQ(*ParseTimeBound("2024-03-05 14:00"), day + 14 * 3600);
}

TEST(TimeSpanTest, Errors) {
  for (const char* bad : {"",
                          "2024",
                          "2024-3-5",
                          "2024/03/05",
                          "05.03.2024",
                          "yesterday",
                          "2024-02-30",
                          "2023-02-29",
                          "2024-13-01",
                          "2024-00-10",
                          "2024-03-00",
                          "2024-03-05 25:00",
                          "2024-03-05 24:00",
                          "2024-03-05 14:60",
                          "2024-03-05T14",
                          "2024-03-05T14:0",
                          "2024-03-05T14:00:60",
                          "2024-03-05T14:00:5",
                          "2024-03-05Z",
                          "2024-03-05 ",
                          "2024-03-05 14:00 ",
                          "2024-03-05T14:00+0200",
                          "2024-03-05T14:00+24:00",
                          "2024-03-05T14:00+02:60",
                          "2024-03-05T14:00.5",
                          "2024-03-05  14:00",
                          "2024-03-05T14:00:00ZZ",
                          "2024-03-05\n",
                          " 2024-03-05",
                          "2024-03-05x14:00"}) {
    absl::StatusOr<TimeSpan> s = ParseTimeSpan(bad);
    EXPECT_FALSE(s.ok()) << bad;
    if (!s.ok()) {
      EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(std::string(s.status().message()).find("bad time"), std::string::npos);
    }
  }
  // Control bytes in the input never reach the message raw.
  absl::StatusOr<TimeSpan> s = ParseTimeSpan(std::string("2024-03-05\x1b]0;x\x07\n\0", 17));
  ASSERT_FALSE(s.ok());
  std::string msg(s.status().message());
  for (char c : msg) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << msg;
  EXPECT_NE(msg.find("\\x1b"), std::string::npos);
  s = ParseTimeSpan(std::string(10000, '9'));
  ASSERT_FALSE(s.ok());
  EXPECT_LT(s.status().message().size(), 400u);
}

TEST(TimeSpanTest, WindowAgainstLogTimes) {
  // since.start <= epoch < until.end keeps exactly the lines of the days named.
  TimeSpan since = *ParseTimeSpan("2015-03-07");
  TimeSpan until = *ParseTimeSpan("2015-03-07");
  auto kept = [&](const std::string& text, const YearResolver& y) {
    Timestamp t;
    EXPECT_TRUE(ParseTimestamp(text, y, &t)) << text;
    return since.start <= t.epoch && t.epoch < until.end;
  };
  const YearResolver y2015 = YearResolver::ForYear(2015);
  EXPECT_TRUE(kept("Mar  7 00:00:00", y2015));
  EXPECT_TRUE(kept("Mar  7 23:59:59", y2015));
  EXPECT_FALSE(kept("Mar  8 00:00:00", y2015));
  EXPECT_FALSE(kept("Mar  6 23:59:59", y2015));
  // An instant with an offset is compared as that instant:
  // 05:09:30+02:00 is 03:09:30Z, inside; 01:30+02:00 is the 6th in UTC.
  EXPECT_TRUE(kept("2015-03-07T05:09:30.045015+02:00", y2015));
  EXPECT_FALSE(kept("2015-03-07T01:30:00+02:00", y2015));
  EXPECT_TRUE(kept("2015-03-07T23:59:59.999999999Z", y2015));
  EXPECT_FALSE(kept("2015-03-08T00:00:00Z", y2015));
}

// ---- day / hour keys ------------------------------------------------------------------

TEST(KeysTest, AsWrittenAndUtc) {
  Timestamp t = Rfc("2015-03-07T05:09:30.045015+02:00");
  EXPECT_EQ(Day(t, false), "2015-03-07");
  EXPECT_EQ(Hour(t, false), "2015-03-07T05");
  EXPECT_EQ(Hour(t, true), "2015-03-07T03");
  t = Rfc("2025-11-30T00:00:20.570472-07:00");
  EXPECT_EQ(Day(t, false), "2025-11-30");
  EXPECT_EQ(Hour(t, false), "2025-11-30T00");
  EXPECT_EQ(Day(t, true), "2025-11-30");
  EXPECT_EQ(Hour(t, true), "2025-11-30T07");
  t = Rfc("2025-11-30T20:00:00-07:00");
  EXPECT_EQ(Day(t, false), "2025-11-30");
  EXPECT_EQ(Day(t, true), "2025-12-01");
  t = Rfc("2024-01-01T01:30:00+02:00");  // UTC is the year before
  EXPECT_EQ(Hour(t, false), "2024-01-01T01");
  EXPECT_EQ(Hour(t, true), "2023-12-31T23");
  t = Rfc("2024-03-01T00:30:00+01:00");  // UTC is leap day
  EXPECT_EQ(Day(t, true), "2024-02-29");
  t = Rfc("2021-03-12T14:10:18Z");
  EXPECT_EQ(Hour(t, false), "2021-03-12T14");
  EXPECT_EQ(Hour(t, true), "2021-03-12T14");
  Timestamp b;
  ASSERT_TRUE(ParseTimestamp("Mar  5 14:59:59", YearResolver::ForYear(2024), &b));
  EXPECT_EQ(Hour(b, false), "2024-03-05T14");
  EXPECT_EQ(Hour(b, true), "2024-03-05T14");
  // Years that do not fit four digits have no key.
  t = Rfc("0000-01-01T00:30:00+01:00");
  EXPECT_EQ(Day(t, false), "0000-01-01");
  EXPECT_EQ(Day(t, true), "<none>");
  t = Rfc("9999-12-31T23:30:00-01:00");
  EXPECT_EQ(Hour(t, false), "9999-12-31T23");
  EXPECT_EQ(Hour(t, true), "<none>");
  // Writes exactly the key's length.
  char buf[kHourKeyLen + 1];
  buf[kHourKeyLen] = '#';
  EXPECT_EQ(FormatHour(Rfc("2021-03-12T14:10:18Z"), false, buf), kHourKeyLen);
  EXPECT_EQ(buf[kHourKeyLen], '#');
}

// ---- no allocation on the per-line paths --------------------------------------------

TEST(NoAllocationTest, PerLinePaths) {
  const YearResolver years = YearResolver::ForMtime(TimegmOf(2025, 1, 2));
  const ServiceTable& builtin = ServiceTable::Builtin();
  std::string scratch;
  scratch.reserve(64);
  char buf[kHourKeyLen];
  size_t sink = 0;
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 1000; ++i) {
    Timestamp t;
    sink += ParseTimestamp("Dec 31 23:59:59", years, &t);
    sink += ParseTimestamp("2025-11-30T00:00:20.570472-07:00", years, &t);
    sink += FormatDay(t, false, buf) + FormatHour(t, true, buf);
    sink += builtin.Classify("TCP", "443").size() + builtin.Classify("ICMPv6", "").size();
    sink += builtin.Classify("47", "").size() + builtin.Classify("UDP", "0x50").size();
    sink += builtin.Classify("FOOBAR", "", &scratch).size();
    sink += PortName("tcp", "22").size() + PortName("UDP", "53").size();
    sink += PortName("icmp", "1").size();
  }
  g_counting = false;
  EXPECT_EQ(g_allocations, 0u);
  EXPECT_GT(sink, 0u);
}

}  // namespace
}  // namespace logtally::engine
