#include "engine/tally.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/key.h"
#include "engine/run_options.h"
#include "engine/tally_merge.h"

namespace logtally::engine {
namespace {

// A scratch directory, removed with its files at the end of the test.
class TallyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = DefaultTempDir() + "/tally_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const std::string& f : files_) ::unlink(f.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string Path(const std::string& name) {
    files_.push_back(dir_ + "/" + name);
    return files_.back();
  }
  std::string dir_;
  std::vector<std::string> files_;
};

std::string KeyOf(std::initializer_list<std::string_view> values) {
  std::string k;
  for (std::string_view v : values) AppendKeyValue(k, v);
  return k;
}

TallyMeta SomeMeta() {
  TallyMeta m;
  m.written_by = "logtally test";
  m.key = {"DST", "DPT"};
  m.where = {"PROTO=UDP"};
  m.params = {{"input", "auto"}};
  TallyInput in;
  in.path = "fw.log";
  in.format = "plain";
  in.size = in.read = in.decoded = 1234;
  in.head_bytes = 1234;
  in.head = "0123456789abcdef";
  m.inputs.push_back(in);
  m.totals.lines = m.totals.records = m.totals.counted = 100;
  return m;
}

// Groups spread over every partition, in several runs of one partition:
// written, then read back run by run, every record as it went in.
absl::Status WriteTally(const std::string& path, const std::map<std::string, uint64_t>& groups,
                        const TallyMeta& meta) {
  TallyWriter w(DefaultTempDir());
  std::vector<std::map<std::string, uint64_t>> parts(kPartitions);
  for (const auto& [k, c] : groups) parts[PartitionedTable::PartitionOf(HashBytes(k.data(), k.size()))][k] = c;
  for (size_t p = 0; p < kPartitions; ++p) {
    if (parts[p].empty()) continue;
    TallyWriter::Run run(w, p);
    for (const auto& [k, c] : parts[p]) {
      if (absl::Status s = run.Add(k, c); !s.ok()) return s;
    }
    if (absl::Status s = run.Finish(); !s.ok()) return s;
  }
  absl::StatusOr<io::OutputFile> out = io::OutputFile::Open(path);
  if (!out.ok()) return out.status();
  if (absl::Status s = w.Write(meta, *out); !s.ok()) return s;
  return out->Commit();
}

std::map<std::string, uint64_t> ReadAll(const TallyFile& f) {
  std::map<std::string, uint64_t> got;
  for (size_t p = 0; p < kPartitions; ++p) {
    for (const auto& run : f.runs(p)) {
      TallyRunReader r(f, run);
      for (;;) {
        absl::StatusOr<bool> more = r.Next();
        EXPECT_TRUE(more.ok()) << more.status();
        if (!more.ok() || !*more) break;
        got[std::string(r.key())] += r.count();
        EXPECT_EQ(PartitionedTable::PartitionOf(HashBytes(r.key().data(), r.key().size())), p);
      }
    }
  }
  return got;
}

