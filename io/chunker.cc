#include "io/chunker.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace logtally::io {

// ---- SliceChunker -----------------------------------------------------------

SliceChunker::SliceChunker(std::string_view data, size_t chunk_size, MappedFile mapping)
    : mapping_(std::move(mapping)), data_(data), chunk_size_(std::max<size_t>(chunk_size, 1)) {}

absl::StatusOr<bool> SliceChunker::Next(Chunk& chunk) {
  if (pos_ >= data_.size()) return false;
  size_t end = pos_ + std::min(chunk_size_, data_.size() - pos_);
  if (end < data_.size()) {
    // Extend to the end of the line that straddles the cut.
    const void* nl = std::memchr(data_.data() + end - 1, '\n', data_.size() - (end - 1));
    end = nl == nullptr ? data_.size() : static_cast<const char*>(nl) - data_.data() + 1;
  }
  chunk.data = data_.substr(pos_, end - pos_);
  mapping_.Populate(pos_, end - pos_);
  if (in_flight_ > 0) {
    // The chunk handed out in_flight_ calls ago is done: drop its pages.
    if (ends_.size() < in_flight_) ends_.resize(in_flight_, 0);
    size_t slot = index_ % in_flight_;
    if (index_ >= in_flight_) released_ = mapping_.Release(released_, ends_[slot]);
    ends_[slot] = end;
  }
  chunk.offset = pos_;
  chunk.index = index_++;
  chunk.owned.reset();
  chunk.capacity = 0;
  pos_ = end;
  return true;
}

// ---- StreamChunker ----------------------------------------------------------

StreamChunker::StreamChunker(std::unique_ptr<ByteStream> stream, size_t chunk_size)
    : stream_(std::move(stream)), chunk_size_(std::max<size_t>(chunk_size, 1)) {}

BigBuffer StreamChunker::TakeBuffer(size_t capacity) {
  if (capacity == chunk_size_) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!pool_.empty()) {
      auto buf = std::move(pool_.back());
      pool_.pop_back();
      return buf;
    }
  }
  return BigBuffer(capacity);
}

void StreamChunker::Recycle(Chunk& chunk) {
  if (chunk.owned.get() != nullptr && chunk.capacity == chunk_size_) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    pool_.push_back(std::move(chunk.owned));
  }
  chunk.owned.reset();
}

absl::StatusOr<bool> StreamChunker::Next(Chunk& chunk) {
  if (!pending_.ok()) {
    absl::Status s = std::move(pending_);
    pending_ = absl::OkStatus();
    eof_ = true;
    return s;
  }
  if (eof_ && carry_.empty()) return false;

  // The buffer holds the carried-over partial line, then fresh bytes. It
  // doubles while it holds no newline, so a line of any length fits.
  size_t capacity = std::max(chunk_size_, carry_.size() + 1);
  if (capacity != chunk_size_) capacity = std::max(capacity, carry_.size() * 2);
  BigBuffer buf = TakeBuffer(capacity);
  size_t used = carry_.size();
  std::memcpy(buf.get(), carry_.data(), used);
  carry_.clear();
  size_t last_nl_end = 0;  // bytes up to and including the last '\n' seen
  size_t scanned = 0;      // bytes already searched for '\n'

  while (!eof_) {
    if (used == capacity) {
      if (last_nl_end > 0) break;  // a full buffer with whole lines: hand it out
      size_t grown = capacity * 2;
      BigBuffer bigger(grown);
      std::memcpy(bigger.get(), buf.get(), used);
      if (capacity == chunk_size_) {
        std::lock_guard<std::mutex> lock(pool_mu_);
        pool_.push_back(std::move(buf));
      }
      buf = std::move(bigger);
      capacity = grown;
    }
    absl::StatusOr<size_t> got = stream_->Read(buf.get() + used, capacity - used);
    if (!got.ok()) {
      pending_ = got.status();
      eof_ = true;
      break;
    }
    if (*got == 0) {
      eof_ = true;
      break;
    }
    used += *got;
    // Find the last newline among the new bytes.
    for (size_t i = used; i > scanned; --i) {
      if (buf.get()[i - 1] == '\n') {
        last_nl_end = i;
        break;
      }
    }
    scanned = used;
  }

  size_t take = used;
  if (!eof_ || !pending_.ok()) {
    // Keep the partial last line for the next buffer; after an error it can
    // never be completed, so it is dropped and reported.
    take = last_nl_end;
    if (!pending_.ok()) {
      dropped_ = used - take;
    } else {
      carry_.assign(buf.get() + take, used - take);
    }
  }
  if (take == 0) {
    if (capacity == chunk_size_) {
      std::lock_guard<std::mutex> lock(pool_mu_);
      pool_.push_back(std::move(buf));
    }
    if (!pending_.ok()) return Next(chunk);
    return false;
  }
  chunk.data = std::string_view(buf.get(), take);
  chunk.offset = offset_;
  chunk.index = index_++;
  chunk.owned = std::move(buf);
  chunk.capacity = capacity;
  offset_ += take;
  return true;
}

}  // namespace logtally::io
