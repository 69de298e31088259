// The wall clock of the synthetic log: when event i happens, the gateway's
// kernel uptime (with one reboot in the middle) and civil-time conversion.
//
// Times are a pure function of the event index, so any block can compute its
// own times without knowing what other blocks did. The run covers a weekend,
// Friday 17:00 to Monday 09:00 local time (CET, UTC+01:00), crossing midnight
// three times; the connection rate follows a daily curve (quiet at night, busy
// in the evening). The expected number of events is spread over that span;
// events beyond the expectation simply continue at the same rate.
#ifndef LOGTALLY_DATASETS_GEN_TIMELINE_H_
#define LOGTALLY_DATASETS_GEN_TIMELINE_H_

#include <cstdint>

namespace logtally::datasets {

// 2024-03-08T17:00:00+01:00, a Friday evening. March 8-11 is before the EU
// switch to summer time (March 31), so the offset is +01:00 throughout.
inline constexpr int64_t kStartUtcSec = 1709913600;
inline constexpr int kUtcOffsetSec = 3600;
// Friday 17:00 to Monday 09:00.
inline constexpr int kSpanHours = 64;

struct CivilTime {
  int year, month, day, hour, minute, second;
};
// UTC seconds since the epoch to a proleptic Gregorian date and time of day.
CivilTime ToCivil(int64_t epoch_sec);

class Timeline {
 public:
  // How many events the caller expects to emit (>= 1); they fill the span.
  explicit Timeline(uint64_t expected_events);

  // Microseconds since the start at which event `index` may first happen.
  // Non-decreasing in `index`; the event's real time lies in
  // [BaseOffsetUs(i), BaseOffsetUs(i + 1)).
  int64_t BaseOffsetUs(uint64_t index) const;

  // The first event index of the second boot. Events from there on run under
  // the new kernel; the first kBootLines of them are its boot messages.
  // Runs expecting fewer than 10000 events have no reboot (UINT64_MAX).
  uint64_t reboot_index() const { return reboot_index_; }
  int BootOf(uint64_t index) const { return index >= reboot_index_ ? 1 : 0; }
  // Kernel uptime at UTC time `time_us` under boot `boot`.
  int64_t UptimeUs(int boot, int64_t time_us) const;

 private:
  uint64_t expected_;
  uint64_t span_weight_;  // sum of hourly weights over the span
  uint64_t reboot_index_;
};

}  // namespace logtally::datasets

#endif  // LOGTALLY_DATASETS_GEN_TIMELINE_H_
