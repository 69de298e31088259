// Decoding ahead on a thread of its own.
//
// A decompressor is the serial part of counting an archive: one core decodes
// while the others parse. Run as the first stage of a TBB pipeline, the
// decoding thread also carries each chunk it cut through the parsing stage,
// and no chunk is decoded meanwhile, so the decoder (the critical path) idles
// for half the run on two cores. ReadAheadChunker moves it to a thread of its
// own that keeps a few chunks ready in a bounded queue; pipeline workers only
// take chunks, and wait (asleep, leaving the core to the decoder) when none is
// ready.
//
// When the workers fall behind (the queue holds `help_at` chunks), the
// decoding thread counts the chunk it just cut itself (SetHelper) instead of
// queueing it. So with one worker beside it, two threads use both cores
// whichever side is slower, and no third thread competes with the decoder.
#ifndef LOGTALLY_IO_READ_AHEAD_H_
#define LOGTALLY_IO_READ_AHEAD_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "io/chunker.h"

namespace logtally::io {

class ReadAheadChunker final : public Chunker {
 public:
  // Takes `inner` and starts reading it at once, keeping up to `depth`
  // chunks ready.
  ReadAheadChunker(std::unique_ptr<Chunker> inner, size_t depth);
  ~ReadAheadChunker() override;  // stops the reader and waits for it
  ReadAheadChunker(const ReadAheadChunker&) = delete;
  ReadAheadChunker& operator=(const ReadAheadChunker&) = delete;

  // The next chunk in order; the inner chunker's error, in its place in the
  // order (after every good chunk before it); false at the end.
  absl::StatusOr<bool> Next(Chunk& chunk) override;
  void Recycle(Chunk& chunk) override { inner_->Recycle(chunk); }
  // `help` processes and recycles a chunk on the decoding thread, or returns
  // false to have it queued as usual. Called with chunks in no set order,
  // when at least `help_at` chunks wait in the queue.
  void SetHelper(std::function<bool(Chunk&)> help, size_t help_at);
  uint64_t raw_offset() const override { return raw_offset_.load(std::memory_order_relaxed); }
  // Valid once Next has returned the end or an error.
  uint64_t dropped_bytes() const override { return inner_->dropped_bytes(); }

 private:
  void Run();

  std::unique_ptr<Chunker> inner_;
  const size_t depth_;
  std::mutex mu_;
  std::condition_variable ready_;  // a chunk, the end or an error arrived
  std::condition_variable room_;   // a chunk was taken, or stop was asked
  std::deque<Chunk> queue_;
  bool finished_ = false;          // the reader has pushed its last chunk
  absl::Status error_;             // the inner chunker's error, after the queue
  bool stop_ = false;
  std::atomic<uint64_t> raw_offset_{0};
  std::function<bool(Chunk&)> help_;  // guarded by mu_
  size_t help_at_ = 0;
  std::thread thread_;
};

}  // namespace logtally::io

#endif  // LOGTALLY_IO_READ_AHEAD_H_
