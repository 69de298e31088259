// logtally-gen: writes a synthetic, deterministic netfilter log for tests and
// benchmarks of logtally. See datasets/README.md.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "datasets/gen/options.h"
#include "datasets/gen/pipeline.h"
#include "datasets/gen/timeline.h"
#include "datasets/gen/world.h"

namespace logtally::datasets {
namespace {

// Average bytes per line of each format with the default mix, measured on
// 1,000,000-line runs. --size uses it to guess how many events fill the
// requested size, so that the timestamps span the weekend whatever the size.
uint64_t AverageLineBytes(OutputFormat format) {
  switch (format) {
    case OutputFormat::kText: return 260;
    case OutputFormat::kJournald: return 722;
    case OutputFormat::kUlogd: return 924;
  }
  return 260;
}

int Main(int argc, char** argv) {
  Options options;
  std::string error;
  if (!ParseOptions(argc, argv, options, error)) {
    std::fprintf(stderr, "logtally-gen: %s\nTry 'logtally-gen --help' for more information.\n",
                 error.c_str());
    return 2;
  }
  if (options.help) {
    std::fwrite(UsageText().data(), 1, UsageText().size(), stdout);
    return 0;
  }
  unsigned threads = options.threads;
  if (threads == 0) threads = std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;

  const uint64_t expected =
      options.by_size ? options.size_bytes / AverageLineBytes(options.format) : options.lines;
  const World world(options.seed, options.src_count, options.dst_count);
  const Timeline timeline(expected);

  int fd = STDOUT_FILENO;
  const bool to_file = !options.output.empty() && options.output != "-";
  if (to_file) {
    fd = ::open(options.output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      std::fprintf(stderr, "logtally-gen: cannot open %s: %s\n", options.output.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }
  RunConfig config;
  config.world = &world;
  config.timeline = &timeline;
  config.seed = options.seed;
  config.format = options.format;
  config.threads = threads;
  config.fd = fd;
  config.limit_is_bytes = options.by_size;
  config.limit = options.by_size ? options.size_bytes : options.lines;
  RunStats stats;
  bool ok = RunPipeline(config, stats, error);
  if (to_file && ::close(fd) != 0 && ok) {
    error = std::string("close: ") + std::strerror(errno);
    ok = false;
  }
  if (!ok) {
    std::fprintf(stderr, "logtally-gen: %s: %s\n", to_file ? options.output.c_str() : "standard output",
                 error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace logtally::datasets

int main(int argc, char** argv) { return logtally::datasets::Main(argc, argv); }
