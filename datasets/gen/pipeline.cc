// Block scheduling: a ring of slots, workers claim block numbers in order and
// fill slot (block % ring size); the writer drains slots in block order. The
// bytes of a block depend only on its number, so the output is the same for
// any thread count.
#include "datasets/gen/pipeline.h"

#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "datasets/gen/events.h"
#include "datasets/gen/out_buffer.h"

namespace logtally::datasets {
namespace {

struct Slot {
  OutBuffer buf;
  uint64_t lines = 0;
  uint64_t block = 0;
  bool ready = false;
};

uint64_t CountLines(const char* data, size_t n) {
  uint64_t lines = 0;
  for (const char* p = data; (p = static_cast<const char*>(std::memchr(p, '\n', data + n - p))); ++p) ++lines;
  return lines;
}

// Bytes up to and including the `k`-th '\n' (the block has at least k).
size_t EndOfLine(const char* data, size_t n, uint64_t k) {
  const char* p = data;
  for (uint64_t i = 0; i < k; ++i) p = static_cast<const char*>(std::memchr(p, '\n', data + n - p)) + 1;
  return static_cast<size_t>(p - data);
}

bool WriteAll(int fd, const char* data, size_t n, std::string& error) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      error = std::string("write error: ") + std::strerror(errno);
      return false;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

class Pipeline {
 public:
  explicit Pipeline(const RunConfig& config)
      // Two slots per worker keep every worker busy while the writer drains
      // one; two more absorb uneven block times.
      : config_(config), slots_(2 * config.threads + 2) {}

  bool Run(RunStats& stats, std::string& error) {
    if (config_.limit == 0) return true;
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < config_.threads; ++t) workers.emplace_back([this] { Work(); });
    const bool ok = Drain(stats, error);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    worker_cv_.notify_all();
    for (std::thread& t : workers) t.join();
    return ok;
  }

 private:
  void Work() {
    Formatter formatter(config_.format);
    Event ev;
    const uint64_t ring = slots_.size();
    for (;;) {
      uint64_t block;
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (stop_) return;
        block = next_block_++;
        // The slot is free once the block that used it last is written.
        worker_cv_.wait(lock, [&] { return stop_ || block < written_ + ring; });
        if (stop_) return;
      }
      Slot& slot = slots_[block % ring];
      slot.buf.Clear();
      slot.lines = 0;
      BlockGenerator gen(*config_.world, *config_.timeline, config_.seed, block);
      for (uint64_t i = 0; i < kBlockEvents; ++i) {
        slot.buf.Reserve(kMaxEventBytes);
        gen.Next(ev);
        if (formatter.Format(ev, slot.buf)) ++slot.lines;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        slot.block = block;
        slot.ready = true;
      }
      writer_cv_.notify_one();
    }
  }

  bool Drain(RunStats& stats, std::string& error) {
    const uint64_t ring = slots_.size();
    for (uint64_t block = 0;; ++block) {
      Slot& slot = slots_[block % ring];
      {
        std::unique_lock<std::mutex> lock(mu_);
        writer_cv_.wait(lock, [&] { return slot.ready && slot.block == block; });
      }
      const char* data = slot.buf.data();
      size_t n = slot.buf.size();
      uint64_t lines = slot.lines;
      bool last = false;
      if (config_.limit_is_bytes) {
        const uint64_t room = config_.limit - stats.bytes;
        if (n >= room) {
          // Keep whole lines only: cut after the last '\n' within `room`.
          const void* nl = room ? ::memrchr(data, '\n', room) : nullptr;
          n = nl ? static_cast<size_t>(static_cast<const char*>(nl) - data) + 1 : 0;
          lines = CountLines(data, n);
          last = true;
        }
      } else {
        const uint64_t room = config_.limit - stats.lines;
        if (lines >= room) {
          // Cut after the room-th '\n'.
          n = EndOfLine(data, n, room);
          lines = room;
          last = true;
        }
      }
      if (!WriteAll(config_.fd, data, n, error)) return false;
      stats.bytes += n;
      stats.lines += lines;
      {
        std::lock_guard<std::mutex> lock(mu_);
        slot.ready = false;
        written_ = block + 1;
      }
      worker_cv_.notify_all();
      if (last) return true;
    }
  }

  const RunConfig& config_;
  std::vector<Slot> slots_;
  std::mutex mu_;
  std::condition_variable worker_cv_, writer_cv_;
  uint64_t next_block_ = 0;  // next block number a worker claims
  uint64_t written_ = 0;     // blocks fully handed to write(2)
  bool stop_ = false;
};

}  // namespace

bool RunPipeline(const RunConfig& config, RunStats& stats, std::string& error) {
  Pipeline pipeline(config);
  return pipeline.Run(stats, error);
}

}  // namespace logtally::datasets
