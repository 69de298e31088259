#include "engine/run_options.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "io/strings.h"

namespace logtally::engine {

absl::StatusOr<uint64_t> ParseSize(std::string_view s) {
  if (s.empty()) return absl::InvalidArgumentError("empty size");
  uint64_t mult = 1;
  char last = s.back();
  if (last == 'b' || last == 'B') {
    s.remove_suffix(1);
    if (s.empty()) return absl::InvalidArgumentError("bad size");
    last = s.back();
  }
  switch (last) {
    case 'k': case 'K': mult = uint64_t{1} << 10; break;
    case 'm': case 'M': mult = uint64_t{1} << 20; break;
    case 'g': case 'G': mult = uint64_t{1} << 30; break;
    case 't': case 'T': mult = uint64_t{1} << 40; break;
    default: break;
  }
  if (mult != 1) s.remove_suffix(1);
  if (s.empty() || s.size() > 12) return absl::InvalidArgumentError(absl::StrCat("bad size '", AV(s), "'"));
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return absl::InvalidArgumentError(absl::StrCat("bad size '", AV(s), "'"));
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v * mult;
}

uint64_t DefaultMemoryBudget() {
  long pages = ::sysconf(_SC_PHYS_PAGES);
  long page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return uint64_t{1} << 30;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 4;
}

std::string DefaultTempDir() {
  const char* t = std::getenv("TMPDIR");
  return t != nullptr && *t != 0 ? std::string(t) : std::string("/tmp");
}

}  // namespace logtally::engine
