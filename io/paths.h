// Expanding command-line PATHs into the list of inputs to read.
//
// A file stays as it is; "-" is standard input; a directory stands for its
// regular files (not recursive, names starting with '.' skipped), ordered so
// that logrotate's generations come oldest first: for `fw.log`, `fw.log.1`,
// `fw.log.2.gz`, the order is `fw.log.2.gz`, `fw.log.1`, `fw.log`. A PATH that
// does not exist is reported as an error value and the rest go on.
#ifndef LOGTALLY_IO_PATHS_H_
#define LOGTALLY_IO_PATHS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "io/input.h"

namespace logtally::io {

struct ExpandedPaths {
  std::vector<InputSpec> inputs;
  std::vector<absl::Status> errors;  // one per PATH that could not be listed
};

ExpandedPaths ExpandPaths(const std::vector<std::string>& paths);

// Sorts file names in rotation order (oldest generation first). Exposed for tests.
void SortRotated(std::vector<std::string>& names);

}  // namespace logtally::io

#endif  // LOGTALLY_IO_PATHS_H_