std::map<std::string, uint64_t> ManyGroups(int n, int salt) {
  std::map<std::string, uint64_t> g;
  for (int i = 0; i < n; ++i) {
    g[KeyOf({absl::StrCat("10.", i % 251, ".", (i * 7 + salt) % 253, ".1"), absl::StrCat(i % 1000)})] =
        1 + static_cast<uint64_t>((i * 13 + salt) % 97);
  }
  return g;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

TEST_F(TallyTest, RoundTripKeepsEveryGroupAndTheMetadata) {
  const std::string path = Path("a.tally");
  const auto groups = ManyGroups(200000, 1);  // several blocks per partition
  ASSERT_TRUE(WriteTally(path, groups, SomeMeta()).ok());
  absl::StatusOr<std::unique_ptr<TallyFile>> f = TallyFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(ReadAll(**f), groups);
  EXPECT_GT((*f)->blocks().size(), kPartitions);
  const TallyMeta& m = (*f)->meta();
  EXPECT_EQ(m.key, SomeMeta().key);
  EXPECT_EQ(m.where, SomeMeta().where);
  EXPECT_EQ(m.params, SomeMeta().params);
  EXPECT_EQ(m.totals.groups, groups.size());  // set by the writer
  ASSERT_EQ(m.inputs.size(), 1u);
  EXPECT_EQ(m.inputs[0].path, "fw.log");
  EXPECT_EQ(m.inputs[0].head, "0123456789abcdef");
  EXPECT_TRUE((*f)->Verify().ok());
}

// Bytes that are not UTF-8 (a path, a condition on a binary value) come
// back exactly.
TEST_F(TallyTest, MetadataKeepsAnyBytes) {
  TallyMeta m = SomeMeta();
  m.inputs[0].path = std::string("/var/log/\xff\xfe\"quoted\"\n.log");
  m.where = {std::string("line=\x01\x80")};
  m.has_span = true;
  m.first = -5;
  m.last = 1709942400;
  absl::StatusOr<TallyMeta> back = MetaFromJson(MetaToJson(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->inputs[0].path, m.inputs[0].path);
  EXPECT_EQ(back->where, m.where);
  EXPECT_TRUE(back->has_span);
  EXPECT_EQ(back->first, -5);
  EXPECT_EQ(back->last, 1709942400);
}

// One flipped bit anywhere in a data block: that block is named when it is
// read; in the metadata, index or trailer: the file is refused at open.
TEST_F(TallyTest, DamageIsFoundAndNamed) {
  const std::string path = Path("a.tally");
  ASSERT_TRUE(WriteTally(path, ManyGroups(3000, 2), SomeMeta()).ok());
  const std::string good = ReadFile(path);
  absl::StatusOr<std::unique_ptr<TallyFile>> f = TallyFile::Open(path);
  ASSERT_TRUE(f.ok());
  const std::vector<TallyFile::Block> blocks = (*f)->blocks();
  f->reset();
  const std::string bad = Path("bad.tally");
  for (size_t i : {size_t{0}, blocks.size() / 2, blocks.size() - 1}) {
    for (uint64_t at : {blocks[i].offset, blocks[i].offset + 9, blocks[i].offset + 30}) {
      std::string b = good;
      b[at] ^= 0x10;
      WriteFile(bad, b);
      absl::StatusOr<std::unique_ptr<TallyFile>> g = TallyFile::Open(bad);
      ASSERT_TRUE(g.ok()) << g.status();  // the index is intact
      absl::Status v = (*g)->Verify();
      EXPECT_EQ(v.code(), absl::StatusCode::kDataLoss);
      EXPECT_NE(v.message().find(absl::StrCat("block ", i, " of ")), std::string_view::npos) << v;
      EXPECT_NE(v.message().find(bad), std::string_view::npos) << v;
    }
  }
  const uint64_t tail_start = blocks.back().offset + 24 + blocks.back().payload;
  for (uint64_t at : {tail_start + 3, good.size() - 60, good.size() - 20}) {
    std::string b = good;
    b[at] ^= 0x01;
    WriteFile(bad, b);
    absl::StatusOr<std::unique_ptr<TallyFile>> g = TallyFile::Open(bad);
    EXPECT_FALSE(g.ok()) << "flip at " << at;
  }
}

TEST_F(TallyTest, TruncationIsRefusedNamingTheBlock) {
  const std::string path = Path("a.tally");
  ASSERT_TRUE(WriteTally(path, ManyGroups(3000, 3), SomeMeta()).ok());
  const std::string good = ReadFile(path);
  const std::string cut = Path("cut.tally");
  for (size_t len : {size_t{0}, size_t{10}, size_t{100}, good.size() / 2, good.size() - 1}) {
    WriteFile(cut, good.substr(0, len));
    absl::StatusOr<std::unique_ptr<TallyFile>> g = TallyFile::Open(cut);
    ASSERT_FALSE(g.ok()) << len;
    EXPECT_NE(g.status().message().find(cut), std::string_view::npos);
    if (len >= 100) {
      EXPECT_NE(g.status().message().find("block"), std::string_view::npos) << g.status();
    }
  }
}

TEST(TallyQueryTest, SameQueryNamesTheDifference) {
  TallyMeta a = SomeMeta(), b = SomeMeta();
  EXPECT_TRUE(SameQuery(a, "a", b, "b").ok());
  b.where = {"PROTO=UDP"};
  a.where = {"PROTO=UDP"};
  EXPECT_TRUE(SameQuery(a, "a", b, "b").ok());
  b.key = {"SRC"};
  absl::Status s = SameQuery(a, "a", b, "b");
  EXPECT_NE(s.message().find("keys differ"), std::string_view::npos) << s;
  b = SomeMeta();
  b.params.emplace_back("utc", "yes");
  s = SameQuery(a, "a", b, "b");
  EXPECT_NE(s.message().find("'utc'"), std::string_view::npos) << s;
  b = SomeMeta();
  b.where = {};
  s = SameQuery(a, "a", b, "b");
  EXPECT_NE(s.message().find("conditions"), std::string_view::npos) << s;
}

class CollectSink : public RowSink {
 public:
  absl::Status Begin(const RunStats& s) override {
    stats = s;
    return absl::OkStatus();
  }
  absl::Status Add(const Row& r) override {
    rows.emplace_back(std::string(r.key), r.count);
    return absl::OkStatus();
  }
  RunStats stats;
  std::vector<std::pair<std::string, uint64_t>> rows;
};

// Many tallies, each a run in every partition, merged within a memory that
// holds only a few runs' blocks at once (several passes): every group once,
// summed, in the order of a count.
TEST_F(TallyTest, MergeAddsUpInPasses) {
  std::vector<std::unique_ptr<TallyFile>> files;
  std::map<std::string, uint64_t> sum;
  for (int t = 0; t < 9; ++t) {
    const auto g = ManyGroups(4000, t);
    for (const auto& [k, c] : g) sum[k] += c;
    const std::string path = Path(absl::StrCat(t, ".tally"));
    ASSERT_TRUE(WriteTally(path, g, SomeMeta()).ok());
    absl::StatusOr<std::unique_ptr<TallyFile>> f = TallyFile::Open(path);
    ASSERT_TRUE(f.ok());
    files.push_back(std::move(*f));
  }
  std::vector<const TallyFile*> ptrs;
  for (const auto& f : files) ptrs.push_back(f.get());
  for (uint64_t memory : {uint64_t{200} << 10, uint64_t{1} << 30}) {
    MergeOptions o;
    o.threads = 2;
    o.memory = memory;
    CollectSink sink;
    MergeResult r = MergeTallies(ptrs, o, sink);
    ASSERT_TRUE(r.fatal.ok()) << r.fatal;
    ASSERT_EQ(sink.rows.size(), sum.size());
    EXPECT_EQ(sink.stats.counted, 900u);
    std::map<std::string, uint64_t> got(sink.rows.begin(), sink.rows.end());
    EXPECT_EQ(got, sum);
    for (size_t i = 1; i < sink.rows.size(); ++i) {
      ASSERT_GE(sink.rows[i - 1].second, sink.rows[i].second) << "count order, memory " << memory;
    }
  }
}

TEST_F(TallyTest, DiffListsNewGoneAndChanged) {
  std::map<std::string, uint64_t> a = {{KeyOf({"1.1.1.1", "53"}), 10}, {KeyOf({"8.8.8.8", "53"}), 50},
                                       {KeyOf({"9.9.9.9", "53"}), 5}};
  std::map<std::string, uint64_t> b = {{KeyOf({"1.1.1.1", "53"}), 10}, {KeyOf({"9.9.9.9", "53"}), 8},
                                       {KeyOf({"4.4.4.4", "53"}), 20}};
  ASSERT_TRUE(WriteTally(Path("a.tally"), a, SomeMeta()).ok());
  ASSERT_TRUE(WriteTally(Path("b.tally"), b, SomeMeta()).ok());
  auto fa = TallyFile::Open(dir_ + "/a.tally");
  auto fb = TallyFile::Open(dir_ + "/b.tally");
  ASSERT_TRUE(fa.ok() && fb.ok());
  CollectSink sink;
  DiffResult r = DiffTallies(**fa, **fb, MergeOptions{}, sink);
  ASSERT_TRUE(r.fatal.ok()) << r.fatal;
  EXPECT_EQ(r.added, 1u);
  EXPECT_EQ(r.gone, 1u);
  EXPECT_EQ(r.changed, 1u);
  EXPECT_EQ(r.unchanged, 1u);
  // The key carries the old and the new count; the row's count is the change.
  std::vector<std::pair<std::string, uint64_t>> want = {
      {KeyOf({"8.8.8.8", "53", "50", "0"}), 50},
      {KeyOf({"4.4.4.4", "53", "0", "20"}), 20},
      {KeyOf({"9.9.9.9", "53", "5", "8"}), 3}};
  EXPECT_EQ(sink.rows, want);
}

}  // namespace
}  // namespace logtally::engine
