// Event index -> time (exact integer arithmetic, so strictly monotone), the
// reboot, and days-to-civil conversion.
#include "datasets/gen/timeline.h"

#include <array>

namespace logtally::datasets {
namespace {

// Relative rate of new connections per local hour of the day (0..23), for a
// small office / household gateway: a trough around 04:00, a working-day
// plateau and an evening peak around 20:00. Only the ratios matter.
constexpr std::array<uint32_t, 24> kHourWeight = {
    30, 20, 14, 10, 8,  10, 18, 35, 60, 80, 90, 95,
    100, 95, 92, 92, 96, 105, 115, 125, 130, 120, 90, 55};

constexpr uint64_t kDayWeight = [] {
  uint64_t sum = 0;
  for (uint32_t w : kHourWeight) sum += w;
  return sum;
}();

constexpr int kStartLocalHour = 17;
constexpr int64_t kUsPerHour = 3600LL * 1000000;

// Weight of hour `k` counted from the start.
uint32_t WeightAt(int k) { return kHourWeight[(kStartLocalHour + k) % 24]; }

// The gateway reboots on Saturday at 04:12:37 local time, 11 h 12 min 37 s
// after the start: a quiet hour, as admins like it.
constexpr int64_t kRebootOffsetUs = (11 * 3600 + 12 * 60 + 37) * 1000000LL;
// The first kernel had been up for 18 days, 6 h 55 min 23.456789 s at the
// start (7-digit uptimes, never space-padded).
constexpr int64_t kBoot0UptimeAtStartUs = 1580123456789LL;
// The second kernel started 14 s before syslog caught up at the reboot mark,
// so its uptimes start small and stay space-padded ("[  341.399450]") for
// the first 10000 s.
constexpr int64_t kBoot1UptimeAtRebootUs = 14000000LL;
// Smaller runs have no reboot: its 8 boot lines would crowd out the traffic.
constexpr uint64_t kMinEventsForReboot = 10000;

}  // namespace

CivilTime ToCivil(int64_t epoch_sec) {
  int64_t days = epoch_sec / 86400;
  int64_t rem = epoch_sec % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // Howard Hinnant's civil_from_days: eras of 400 years (146097 days).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return CivilTime{static_cast<int>(y), static_cast<int>(m), static_cast<int>(d),
                   static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                   static_cast<int>(rem % 60)};
}

Timeline::Timeline(uint64_t expected_events)
    : expected_(expected_events ? expected_events : 1), span_weight_(0) {
  for (int k = 0; k < kSpanHours; ++k) span_weight_ += WeightAt(k);
  if (expected_ < kMinEventsForReboot) {
    reboot_index_ = UINT64_MAX;
    return;
  }
  // BaseOffsetUs is non-decreasing, so the reboot index is a binary search.
  uint64_t hi = 1;
  while (BaseOffsetUs(hi) < kRebootOffsetUs) hi *= 2;
  uint64_t lo = 0;
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    if (BaseOffsetUs(mid) < kRebootOffsetUs) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  reboot_index_ = lo;
}

int64_t Timeline::BaseOffsetUs(uint64_t index) const {
  using u128 = unsigned __int128;
  // Position in "weight units times expected_": event i sits at
  // i * span_weight / expected weight units into the hourly curve.
  const u128 n = expected_;
  const u128 x = static_cast<u128>(index) * span_weight_;
  const u128 per_day = static_cast<u128>(kDayWeight) * n;
  const u128 days = x / per_day;
  u128 rem = x - days * per_day;
  int hour = 0;
  while (static_cast<u128>(WeightAt(hour)) * n <= rem) {
    rem -= static_cast<u128>(WeightAt(hour)) * n;
    ++hour;
  }
  const u128 within = rem * kUsPerHour / (static_cast<u128>(WeightAt(hour)) * n);
  return static_cast<int64_t>((days * 24 + hour) * kUsPerHour + within);
}

int64_t Timeline::UptimeUs(int boot, int64_t time_us) const {
  const int64_t offset = time_us - kStartUtcSec * 1000000LL;
  if (boot == 0) return kBoot0UptimeAtStartUs + offset;
  return kBoot1UptimeAtRebootUs + (offset - kRebootOffsetUs);
}

}  // namespace logtally::datasets
