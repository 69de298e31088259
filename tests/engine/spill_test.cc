#include "engine/spill.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace logtally::engine {
namespace {

std::string TempDir() {
  const char* t = std::getenv("TMPDIR");
  return t != nullptr && *t != 0 ? t : "/tmp";
}

// Records gathered with GatherWriter (short keys copied, long ones written
// from where they lie, flushed whenever it says it is full) read back as the
// same records, in order, through SpillRecordReader; the file counts them.
TEST(GatherWriterTest, RecordsReadBackExactly) {
  std::mt19937_64 rng(5);
  std::vector<std::string> keys;
  std::vector<uint64_t> counts;
  for (int i = 0; i < 20000; ++i) {
    size_t len = rng() % 4 == 0 ? rng() % 2000 : rng() % 200;  // both sides of the copy limit
    std::string k(len, '\0');
    for (char& c : k) c = static_cast<char>(rng());
    keys.push_back(std::move(k));
    counts.push_back(rng() % 3 == 0 ? rng() : rng() % 300);
  }
  absl::StatusOr<std::unique_ptr<TempFile>> f = TempFile::Create(TempDir());
  ASSERT_TRUE(f.ok()) << f.status();
  GatherWriter w;
  uint64_t expect_bytes = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    w.Varint(keys[i].size());
    w.Ref(keys[i]);
    w.Varint(counts[i]);
    w.EndRecord();
    if (w.full()) {
      expect_bytes += w.bytes();
      ASSERT_TRUE(w.FlushTo(**f).ok());
      EXPECT_EQ(w.bytes(), 0u);
    }
  }
  expect_bytes += w.bytes();
  ASSERT_TRUE(w.FlushTo(**f).ok());
  EXPECT_EQ((*f)->size(), expect_bytes);
  EXPECT_EQ((*f)->records(), keys.size());
  // About 6 MB through a 1 MiB buffer: the reader punches out what it has
  // used as it goes (TempFile::Discard), which must not touch what is ahead.
  ASSERT_GT((*f)->size(), uint64_t{4} << 20);
  SpillRecordReader r(f->get());
  std::string_view key;
  uint64_t count = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    absl::StatusOr<bool> more = r.Next(&key, &count);
    ASSERT_TRUE(more.ok() && *more) << i;
    ASSERT_EQ(key, keys[i]) << i;
    ASSERT_EQ(count, counts[i]) << i;
  }
  absl::StatusOr<bool> more = r.Next(&key, &count);
  EXPECT_TRUE(more.ok() && !*more);
}

TEST(GatherWriterTest, VarintRoundTrip) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{300},
                     uint64_t{1} << 35, ~uint64_t{0}}) {
    std::string s;
    AppendVarint(s, v);
    uint64_t got = 0;
    EXPECT_EQ(ParseVarint(s.data(), s.size(), &got), s.size());
    EXPECT_EQ(got, v);
    EXPECT_EQ(ParseVarint(s.data(), s.size() - 1, &got), 0u) << "a short varint is refused";
  }
}

}  // namespace
}  // namespace logtally::engine
