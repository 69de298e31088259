// The chunker's invariant, checked Arrow-style by cutting small inputs at
// every size: chunks concatenate to the input, every chunk but the last ends
// with '\n', and stream reads of any size (down to one byte) agree with the
// mapped path.
#include "io/chunker.h"
#include "io/input.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "io/paths.h"
#include "io/plain_blocks.h"
#include "io/read_ahead.h"

namespace logtally::io {
namespace {

// A ByteStream over a string that returns at most `step` bytes per read.
class StringStream : public ByteStream {
 public:
  StringStream(std::string s, size_t step) : s_(std::move(s)), step_(step) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    size_t take = std::min({n, step_, s_.size() - pos_});
    std::memcpy(buf, s_.data() + pos_, take);
    pos_ += take;
    return take;
  }
  uint64_t raw_offset() const override { return pos_; }

 private:
  std::string s_;
  size_t step_;
  size_t pos_ = 0;
};

std::vector<std::string> Drain(Chunker& c) {
  std::vector<std::string> out;
  Chunk chunk;
  for (;;) {
    absl::StatusOr<bool> more = c.Next(chunk);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    out.emplace_back(chunk.data);
    c.Recycle(chunk);
  }
  return out;
}

void CheckInvariant(const std::string& input, const std::vector<std::string>& chunks) {
  std::string joined;
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_FALSE(chunks[i].empty());
    if (i + 1 < chunks.size()) {
      EXPECT_EQ(chunks[i].back(), '\n');
    }
    joined += chunks[i];
  }
  EXPECT_EQ(joined, input);
}

std::vector<std::string> Inputs() {
  std::mt19937_64 rng(1);
  std::vector<std::string> v = {"", "\n", "a", "a\n", "\n\n\n", "abc\ndef", "abc\r\ndef\r\n",
                                std::string("x\0y\n\0\0", 6)};
  for (int i = 0; i < 6; ++i) {
    std::string s;
    size_t lines = rng() % 12;
    for (size_t l = 0; l < lines; ++l) {
      s.append(rng() % 40, 'a' + static_cast<char>(l % 26));
      if (l + 1 < lines || rng() % 2) s.push_back('\n');
    }
    v.push_back(s);
  }
  v.push_back(std::string(300, 'L') + "\nshort\n" + std::string(500, 'M'));  // lines longer than chunks
  return v;
}

TEST(ChunkerTest, SliceChunkerAtEverySize) {
  for (const std::string& in : Inputs()) {
    for (size_t cs = 1; cs <= in.size() + 2; ++cs) {
      SliceChunker c(in, cs);
      CheckInvariant(in, Drain(c));
    }
  }
}

TEST(ChunkerTest, StreamChunkerAtEverySizeAndReadStep) {
  for (const std::string& in : Inputs()) {
    for (size_t cs = 1; cs <= in.size() + 2; cs += (cs < 20 ? 1 : 7)) {
      for (size_t step : {size_t{1}, size_t{3}, size_t{64}, size_t{1} << 20}) {
        StreamChunker c(std::make_unique<StringStream>(in, step), cs);
        CheckInvariant(in, Drain(c));
      }
    }
  }
}

// A stream that fails after `good` bytes.
class FailingStream : public ByteStream {
 public:
  FailingStream(std::string s, size_t good) : s_(std::move(s)), good_(good) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (pos_ >= good_) return absl::DataLossError("boom at offset 7");
    size_t take = std::min(n, good_ - pos_);
    std::memcpy(buf, s_.data() + pos_, take);
    pos_ += take;
    return take;
  }
  uint64_t raw_offset() const override { return pos_; }

 private:
  std::string s_;
  size_t good_;
  size_t pos_ = 0;
};

TEST(ChunkerTest, ErrorKeepsCompleteLinesAndDropsThePartialOne) {
  std::string in = "one\ntwo\nthree\nfour";
  StreamChunker c(std::make_unique<FailingStream>(in, 11), 4);  // fails inside "three"
  std::string got;
  Chunk chunk;
  absl::Status err;
  for (;;) {
    absl::StatusOr<bool> more = c.Next(chunk);
    if (!more.ok()) {
      err = more.status();
      break;
    }
    if (!*more) break;
    got += chunk.data;
  }
  EXPECT_EQ(got, "one\ntwo\n");
  EXPECT_FALSE(err.ok());
  EXPECT_EQ(c.dropped_bytes(), 3u);  // "thr"
}

