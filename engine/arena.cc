#include "engine/arena.h"

#include <algorithm>

#include "io/big_alloc.h"

namespace logtally::engine {

void Arena::NextBlock(size_t n) {
  // After Reset, the kept blocks come first; then new ones.
  while (block_idx_ + 1 < blocks_.size() && n > left_) {
    ++block_idx_;
    cur_ = blocks_[block_idx_].p;
    left_ = blocks_[block_idx_].size;
  }
  if (n <= left_) return;
  size_t size = std::max(next_block_, n);
  next_block_ = std::min(next_block_ * 2, max_block_);
  blocks_.push_back(Block{static_cast<char*>(io::BigAlloc(size)), size});
  block_idx_ = blocks_.size() - 1;
  cur_ = blocks_.back().p;
  left_ = size;
  allocated_ += size;
}

void Arena::Reset() {
  used_total_ = 0;
  block_idx_ = 0;
  cur_ = blocks_.empty() ? nullptr : blocks_[0].p;
  left_ = blocks_.empty() ? 0 : blocks_[0].size;
}

void Arena::Trim() {
  std::erase_if(blocks_, [this](const Block& b) {
    if (b.size <= max_block_) return false;
    io::BigFree(b.p, b.size);
    allocated_ -= b.size;
    return true;
  });
  Reset();
}

void Arena::Clear() {
  for (const Block& b : blocks_) io::BigFree(b.p, b.size);
  blocks_.clear();
  cur_ = nullptr;
  left_ = 0;
  used_total_ = 0;
  allocated_ = 0;
  next_block_ = first_block_;
  block_idx_ = 0;
}

}  // namespace logtally::engine
