// Debian's abseil is built with its own absl::string_view (not an alias of
// std::string_view), so std::string_view must be converted explicitly before
// it is handed to StrCat and friends. This header is the one place for that.
#ifndef LOGTALLY_IO_ABSL_COMPAT_H_
#define LOGTALLY_IO_ABSL_COMPAT_H_

#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"

namespace logtally {

inline absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Splits `s` on `sep`; an empty `s` gives one empty piece, like StrSplit.
inline std::vector<std::string_view> SplitOn(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    if (p == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, p - start));
    start = p + 1;
  }
}

}  // namespace logtally

#endif  // LOGTALLY_IO_ABSL_COMPAT_H_
