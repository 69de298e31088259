#include "engine/state.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "engine/run_options.h"

namespace logtally::engine {
namespace {

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = DefaultTempDir() + "/state_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const char* f : {"/fw.log", "/fw.log.1", "/state/state", "/state/lock", "/state/state.pending"}) {
      ::unlink((dir_ + f).c_str());
    }
    ::rmdir((dir_ + "/state").c_str());
    ::rmdir(dir_.c_str());
  }
  void Write(const std::string& name, const std::string& data, bool append = false) {
    std::ofstream out(dir_ + "/" + name, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
    out << data;
  }
  io::InputSpec Input(const std::string& name) { return {dir_ + "/" + name, name}; }
  std::string dir_;
};

std::string Lines(int from, int to) {
  std::string s;
  for (int i = from; i < to; ++i) s += "Mar  9 10:00:00 gw kernel: line " + std::to_string(i) + "\n";
  return s;
}

// What a run reports for an input it counted from `start`, as the pipeline
// does with fingerprints on.
InputReport Report(const std::string& content, uint64_t start, uint64_t end) {
  InputReport r;
  r.opened = true;
  r.raw_size = content.size();
  r.start = start;
  r.decoded = end - start;
  r.held = content.size() - end;
  r.head = content.substr(0, std::min<size_t>(kEdgeBytes, content.size()));
  const size_t n = std::min<size_t>(kEdgeBytes, end);
  r.tail = content.substr(end - n, n);
  return r;
}

TEST_F(StateTest, GrowthRenameAndChangeArePlannedByContent) {
  std::vector<std::string> warnings;
  const std::string first = Lines(0, 300) + "Mar  9 10:00:00 gw kernel: half";
  Write("fw.log", first);
  std::vector<io::InputSpec> in = {Input("fw.log")};
  absl::StatusOr<std::vector<InputPlan>> plan = PlanInputs(nullptr, in, 1 << 16, &warnings);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE((*plan)[0].count);
  EXPECT_EQ((*plan)[0].range.skip, 0u);
  EXPECT_TRUE((*plan)[0].range.whole_lines);
  const uint64_t end = first.rfind('\n') + 1;
  CountState s = NextState(nullptr, TallyMeta(), in, *plan, {0}, {Report(first, 0, end)}, 100);
  ASSERT_EQ(s.entries.size(), 1u);
  EXPECT_EQ(s.entries[0].counted, end);
  EXPECT_FALSE(s.entries[0].complete);

  // The half line finished, more lines, then renamed: fw.log.1 continues
  // where the last run stopped; the new fw.log is new.
  Write("fw.log", " done\n" + Lines(300, 400), true);
  ASSERT_EQ(::rename((dir_ + "/fw.log").c_str(), (dir_ + "/fw.log.1").c_str()), 0);
  Write("fw.log", Lines(1000, 1010));
  in = {Input("fw.log.1"), Input("fw.log")};
  plan = PlanInputs(&s, in, 1 << 16, &warnings);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE((*plan)[0].count);
  EXPECT_EQ((*plan)[0].range.skip, end);
  EXPECT_EQ((*plan)[0].entry, 0);
  EXPECT_EQ((*plan)[1].range.skip, 0u);
  EXPECT_EQ((*plan)[1].entry, -1);
  EXPECT_TRUE(warnings.empty());

  // The counted part changed in place: counted from the start, with a warning.
  std::string changed = first;
  changed[end - 10] = 'X';
  Write("fw.log.1", changed);
  in = {Input("fw.log.1")};
  s.entries[0].path = dir_ + "/fw.log.1";
  plan = PlanInputs(&s, in, 1 << 16, &warnings);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ((*plan)[0].range.skip, 0u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("counted from the start"), std::string::npos) << warnings[0];
}

TEST_F(StateTest, JsonRoundTripAndPendingCommit) {
  CountState s;
  s.query.key = {"DST"};
  StateEntry e;
  e.path = std::string("/var/log/\xff.log");
  e.format = "gzip";
  e.counted = 12345;
  e.tail_bytes = 4096;
  e.head_bytes = 4096;
  e.head = "0011223344556677";
  e.complete = true;
  e.seen = 7;
  s.entries.push_back(e);
  std::string run, tally;
  absl::StatusOr<CountState> back = StateFromJson(StateToJson(s, "abc", "/t.tally"), &run, &tally);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(run, "abc");
  EXPECT_EQ(tally, "/t.tally");
  ASSERT_EQ(back->entries.size(), 1u);
  EXPECT_EQ(back->entries[0].path, e.path);
  EXPECT_EQ(back->entries[0].counted, 12345u);
  EXPECT_TRUE(back->entries[0].complete);
  EXPECT_EQ(back->query.key, s.query.key);

  std::vector<std::string> notes;
  {
    absl::StatusOr<std::unique_ptr<StateDir>> d = StateDir::Open(dir_ + "/state", &notes);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ((*d)->state(), nullptr);
    // A second run is kept out while this one holds the directory.
    std::vector<std::string> other;
    EXPECT_FALSE(StateDir::Open(dir_ + "/state", &other).ok());
    ASSERT_TRUE((*d)->Prepare(s, "abc", "").ok());
  }
  // Stopped before its commit, without a tally: undone.
  absl::StatusOr<std::unique_ptr<StateDir>> d = StateDir::Open(dir_ + "/state", &notes);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)->state(), nullptr);
  ASSERT_EQ(notes.size(), 1u);
  ASSERT_TRUE((*d)->Prepare(s, "abc", "").ok());
  ASSERT_TRUE((*d)->Commit().ok());
  d->reset();
  notes.clear();
  d = StateDir::Open(dir_ + "/state", &notes);
  ASSERT_TRUE(d.ok());
  ASSERT_NE((*d)->state(), nullptr);
  EXPECT_EQ((*d)->state()->entries.size(), 1u);
  EXPECT_TRUE(notes.empty());
}

}  // namespace
}  // namespace logtally::engine
