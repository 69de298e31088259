#include "engine/external_merge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/key.h"
#include "engine/run_options.h"

namespace logtally::engine {
namespace {

// A one-column key holding `value`.
std::string KeyOf(const std::string& value) {
  std::string k;
  AppendKeyValue(k, value);
  return k;
}

// A spill file of (key, count) records, written as Spiller::Spill writes them.
std::unique_ptr<TempFile> SpillFile(const std::vector<std::pair<std::string, uint64_t>>& records) {
  absl::StatusOr<std::unique_ptr<TempFile>> f = TempFile::Create(DefaultTempDir());
  EXPECT_TRUE(f.ok()) << f.status();
  GatherWriter w;
  for (const auto& [key, count] : records) {
    w.Varint(key.size());
    w.Ref(key);
    w.Varint(count);
    w.EndRecord();
    if (w.full()) {
      EXPECT_TRUE(w.FlushTo(**f).ok());
    }
  }
  EXPECT_TRUE(w.FlushTo(**f).ok());
  return std::move(*f);
}

struct Got {
  uint64_t count;
  std::string display, key;
  bool operator==(const Got&) const = default;
};

class CollectSink : public RowSink {
 public:
  absl::Status Begin(const RunStats&) override { return absl::OkStatus(); }
  absl::Status Add(const Row& r) override {
    rows.push_back({r.count, std::string(r.display), std::string(r.key)});
    return absl::OkStatus();
  }
  std::vector<Got> rows;
};

// The rows a merge must give for one-column keys of plain ASCII values:
// counts summed per value, count descending, then value ascending.
std::vector<Got> Expected(const std::map<std::string, uint64_t>& counts, size_t top) {
  std::vector<Got> rows;
  for (const auto& [v, c] : counts) rows.push_back({c, v, KeyOf(v)});
  std::sort(rows.begin(), rows.end(), [](const Got& a, const Got& b) {
    return a.count != b.count ? a.count > b.count : a.display < b.display;
  });
  if (top > 0 && rows.size() > top) rows.resize(top);
  return rows;
}

ExternalMergeOptions Options(uint64_t share, uint64_t merge_memory, size_t top = 0) {
  ExternalMergeOptions o;
  o.dir = DefaultTempDir();
  o.ncol = 1;
  o.top = top;
  o.share = share;
  o.merge_memory = merge_memory;
  return o;
}

// 20,000 values, each spilled twice (as two threads would), in a partition
// far larger than its share of memory: it is split by further hash bits into
// several runs, and the merge still gives every group once, summed, in order.
TEST(ExternalMergeTest, RepartitionKeepsEveryGroupOnce) {
  std::vector<std::pair<std::string, uint64_t>> records;
  std::map<std::string, uint64_t> counts;
  for (int i = 0; i < 20000; ++i) {
    std::string v = absl::StrCat("value-", i * 7919 % 20000);
    const uint64_t a = 1 + i % 5, b = 1 + i % 3;
    records.emplace_back(KeyOf(v), a);
    counts[v] += a;
    records.emplace_back(KeyOf(v), b);
    counts[v] += b;
  }
  for (size_t top : {size_t{0}, size_t{10}}) {
    ExternalMerge ex(Options(/*share=*/size_t{64} << 10, /*merge_memory=*/size_t{1} << 20, top));
    ex.Aggregate(SpillFile(records), kPartitionBits);
    ASSERT_TRUE(ex.error().ok()) << ex.error();
    EXPECT_GT(ex.runs(), 1u) << "the partition should have been split";
    EXPECT_EQ(ex.groups(), counts.size());
    CollectSink sink;
    ASSERT_TRUE(ex.Merge(sink).ok());
    EXPECT_EQ(sink.rows, Expected(counts, top)) << "top " << top;
  }
}

// When the hash has no bits left to split a partition by, the run fails with
// an error that names the remedy, instead of looping or running out of memory.
TEST(ExternalMergeTest, RepartitionWithoutHashBitsLeftFails) {
  std::vector<std::pair<std::string, uint64_t>> records;
  for (int i = 0; i < 5000; ++i) records.emplace_back(KeyOf(absl::StrCat("v", i)), 1);
  ExternalMerge ex(Options(/*share=*/size_t{4} << 10, /*merge_memory=*/size_t{1} << 20));
  ex.Aggregate(SpillFile(records), /*bits_used=*/60);
  EXPECT_EQ(ex.error().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(ex.error().message().find("--memory"), std::string_view::npos);
}

// More runs than the merge memory has read buffers for: runs are merged into
// longer runs first, in passes, and the result is the same as one merge.
TEST(ExternalMergeTest, MultiPassMergeMatchesOneMerge) {
  constexpr int kRuns = 9;
  std::vector<std::vector<std::pair<std::string, uint64_t>>> files(kRuns);
  std::map<std::string, uint64_t> counts;
  for (int i = 0; i < 3000; ++i) {
    std::string v = absl::StrCat("k", i);
    const uint64_t c = 1 + (i * 31) % 17;  // many equal counts: order by value matters
    files[i % kRuns].emplace_back(KeyOf(v), c);
    counts[v] += c;
  }
  for (size_t top : {size_t{0}, size_t{25}}) {
    for (uint64_t merge_memory : {uint64_t{2} * kMinRunBuffer, uint64_t{1} << 30}) {
      ExternalMerge ex(Options(/*share=*/uint64_t{1} << 30, merge_memory, top));
      for (const auto& f : files) ex.Aggregate(SpillFile(f), kPartitionBits);
      ASSERT_TRUE(ex.error().ok()) << ex.error();
      ASSERT_EQ(ex.runs(), static_cast<size_t>(kRuns));
      const uint64_t before = ex.spilled_bytes();
      CollectSink sink;
      ASSERT_TRUE(ex.Merge(sink).ok());
      // Two read buffers: nine runs take several passes, each writing runs.
      const bool passes = merge_memory < (uint64_t{1} << 30);
      EXPECT_EQ(ex.spilled_bytes() > before, passes) << merge_memory;
      EXPECT_EQ(sink.rows, Expected(counts, top)) << "top " << top << ", memory " << merge_memory;
    }
  }
}

}  // namespace
}  // namespace logtally::engine
