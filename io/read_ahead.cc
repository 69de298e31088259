#include "io/read_ahead.h"

#include <algorithm>
#include <utility>

namespace logtally::io {

ReadAheadChunker::ReadAheadChunker(std::unique_ptr<Chunker> inner, size_t depth)
    : inner_(std::move(inner)), depth_(std::max<size_t>(depth, 1)) {
  thread_ = std::thread([this] { Run(); });
}

ReadAheadChunker::~ReadAheadChunker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  room_.notify_all();
  thread_.join();
  for (Chunk& c : queue_) inner_->Recycle(c);
}

void ReadAheadChunker::Run() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      room_.wait(lock, [this] { return stop_ || queue_.size() < depth_; });
      if (stop_) return;
    }
    Chunk chunk;
    absl::StatusOr<bool> more = inner_->Next(chunk);
    raw_offset_.store(inner_->raw_offset(), std::memory_order_relaxed);
    if (more.ok() && *more) {
      std::function<bool(Chunk&)> help;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (help_ && queue_.size() >= help_at_) help = help_;
      }
      if (help && help(chunk)) continue;
    }
    bool last = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!more.ok()) {
        // An error ends the input, as it ends the pipeline: it is handed
        // out after every chunk before it.
        error_ = more.status();
        last = true;
      } else if (!*more) {
        last = true;
      } else {
        queue_.push_back(std::move(chunk));
      }
      finished_ = last;
    }
    ready_.notify_one();
    if (last) return;
  }
}

void ReadAheadChunker::SetHelper(std::function<bool(Chunk&)> help, size_t help_at) {
  std::lock_guard<std::mutex> lock(mu_);
  help_ = std::move(help);
  help_at_ = std::max<size_t>(help_at, 1);
}

absl::StatusOr<bool> ReadAheadChunker::Next(Chunk& chunk) {
  std::unique_lock<std::mutex> lock(mu_);
  ready_.wait(lock, [this] { return !queue_.empty() || finished_; });
  if (!queue_.empty()) {
    chunk = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    room_.notify_one();
    return true;
  }
  if (!error_.ok()) {
    absl::Status s = std::move(error_);
    error_ = absl::OkStatus();
    return s;
  }
  return false;
}

}  // namespace logtally::io
