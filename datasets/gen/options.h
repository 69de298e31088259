// Command-line options of logtally-gen and their parsing.
#ifndef LOGTALLY_DATASETS_GEN_OPTIONS_H_
#define LOGTALLY_DATASETS_GEN_OPTIONS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "datasets/gen/formats.h"

namespace logtally::datasets {

struct Options {
  // Exactly one of lines / size applies; lines is the default.
  bool by_size = false;
  uint64_t lines = 100000;
  uint64_t size_bytes = 0;
  uint64_t seed = 1;
  uint32_t dst_count = 5000;
  uint32_t src_count = 200;
  OutputFormat format = OutputFormat::kText;
  unsigned threads = 0;  // 0: one per hardware thread
  std::string output;    // empty or "-": standard output
  bool help = false;
};

// Parses argv. On a usage error returns false with a one-line message.
bool ParseOptions(int argc, char** argv, Options& options, std::string& error);

std::string_view UsageText();

}  // namespace logtally::datasets

#endif  // LOGTALLY_DATASETS_GEN_OPTIONS_H_
