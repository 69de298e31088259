// The count table's memory reuse: an Arena reset keeps its blocks and hands
// them out again; a reused HashTable starts empty and counts exactly.
#include "engine/count_table.h"

#include <map>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace logtally::engine {
namespace {

TEST(CountTableTest, ArenaResetReusesBlocksAndKeepsCopiesIntact) {
  Arena a;
  std::mt19937_64 rng(5);
  for (int round = 0; round < 4; ++round) {
    std::vector<std::pair<const char*, std::string>> copies;
    for (int i = 0; i < 3000; ++i) {
      std::string s(rng() % (i % 100 == 0 ? 70000 : 200), static_cast<char>('a' + round));
      s += std::to_string(i);
      copies.emplace_back(a.Copy(s), s);
    }
    for (const auto& [p, s] : copies) ASSERT_EQ(std::string(p, s.size()), s);
    size_t held = a.bytes_allocated();
    a.Reset();
    EXPECT_EQ(a.bytes_used(), 0u);
    EXPECT_EQ(a.bytes_allocated(), held);  // nothing freed
  }
}

TEST(CountTableTest, ReusedTableCountsExactly) {
  HashTable t;
  Arena keys;
  std::mt19937_64 rng(9);
  for (size_t groups : {10, 5000, 100, 20000, 3}) {
    t.Reuse(groups);
    keys.Reset();
    std::map<std::string, uint64_t> want;
    for (size_t i = 0; i < groups * 3; ++i) {
      std::string k = std::to_string(rng() % groups);
      k += ".k";
      ++want[k];
      t.Add(HashBytes(k.data(), k.size()), k, 1, &keys);
    }
    std::map<std::string, uint64_t> got;
    for (const Entry& e : t.slots()) {
      if (e.key != nullptr) got[std::string(e.view())] += e.count;
    }
    EXPECT_EQ(got, want) << groups << " groups";
    EXPECT_EQ(t.size(), want.size());
  }
}

}  // namespace
}  // namespace logtally::engine
