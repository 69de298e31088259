// Small string helpers shared by io, the engine and the CLI: the
// std::string_view to absl::string_view bridge, splitting on a character, and
// ASCII case folding. Nothing here knows about logs.
//
// Debian's abseil is built with its own absl::string_view (not an alias of
// std::string_view), so std::string_view must be converted explicitly (AV)
// before it is handed to StrCat and friends.
#ifndef LOGTALLY_IO_STRINGS_H_
#define LOGTALLY_IO_STRINGS_H_

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

// ASCII letters to lower case; every other byte as it is (no locale).
inline char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

// `s` equals the lower-case word `lower`, ignoring ASCII case in `s`.
inline bool EqualsIgnoreCase(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (LowerAscii(s[i]) != lower[i]) return false;
  }
  return true;
}

}  // namespace logtally

#endif  // LOGTALLY_IO_STRINGS_H_
