// A mapped file that shrinks under us must end in a clear message naming the
// file and exit status 2, never a crash.
#include "io/mapped_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace logtally::io {
namespace {

TEST(MappedFileDeathTest, TruncationWhileReadingIsAClearError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  char path[] = "/tmp/logtally_trunc_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string data(1 << 20, 'x');
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  EXPECT_EXIT(
      {
        InstallTruncationHandler();
        auto m = MappedFile::Map(fd, data.size(), "shrinking.log");
        if (!m.ok()) _exit(7);
        if (ftruncate(fd, 0) != 0) _exit(8);
        volatile char c = m->data()[data.size() - 1];  // beyond the new end: SIGBUS
        (void)c;
        _exit(0);
      },
      testing::ExitedWithCode(2), "shrinking.log: the file shrank");
  close(fd);
  unlink(path);
}

TEST(MappedFileTest, EmptyFileMapsToEmptyView) {
  auto m = MappedFile::Map(-1, 0, "empty");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->data().empty());
}

}  // namespace
}  // namespace logtally::io
