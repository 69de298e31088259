// The plain-file block reader against the floor: PlainBlocks::Read over a
// file in the page cache, beside a plain pread(2) loop of the same block size
// into a page-aligned buffer, and the same loop one byte off (the offset and
// the destination disagreeing modulo the page size, the case the reader
// avoids). bytes/s of each, in the same run; checked: the blocks' lines add
// up to the file.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "bench/bench_data.h"
#include "benchmark/benchmark.h"
#include "io/big_alloc.h"
#include "io/plain_blocks.h"

namespace logtally::bench {
namespace {

constexpr size_t kBlock = size_t{1} << 20;  // the reader's default block

// The benchmark text written once to an unlinked temporary file; its pages
// stay in the page cache while the descriptor is open.
int SampleFile() {
  static const int fd = [] {
    char name[] = "/tmp/logtally-read-bench-XXXXXX";
    int f = ::mkstemp(name);
    if (f < 0) return -1;
    ::unlink(name);
    const std::string& t = SampleText();
    for (size_t off = 0; off < t.size();) {
      ssize_t n = ::pwrite(f, t.data() + off, t.size() - off, static_cast<off_t>(off));
      if (n <= 0) return -1;
      off += static_cast<size_t>(n);
    }
    return f;
  }();
  return fd;
}

void BM_PlainBlocks(benchmark::State& state) {
  const int fd = SampleFile();
  const uint64_t size = SampleText().size();
  io::PlainBlocks blocks(fd, false, "bench", 0, size, kBlock);
  io::BlockBuffer buf;
  for (auto _ : state) {
    uint64_t bytes = 0;
    for (size_t i = 0; i < blocks.count(); ++i) {
      absl::StatusOr<std::string_view> data = blocks.Read(i, buf);
      if (!data.ok()) {
        state.SkipWithError("read failed");
        return;
      }
      bytes += data->size();
    }
    if (bytes != size) state.SkipWithError("the blocks do not add up to the file");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}
BENCHMARK(BM_PlainBlocks)->Unit(benchmark::kMillisecond);

// A pread loop of kBlock-byte reads from `skew` bytes before each block
// boundary into a page-aligned buffer.
void PreadLoop(benchmark::State& state, uint64_t skew) {
  const int fd = SampleFile();
  const uint64_t size = SampleText().size();
  char* buf = static_cast<char*>(io::BigAlloc(2 * kBlock));
  for (auto _ : state) {
    uint64_t bytes = 0;
    for (uint64_t off = 0; off < size; off += kBlock) {
      const uint64_t from = off < skew ? off : off - skew;
      ssize_t n = ::pread(fd, buf, kBlock, static_cast<off_t>(from));
      if (n < 0) {
        state.SkipWithError("pread failed");
        break;
      }
      bytes += static_cast<uint64_t>(n);
    }
    benchmark::DoNotOptimize(bytes);
  }
  io::BigFree(buf, 2 * kBlock);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

void BM_PreadAligned(benchmark::State& state) { PreadLoop(state, 0); }
void BM_PreadOneByteOff(benchmark::State& state) { PreadLoop(state, 1); }
BENCHMARK(BM_PreadAligned)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PreadOneByteOff)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace logtally::bench