// Reading ahead on a thread changes nothing a caller sees: the same chunks
// in the same order, the error after every good line before it, and a
// reader stopped early (the input abandoned) neither hangs nor leaks.
TEST(ChunkerTest, ReadAheadGivesTheSameChunksAndErrorInOrder) {
  for (const std::string& input : Inputs()) {
    for (size_t depth : {1, 2, 5}) {
      ReadAheadChunker ra(std::make_unique<StreamChunker>(std::make_unique<StringStream>(input, 3), 2),
                          depth);
      CheckInvariant(input, Drain(ra));
    }
  }
  ReadAheadChunker ra(std::make_unique<StreamChunker>(
                          std::make_unique<FailingStream>("one\ntwo\nthree\nfour", 11), 4),
                      2);
  std::string got;
  Chunk chunk;
  absl::Status err;
  for (;;) {
    absl::StatusOr<bool> more = ra.Next(chunk);
    if (!more.ok()) {
      err = more.status();
      break;
    }
    if (!*more) break;
    got += chunk.data;
    ra.Recycle(chunk);
  }
  EXPECT_EQ(got, "one\ntwo\n");
  EXPECT_FALSE(err.ok());
  EXPECT_EQ(ra.dropped_bytes(), 3u);
  absl::StatusOr<bool> after = ra.Next(chunk);
  EXPECT_TRUE(after.ok() && !*after);

  std::string big;
  for (int i = 0; i < 10000; ++i) big += "line " + std::to_string(i) + "\n";
  for (int taken = 0; taken < 3; ++taken) {
    ReadAheadChunker early(std::make_unique<StreamChunker>(std::make_unique<StringStream>(big, 7), 16),
                           2);
    for (int i = 0; i < taken; ++i) {
      ASSERT_TRUE(*early.Next(chunk));
      early.Recycle(chunk);
    }
  }  // destroyed with the reader blocked on a full queue
}

// With a helper, every chunk reaches exactly one of Next and the helper; put
// back in index order they are the input, and the helper does get work when
// nobody takes chunks from the queue. A helper that declines leaves the
// chunk to the queue.
TEST(ChunkerTest, ReadAheadHelperTakesChunksWhenTheQueueIsFull) {
  std::string big;
  for (int i = 0; i < 20000; ++i) big += "line " + std::to_string(i) + "\n";
  for (bool decline : {false, true}) {
    ReadAheadChunker ra(std::make_unique<StreamChunker>(std::make_unique<StringStream>(big, 7), 64), 4);
    std::mutex mu;
    std::map<uint64_t, std::string> got;
    size_t helped = 0;
    ra.SetHelper(
        [&](Chunk& c) {
          if (decline) return false;
          std::lock_guard<std::mutex> lock(mu);
          EXPECT_TRUE(got.emplace(c.index, std::string(c.data)).second) << c.index;
          ++helped;
          ra.Recycle(c);
          return true;
        },
        2);
    // Take nothing for a while: the queue fills up to two chunks, and the
    // reader then counts (here: keeps) the rest itself.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    Chunk chunk;
    for (;;) {
      absl::StatusOr<bool> more = ra.Next(chunk);
      ASSERT_TRUE(more.ok());
      if (!*more) break;
      std::lock_guard<std::mutex> lock(mu);
      EXPECT_TRUE(got.emplace(chunk.index, std::string(chunk.data)).second) << chunk.index;
      ra.Recycle(chunk);
    }
    std::string joined;
    uint64_t expect_index = 0;
    for (const auto& [index, data] : got) {
      EXPECT_EQ(index, expect_index++);
      joined += data;
    }
    EXPECT_EQ(joined, big);
    if (decline) EXPECT_EQ(helped, 0u); else EXPECT_GT(helped, 0u);
  }
}

