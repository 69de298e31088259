// The display escaping (docs/choices.md, "Output"): printable ASCII as is, a
// backslash doubled, valid UTF-8 as is, every other byte as \xNN. The fast
// path copies plain runs 16 bytes at a time; this checks it against a
// byte-by-byte statement of the rule, at every offset and length.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "engine/output.h"
#include "engine/display.h"
#include "engine/key.h"
#include "engine/query.h"
#include "gtest/gtest.h"

namespace logtally::engine {
namespace {

// Length of a valid UTF-8 sequence at s[i] (2 to 4 bytes), else 0.
size_t RefUtf8(const std::string& s, size_t i) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xc0) == 0x80; };
  uint8_t c = b(0);
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xe0 && b(1) < 0xa0) return 0;  // overlong
    if (c == 0xed && b(1) > 0x9f) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xf0 && b(1) < 0x90) return 0;
    if (c == 0xf4 && b(1) > 0x8f) return 0;
    return 4;
  }
  return 0;
}

std::string RefDisplay(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    if (c == '\\') {
      out += "\\\\";
      ++i;
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
    } else if (size_t n = c >= 0x80 ? RefUtf8(s, i) : 0; n > 0) {
      out += s.substr(i, n);
      i += n;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
      ++i;
    }
  }
  return out;
}

TEST(OutputTest, DisplayEscapingMatchesTheByteRule) {
  std::mt19937_64 rng(3);
  const std::string alphabet = std::string("aZ09 .:=/-[]") + "\\" + std::string("\x00\x01\x1f\x7f\x80\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff\xed\xa0", 18);
  for (int round = 0; round < 20000; ++round) {
    size_t len = rng() % 70;
    std::string s;
    bool plain = rng() % 3 == 0;  // long plain runs exercise the 16-byte path
    for (size_t i = 0; i < len; ++i) {
      s += plain && rng() % 40 != 0 ? static_cast<char>('a' + rng() % 26)
                                    : alphabet[rng() % alphabet.size()];
    }
    std::string got;
    AppendDisplay(got, s);
    ASSERT_EQ(got, RefDisplay(s)) << "input of " << s.size() << " bytes";
  }
  for (int c = 0; c < 256; ++c) {
    for (size_t at = 0; at < 40; ++at) {
      std::string s(40, 'x');
      s[at] = static_cast<char>(c);
      std::string got;
      AppendDisplay(got, s);
      ASSERT_EQ(got, RefDisplay(s)) << "byte " << c << " at " << at;
    }
  }
}

}  // namespace
}  // namespace logtally::engine

namespace logtally::engine {
namespace {

// A result of many megabytes goes out through the background writer in
// 1 MiB pieces; the file holds every row, in order, exactly once.
TEST(RowWriterTest, LargeOutputInOrder) {
  char tmpl[] = "/tmp/logtally-rowwriter-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/out.txt";
  std::string expect;
  {
    absl::StatusOr<io::OutputFile> out = io::OutputFile::Open(path);
    ASSERT_TRUE(out.ok()) << out.status();
    WriteOptions opt;
    opt.columns = {"line"};
    RowWriter w(opt, *out);
    std::string key, value;
    for (uint64_t i = 0; i < 300000; ++i) {
      value = "row " + std::to_string(i) + std::string(i % 13, 'x');
      // A few rows longer than an output buffer (1 MiB): the buffer grows
      // past its block and the rows around them stay in order.
      if (i % 100000 == 77) value += std::string((size_t{3} << 19) + i, 'L');
      key.clear();
      AppendKeyValue(key, value);
      Row r{300000 - i, value, key};
      ASSERT_TRUE(w.Add(r).ok());
      std::string count = std::to_string(300000 - i);
      expect += std::string(count.size() < 7 ? 7 - count.size() : 0, ' ') + count + " " + value + "\n";
    }
    ASSERT_TRUE(w.Finish().ok());
    ASSERT_TRUE(out->Commit().ok());
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  std::string got;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) got.append(buf, n);
  std::fclose(f);
  EXPECT_GT(got.size(), size_t{4} << 20);
  EXPECT_TRUE(got == expect);
  std::remove(path.c_str());
  ::rmdir(tmpl);
}

}  // namespace
}  // namespace logtally::engine
