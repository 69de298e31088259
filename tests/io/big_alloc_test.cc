#include "io/big_alloc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

namespace logtally::io {
namespace {

bool AllZero(const void* p, size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) {
    if (b[i] != 0) return false;
  }
  return true;
}

struct Block {
  char* p;
  size_t n;
};

// Blocks never overlap, always come zeroed (also when the memory is reused),
// and small ones are aligned to their power-of-two size, as a buddy system's
// are.
TEST(BigAlloc, ZeroedDisjointAndAligned) {
  std::mt19937_64 rng(7);
  std::vector<Block> live;
  for (int round = 0; round < 4000; ++round) {
    if (!live.empty() && rng() % 3 == 0) {
      size_t i = rng() % live.size();
      BigFree(live[i].p, live[i].n);
      live[i] = live.back();
      live.pop_back();
      continue;
    }
    // Mostly small sizes, of any length, some over 2 MiB.
    size_t n = rng() % 50 == 0 ? (size_t{2} << 20) + rng() % (size_t{3} << 20) : 1 + rng() % 70000;
    char* p = static_cast<char*>(BigAlloc(n));
    ASSERT_TRUE(AllZero(p, n)) << "size " << n;
    if (n < (size_t{2} << 20)) {
      size_t block = 512;
      while (block < n) block *= 2;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % block, 0u) << "size " << n;
    } else {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % (size_t{2} << 20), 0u);
    }
    std::memset(p, 0xab, n);  // dirty it: the next user must get zeroes
    for (const Block& b : live) {
      ASSERT_TRUE(p + n <= b.p || b.p + b.n <= p) << "overlap";
    }
    live.push_back({p, n});
  }
  for (const Block& b : live) BigFree(b.p, b.n);
}

// Freeing everything gives the memory back: buddies merge into whole chunks,
// and all but a few spare chunks are unmapped.
TEST(BigAlloc, FreeingEverythingReturnsMemory) {
  const size_t before = GetBigAllocStats().mapped_bytes;
  std::vector<Block> blocks;
  for (int i = 0; i < 5000; ++i) {
    size_t n = size_t{512} << (i % 9);  // 512 B .. 128 KiB
    blocks.push_back({static_cast<char*>(BigAlloc(n)), n});
  }
  const BigAllocStats during = GetBigAllocStats();
  EXPECT_GT(during.mapped_bytes, before + (size_t{64} << 20));
  // Free in an order unrelated to the allocation order.
  std::mt19937_64 rng(3);
  std::shuffle(blocks.begin(), blocks.end(), rng);
  for (const Block& b : blocks) BigFree(b.p, b.n);
  const BigAllocStats after = GetBigAllocStats();
  EXPECT_LE(after.mapped_bytes, before + (size_t{8} << 20));
  EXPECT_EQ(after.live_blocks, during.live_blocks - blocks.size());
}

// Several threads allocating and freeing at once (a table grows on each
// counting thread) keep every block to itself.
TEST(BigAlloc, ThreadsDoNotShareBlocks) {
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &failures] {
      std::mt19937_64 rng(static_cast<uint64_t>(t) + 11);
      std::vector<Block> mine;
      for (int i = 0; i < 3000; ++i) {
        size_t n = 1 + rng() % 40000;
        char* p = static_cast<char*>(BigAlloc(n));
        if (!AllZero(p, n)) ++failures[static_cast<size_t>(t)];
        std::memset(p, t + 1, n);
        mine.push_back({p, n});
        if (mine.size() > 50) {
          Block b = mine[rng() % mine.size()];
          for (size_t k = 0; k < b.n; ++k) {
            if (b.p[k] != static_cast<char>(t + 1)) {
              ++failures[static_cast<size_t>(t)];
              break;
            }
          }
          auto it = std::find_if(mine.begin(), mine.end(), [&](const Block& x) { return x.p == b.p; });
          BigFree(it->p, it->n);
          mine.erase(it);
        }
      }
      for (const Block& b : mine) BigFree(b.p, b.n);
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

TEST(BigAlloc, RowVectorStyleAllocator) {
  std::vector<uint64_t, UninitBigAllocator<uint64_t>> v(100000);
  // Fresh memory: zero, though resize() wrote nothing.
  for (uint64_t x : v) ASSERT_EQ(x, 0u);
  for (size_t i = 0; i < v.size(); ++i) v[i] = i;
  v.push_back(7);
  EXPECT_EQ(v[99999], 99999u);
  EXPECT_EQ(v.back(), 7u);
}

}  // namespace
}  // namespace logtally::io
