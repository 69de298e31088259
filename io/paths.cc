#include "io/paths.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace logtally::io {
namespace {

struct RotationKey {
  std::string base;
  long long generation;  // -1: the live file (newest); N: the Nth rotation
  std::string name;
};

RotationKey KeyOf(const std::string& name) {
  std::string_view s = name;
  for (std::string_view ext : {".gz", ".zst", ".bz2", ".xz"}) {
    if (s.size() > ext.size() && s.substr(s.size() - ext.size()) == ext) {
      s.remove_suffix(ext.size());
      break;
    }
  }
  size_t dot = s.rfind('.');
  if (dot != std::string_view::npos && dot + 1 < s.size() && s.size() - dot - 1 <= 9 &&
      std::all_of(s.begin() + dot + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return {std::string(s.substr(0, dot)), std::stoll(std::string(s.substr(dot + 1))), name};
  }
  return {std::string(s), -1, name};
}

}  // namespace

void SortRotated(std::vector<std::string>& names) {
  std::vector<RotationKey> keys;
  keys.reserve(names.size());
  for (const std::string& n : names) keys.push_back(KeyOf(n));
  // Same base: higher generation is older, so it comes first.
  std::sort(keys.begin(), keys.end(), [](const RotationKey& a, const RotationKey& b) {
    return std::tie(a.base, b.generation, a.name) < std::tie(b.base, a.generation, b.name);
  });
  for (size_t i = 0; i < keys.size(); ++i) names[i] = std::move(keys[i].name);
}

ExpandedPaths ExpandPaths(const std::vector<std::string>& paths) {
  ExpandedPaths out;
  for (const std::string& p : paths) {
    if (p == "-") {
      out.inputs.push_back({"-", "(standard input)"});
      continue;
    }
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
      out.errors.push_back(
          absl::NotFoundError(absl::StrCat(p, ": cannot open: ", std::strerror(errno))));
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      out.inputs.push_back({p, p});
      continue;
    }
    DIR* dir = ::opendir(p.c_str());
    if (dir == nullptr) {
      out.errors.push_back(absl::PermissionDeniedError(
          absl::StrCat(p, ": cannot list directory: ", std::strerror(errno))));
      continue;
    }
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      std::string full = absl::StrCat(p, p.back() == '/' ? "" : "/", e->d_name);
      struct stat fst {};
      if (::stat(full.c_str(), &fst) == 0 && S_ISREG(fst.st_mode)) names.emplace_back(e->d_name);
    }
    ::closedir(dir);
    SortRotated(names);
    for (const std::string& n : names) {
      std::string full = absl::StrCat(p, p.back() == '/' ? "" : "/", n);
      out.inputs.push_back({full, full});
    }
  }
  return out;
}

}  // namespace logtally::io
