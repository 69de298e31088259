// Bump allocation of bytes that die together: the count tables' keys, the
// display text of rows, a JSON line's decoded strings. Blocks never move, so
// a pointer handed out stays valid until Reset (which keeps the blocks for
// reuse, touching no fresh page) or Clear (which frees them).
//
// Blocks come from io::BigAlloc. They start at `first_block` bytes and double
// up to `max_block`; a request larger than that gets a block of its own size.
// This file knows nothing of what the bytes are.
#ifndef LOGTALLY_ENGINE_ARENA_H_
#define LOGTALLY_ENGINE_ARENA_H_

#include <cstddef>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

namespace logtally::engine {

// Arena blocks grow to 2 MiB by default: large enough that allocation is a
// pointer bump and a block is one huge page. They start at 4 KiB, so a table
// with a handful of groups (64 partitions' worth of display arenas) stays
// small.
inline constexpr size_t kArenaBlock = size_t{2} << 20;
inline constexpr size_t kArenaFirstBlock = size_t{4} << 10;

class Arena {
 public:
  explicit Arena(size_t first_block = kArenaFirstBlock, size_t max_block = kArenaBlock)
      : next_block_(first_block), first_block_(first_block), max_block_(max_block) {}
  Arena(Arena&& o) noexcept { *this = std::move(o); }
  Arena& operator=(Arena&& o) noexcept {
    if (this != &o) {
      Clear();
      blocks_ = std::move(o.blocks_);
      cur_ = o.cur_;
      left_ = o.left_;
      used_total_ = o.used_total_;
      allocated_ = o.allocated_;
      next_block_ = o.next_block_;
      first_block_ = o.first_block_;
      max_block_ = o.max_block_;
      block_idx_ = o.block_idx_;
      o.blocks_.clear();
      o.Clear();
    }
    return *this;
  }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() { Clear(); }

  // `n` bytes, valid until Reset or Clear. Inline: called once per new group
  // and per decoded JSON string.
  char* Alloc(size_t n) {
    if (n > left_) NextBlock(n);
    char* p = cur_;
    cur_ += n;
    left_ -= n;
    used_total_ += n;
    return p;
  }
  const char* Copy(std::string_view s) {
    char* dst = Alloc(s.size());
    if (!s.empty()) std::memcpy(dst, s.data(), s.size());
    return dst;
  }
  // Forgets every allocation but keeps the blocks for reuse (no fresh pages).
  void Reset();
  // Reset, and frees the blocks larger than max_block (made for one huge
  // request) so they do not stay with the arena for good.
  void Trim();
  // Frees every block.
  void Clear();
  size_t bytes_used() const { return used_total_; }
  size_t bytes_allocated() const { return allocated_; }

 private:
  // Makes cur_ point at room for n bytes: the next kept block with room
  // (after Reset), else a new block.
  void NextBlock(size_t n);

  struct Block {
    char* p;
    size_t size;
  };
  std::vector<Block> blocks_;
  char* cur_ = nullptr;
  size_t left_ = 0;
  size_t used_total_ = 0;
  size_t allocated_ = 0;
  size_t next_block_ = kArenaFirstBlock;
  size_t first_block_ = kArenaFirstBlock;
  size_t max_block_ = kArenaBlock;
  size_t block_idx_ = 0;  // the block cur_ points into
};

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_ARENA_H_