TEST(ChunkerTest, OpenInputReadsOrMapsPlainFilesAndReadsPipes) {
  char path[] = "/tmp/logtally_chunker_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string text = "a\nb\nc";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  absl::StatusOr<OpenedInput> in = OpenInput({path, path}, {.chunk_size = 2});
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_FALSE(in->mapped);
  EXPECT_EQ(in->raw_size, text.size());
  CheckInvariant(text, Drain(*in->chunker));
  absl::StatusOr<OpenedInput> mapped = OpenInput({path, path}, {.chunk_size = 2, .map_plain = true});
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_TRUE(mapped->mapped);
  CheckInvariant(text, Drain(*mapped->chunker));

  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  ASSERT_EQ(write(pipefd[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(pipefd[1]);
  int saved = dup(0);
  dup2(pipefd[0], 0);
  close(pipefd[0]);
  absl::StatusOr<OpenedInput> sin = OpenInput({"-", "stdin"}, {.chunk_size = 2});
  ASSERT_TRUE(sin.ok()) << sin.status();
  EXPECT_FALSE(sin->mapped);
  CheckInvariant(text, Drain(*sin->chunker));
  dup2(saved, 0);
  close(saved);
  unlink(path);

  absl::StatusOr<OpenedInput> missing = OpenInput({"/nonexistent/x", "/nonexistent/x"}, {.chunk_size = 2});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message()).find("/nonexistent/x"), std::string::npos);
}

// A plain file is read as a snapshot of its size at open: bytes appended
// later are not read, and a file that ends early is an error naming it.
TEST(ChunkerTest, ReadFileIsASnapshotOfItsSizeAtOpen) {
  char path[] = "/tmp/logtally_chunker_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string text = "one\ntwo\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  absl::StatusOr<OpenedInput> in = OpenInput({path, "grow.log"}, {.chunk_size = 4});
  ASSERT_TRUE(in.ok()) << in.status();
  ASSERT_EQ(write(fd, "three\n", 6), 6);  // appended after open
  CheckInvariant(text, Drain(*in->chunker));

  absl::StatusOr<OpenedInput> shrink = OpenInput({path, "shrink.log"}, {.chunk_size = 4});
  ASSERT_TRUE(shrink.ok()) << shrink.status();
  ASSERT_EQ(ftruncate(fd, 6), 0);  // "one\ntw" is left
  close(fd);
  Chunk chunk;
  std::string got;
  absl::Status err;
  for (;;) {
    absl::StatusOr<bool> more = shrink->chunker->Next(chunk);
    if (!more.ok()) {
      err = more.status();
      continue;
    }
    if (!*more) break;
    got += chunk.data;
  }
  EXPECT_EQ(got, "one\n");
  ASSERT_FALSE(err.ok());
  EXPECT_NE(std::string(err.message()).find("shrink.log: the file shrank"), std::string::npos)
      << err;
  EXPECT_NE(std::string(err.message()).find("had 14 bytes"), std::string::npos) << err;
  unlink(path);
}

// Blocks of a file, cut at every block size and from every start offset:
// each line lands in exactly one block, in order, so the blocks concatenate
// to the file (from the offset on).
TEST(ChunkerTest, PlainBlocksHoldEveryLineOnce) {
  char path[] = "/tmp/logtally_blocks_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::vector<std::string> inputs = Inputs();
  inputs.push_back(std::string(300, 'x') + "\nshort\n" + std::string(70, 'y'));  // lines longer than blocks
  for (const std::string& input : inputs) {
    ASSERT_EQ(ftruncate(fd, 0), 0);
    ASSERT_EQ(pwrite(fd, input.data(), input.size(), 0), static_cast<ssize_t>(input.size()));
    for (size_t start = 0; start <= std::min<size_t>(input.size(), 3); ++start) {
      for (size_t block = 1; block <= input.size() + 1; ++block) {
        PlainBlocks blocks(fd, false, "t.log", start, input.size() - start, block);
        std::string joined;
        BlockBuffer buf;
        for (size_t i = 0; i < blocks.count(); ++i) {
          absl::StatusOr<std::string_view> d = blocks.Read(i, buf);
          ASSERT_TRUE(d.ok()) << d.status();
          if (!d->empty() && i + 1 < blocks.count() && joined.size() + d->size() < input.size() - start) {
            ASSERT_EQ(d->back(), '\n') << "block " << i << " of " << block;
          }
          joined += *d;
        }
        ASSERT_EQ(joined, input.substr(start)) << "start " << start << " block " << block;
      }
    }
  }
  std::string text = "\n \t\r\n  {\"a\": 1}  \nrest\n";
  ASSERT_EQ(ftruncate(fd, 0), 0);
  ASSERT_EQ(pwrite(fd, text.data(), text.size(), 0), static_cast<ssize_t>(text.size()));
  PlainBlocks b(fd, false, "t.log", 0, text.size(), 4);
  absl::StatusOr<std::string> first = b.FirstNonBlankLine();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, "{\"a\": 1}  ");
  // A file that ends before its size at open: an error naming it.
  PlainBlocks longer(fd, false, "shrunk.log", 0, text.size() + 100, 8);
  BlockBuffer buf;
  absl::StatusOr<std::string_view> last = longer.Read(longer.count() - 1, buf);
  ASSERT_FALSE(last.ok());
  EXPECT_NE(std::string(last.status().message()).find("shrunk.log: the file shrank"), std::string::npos);
  close(fd);
  unlink(path);
}

TEST(PathsTest, RotatedGenerationsOldestFirst) {
  std::vector<std::string> names = {"fw.log", "fw.log.1", "fw.log.10.gz", "fw.log.2.gz",
                                    "a.log", "fw.log.3.zst"};
  SortRotated(names);
  EXPECT_EQ(names, (std::vector<std::string>{"a.log", "fw.log.10.gz", "fw.log.3.zst",
                                             "fw.log.2.gz", "fw.log.1", "fw.log"}));
}

}  // namespace
}  // namespace logtally::io
