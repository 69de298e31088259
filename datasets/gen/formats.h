// Turning events into bytes: syslog text lines (as rsyslog writes kern.log),
// `journalctl -o json` objects and ulogd2 JSON-plugin objects.
#ifndef LOGTALLY_DATASETS_GEN_FORMATS_H_
#define LOGTALLY_DATASETS_GEN_FORMATS_H_

#include <cstdint>
#include <string_view>

#include "datasets/gen/events.h"
#include "datasets/gen/out_buffer.h"

namespace logtally::datasets {

enum class OutputFormat { kText, kJournald, kUlogd };

// The gateway's host name, as syslog and journald show it.
inline constexpr std::string_view kHostName = "gw01";

// Formats events of one block. Holds per-block caches (the rendered current
// second), so use one Formatter per thread.
class Formatter {
 public:
  explicit Formatter(OutputFormat format) : format_(format) {}

  // Appends `ev` as one line (with its '\n') and returns true, or returns
  // false and appends nothing when the format has no such line (ulogd only
  // sees packets). The caller has reserved kMaxEventBytes.
  bool Format(const Event& ev, OutBuffer& out);

 private:
  void Text(const Event& ev, OutBuffer& out);
  void Journald(const Event& ev, OutBuffer& out);
  void Ulogd(const Event& ev, OutBuffer& out);
  void UpdateClock(int64_t time_us);

  OutputFormat format_;
  OutBuffer scratch_;
  // Text of the current second, re-rendered when the second changes.
  int64_t clock_sec_ = INT64_MIN;
  char bsd_[15];        // "Mar  8 17:00:00"
  char local_iso_[19];  // "2024-03-08T17:00:00"
  char utc_iso_[19];    // "2024-03-08T16:00:00"
};

}  // namespace logtally::datasets

#endif  // LOGTALLY_DATASETS_GEN_FORMATS_H_
