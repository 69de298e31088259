// Tests for io/decode.h: format sniffing and the gzip, zstd, bzip2 and xz
// decoders. Archives are made in the test with the libraries' compressors
// (ISA-L, libzstd, Boost.Iostreams' bzip2/lzma filters) and, where installed,
// the gzip/pigz/zstd/bzip2/xz tools; round trips, concatenated members and
// frames, tiny and large reads, truncation at every offset and bit flips
// (which must give an error naming the input and an offset, never a hang or
// crash), and FdStream with a sniffed prefix.
#include "io/decode.h"

#include <fcntl.h>
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <boost/iostreams/concepts.hpp>
#include <boost/iostreams/filter/bzip2.hpp>
#include <boost/iostreams/filter/lzma.hpp>
#include <boost/iostreams/filtering_stream.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "io/byte_stream.h"

namespace logtally::io {
namespace {

// An in-memory raw stream that hands out at most `chunk` bytes per Read, to
// exercise decoders against short reads (pipes) as well as large ones.
class MemoryStream final : public ByteStream {
 public:
  explicit MemoryStream(std::string data, size_t chunk = SIZE_MAX)
      : data_(std::move(data)), chunk_(chunk) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    size_t take = std::min({n, chunk_, data_.size() - pos_});
    std::copy_n(data_.data() + pos_, take, buf);
    pos_ += take;
    return take;
  }
  uint64_t raw_offset() const override { return pos_; }

 private:
  std::string data_;
  size_t chunk_;
  size_t pos_ = 0;
};

// A raw stream that fails after `good` bytes, like a disk read error.
class FailingStream final : public ByteStream {
 public:
  FailingStream(std::string data, size_t good) : data_(std::move(data)), good_(good) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (pos_ >= good_) return absl::DataLossError("raw: read error at byte offset 7: EIO");
    size_t take = std::min(n, good_ - pos_);
    std::copy_n(data_.data() + pos_, take, buf);
    pos_ += take;
    return take;
  }
  uint64_t raw_offset() const override { return pos_; }

 private:
  std::string data_;
  size_t good_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------
// Test data and compressors.

// Deterministic firewall-log text of about `bytes` bytes; varied enough that
// the compressors emit several blocks of every kind.
std::string LogText(size_t bytes, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::string out;
  out.reserve(bytes + 200);
  while (out.size() < bytes) {
    absl::StrAppend(&out, "Mar  5 14:", rng() % 60, ":", rng() % 60, " gw kernel: [",
                    rng() % 100000, ".", rng() % 1000, "] NEW IN=eth", rng() % 3,
                    " OUT=eth0 SRC=10.0.", rng() % 256, ".", rng() % 256, " DST=1.2.3.",
                    rng() % 256, " PROTO=TCP SPT=", rng() % 65536,
                    " DPT=", (rng() % 4 == 0 ? 22 : 443), "\n");
  }
  return out;
}

// One gzip member made by ISA-L. `hdr` selects ISA-L's own header (true) or
// a header-less deflate stream plus trailer (false, for hand-made headers).
std::string IsalDeflate(std::string_view text, bool hdr = true, int level = 1) {
  isal_zstream z;
  isal_deflate_init(&z);
  std::vector<uint8_t> level_buf(ISAL_DEF_LVL3_DEFAULT);
  z.level = level;
  z.level_buf = level_buf.data();
  z.level_buf_size = static_cast<uint32_t>(level_buf.size());
  z.gzip_flag = hdr ? IGZIP_GZIP : IGZIP_GZIP_NO_HDR;
  z.end_of_stream = 1;
  z.flush = NO_FLUSH;
  z.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uint32_t>(text.size());
  std::string out(text.size() + text.size() / 4 + 4096, '\0');
  size_t used = 0;
  while (z.internal_state.state != ZSTATE_END) {
    if (used == out.size()) out.resize(out.size() * 2);
    z.next_out = reinterpret_cast<uint8_t*>(out.data() + used);
    z.avail_out = static_cast<uint32_t>(out.size() - used);
    EXPECT_EQ(isal_deflate(&z), COMP_OK);
    used = out.size() - z.avail_out;
  }
  out.resize(used);
  return out;
}

std::string Gzip(std::string_view text) { return IsalDeflate(text); }

std::string Zstd(std::string_view text, int level = 3) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  std::string out(ZSTD_compressBound(text.size()), '\0');
  size_t n = ZSTD_compress2(c, out.data(), out.size(), text.data(), text.size());
  ZSTD_freeCCtx(c);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// Appends to a string. (boost::iostreams::back_inserter works too but trips
// a false -Wrestrict in GCC 12's std::string::insert.)
struct StringSink : boost::iostreams::sink {
  std::string* out;
  explicit StringSink(std::string* o) : out(o) {}
  std::streamsize write(const char* s, std::streamsize n) {
    out->append(s, static_cast<size_t>(n));
    return n;
  }
};

template <typename Filter>
std::string BoostCompress(std::string_view text, Filter filter) {
  std::string out;
  {
    boost::iostreams::filtering_ostream os;
    os.push(filter);
    os.push(StringSink{&out});
    os.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  return out;
}

// Block size 1 = 100 kB blocks, so a few hundred kB of text spans blocks.
std::string Bzip2(std::string_view text) {
  return BoostCompress(text, boost::iostreams::bzip2_compressor(boost::iostreams::bzip2_params(1)));
}

std::string Xz(std::string_view text) {
  return BoostCompress(text, boost::iostreams::lzma_compressor());
}

std::string Compress(Format f, std::string_view text) {
  switch (f) {
    case Format::kGzip: return Gzip(text);
    case Format::kZstd: return Zstd(text);
    case Format::kBzip2: return Bzip2(text);
    case Format::kXz: return Xz(text);
    case Format::kPlain: return std::string(text);
  }
  return {};
}

std::string TempPath(const std::string& tag) {
  const char* dir = std::getenv("TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/logtally_decode_test_", getpid(), "_", tag);
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream f(path, std::ios::binary);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

bool HaveTool(const std::string& tool) {
  return std::system(absl::StrCat("command -v ", tool, " >/dev/null 2>&1").c_str()) == 0;
}

// Runs `cmd < input > output` through the shell and returns the output.
std::string RunTool(const std::string& cmd, std::string_view input) {
  const std::string in = TempPath("tool_in"), out = TempPath("tool_out");
  WriteFile(in, input);
  const std::string line = absl::StrCat(cmd, " < ", in, " > ", out);
  EXPECT_EQ(std::system(line.c_str()), 0) << line;
  std::string result = ReadFile(out);
  std::remove(in.c_str());
  std::remove(out.c_str());
  return result;
}

// ---------------------------------------------------------------------------
// Draining a decoder.

struct Decoded {
  std::string out;
  absl::Status status;  // OK when the stream ended cleanly
  uint64_t raw_offset = 0;
};

// Reads `d` to its end or first error with reads of `read_size` bytes; a
// hard cap on the number of calls turns a hang into a test failure.
Decoded Drain(ByteStream& d, size_t read_size, size_t max_out = size_t{1} << 30) {
  Decoded r;
  std::vector<char> buf(read_size);
  for (size_t calls = 0;; ++calls) {
    if (calls > (size_t{1} << 26)) {
      r.status = absl::InternalError("no end after 2^26 reads");
      break;
    }
    absl::StatusOr<size_t> got = d.Read(buf.data(), buf.size());
    if (!got.ok()) {
      r.status = got.status();
      break;
    }
    if (*got == 0) break;
    EXPECT_LE(*got, read_size);
    r.out.append(buf.data(), *got);
    if (r.out.size() > max_out) {
      r.status = absl::InternalError("output over the cap");
      break;
    }
  }
  r.raw_offset = d.raw_offset();
  return r;
}

Decoded DecodeBytes(Format f, std::string data, size_t read_size, size_t raw_chunk = SIZE_MAX,
                    std::string name = "input.bin") {
  absl::StatusOr<std::unique_ptr<ByteStream>> d =
      MakeDecoder(f, std::make_unique<MemoryStream>(std::move(data), raw_chunk), name);
  EXPECT_TRUE(d.ok()) << d.status();
  if (!d.ok()) return {"", d.status()};
  return Drain(**d, read_size);
}

bool IsPrefix(std::string_view prefix, std::string_view whole) {
  return whole.substr(0, prefix.size()) == prefix;
}

// The promised error shape: DataLoss naming the input and an offset.
void ExpectDecodeError(const absl::Status& s, const std::string& name, const std::string& what) {
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_TRUE(absl::StartsWith(s.message(), absl::StrCat(name, ": "))) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "compressed byte offset ")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), what)) << s;
}

std::string Name(Format f) { return std::string(FormatName(f)); }

const Format kCompressed[] = {Format::kGzip, Format::kZstd, Format::kBzip2, Format::kXz};

// ---------------------------------------------------------------------------
// Sniff and FormatName.

TEST(SniffTest, RecognisesEveryMagic) {
  EXPECT_EQ(Sniff(std::string_view("\x1f\x8b\x08\x00\x00\x00", 6)), Format::kGzip);
  EXPECT_EQ(Sniff(std::string_view("\x1f\x8b", 2)), Format::kGzip);
  EXPECT_EQ(Sniff(std::string_view("\x28\xb5\x2f\xfd\x00\x00", 6)), Format::kZstd);
  EXPECT_EQ(Sniff("BZh91AY&SY"), Format::kBzip2);
  EXPECT_EQ(Sniff("BZh is a log line"), Format::kPlain);  // no block-size digit
  EXPECT_EQ(Sniff(std::string_view("\xfd\x37\x7a\x58\x5a\x00", 6)), Format::kXz);
  EXPECT_EQ(Sniff(""), Format::kPlain);
  EXPECT_EQ(Sniff("\x1f"), Format::kPlain);
  EXPECT_EQ(Sniff(std::string_view("\x28\xb5\x2f", 3)), Format::kPlain);
  EXPECT_EQ(Sniff("BZ"), Format::kPlain);
  EXPECT_EQ(Sniff(std::string_view("\xfd\x37\x7a\x58\x5a", 5)), Format::kPlain);
  EXPECT_EQ(Sniff("Mar  5 14:59:59 gw kernel"), Format::kPlain);
}

TEST(SniffTest, RecognisesWhatTheCompressorsWrite) {
  const std::string text = LogText(1000);
  for (Format f : kCompressed) {
    EXPECT_EQ(Sniff(std::string_view(Compress(f, text)).substr(0, kSniffBytes)), f)
        << FormatName(f);
  }
}

TEST(SniffTest, FormatNames) {
  EXPECT_EQ(FormatName(Format::kPlain), "plain");
  EXPECT_EQ(FormatName(Format::kGzip), "gzip");
  EXPECT_EQ(FormatName(Format::kZstd), "zstd");
  EXPECT_EQ(FormatName(Format::kBzip2), "bzip2");
  EXPECT_EQ(FormatName(Format::kXz), "xz");
}

TEST(MakeDecoderTest, PlainIsPassedThrough) {
  Decoded r = DecodeBytes(Format::kPlain, "abc\ndef", 2);
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.out, "abc\ndef");
}

// ---------------------------------------------------------------------------
// Round trips: every format, read sizes from 1 byte to 4 MiB, raw reads from
// 1 byte (a trickling pipe) to unlimited.

struct RoundTripCase {
  Format format;
  size_t read_size;
  size_t raw_chunk;
  size_t text_bytes;
};

class RoundTripTest : public testing::TestWithParam<RoundTripCase> {};

TEST_P(RoundTripTest, DecodesExactly) {
  const RoundTripCase& c = GetParam();
  const std::string text = LogText(c.text_bytes, 7);
  const std::string archive = Compress(c.format, text);
  Decoded r = DecodeBytes(c.format, archive, c.read_size, c.raw_chunk);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.out.size(), text.size());
  EXPECT_TRUE(r.out == text);
  EXPECT_EQ(r.raw_offset, archive.size());
}

std::vector<RoundTripCase> RoundTripCases() {
  std::vector<RoundTripCase> cases;
  for (Format f : kCompressed) {
    cases.push_back({f, 1, SIZE_MAX, 200'000});                  // 1-byte reads
    cases.push_back({f, 1, 1, 50'000});                          // 1-byte reads, 1-byte raw reads
    cases.push_back({f, 7, 3, 100'000});                         // odd sizes both ways
    cases.push_back({f, 4096, 1000, 500'000});                   // typical pipe-ish sizes
    cases.push_back({f, 65536, SIZE_MAX, 3'000'000});            // medium
    cases.push_back({f, size_t{4} << 20, SIZE_MAX, 6'000'000});  // large reads
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllFormats, RoundTripTest, testing::ValuesIn(RoundTripCases()),
                         [](const testing::TestParamInfo<RoundTripCase>& info) {
                           const RoundTripCase& c = info.param;
                           return absl::StrCat(Name(c.format), "_read", c.read_size, "_raw",
                                               c.raw_chunk == SIZE_MAX ? 0 : c.raw_chunk);
                         });

TEST(DecoderTest, EveryFormatReadsZeroAfterTheEnd) {
  for (Format f : kCompressed) {
    auto d = MakeDecoder(f, std::make_unique<MemoryStream>(Compress(f, "one line\n")), "x");
    ASSERT_TRUE(d.ok());
    Decoded r = Drain(**d, 100);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.out, "one line\n");
    char c;
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<size_t> got = (*d)->Read(&c, 1);
      ASSERT_TRUE(got.ok());
      EXPECT_EQ(*got, 0u);
    }
  }
}

TEST(DecoderTest, EmptyContentInEveryFormat) {
  for (Format f : kCompressed) {
    Decoded r = DecodeBytes(f, Compress(f, ""), 10);
    EXPECT_TRUE(r.status.ok()) << FormatName(f) << ": " << r.status;
    EXPECT_EQ(r.out, "");
  }
}

TEST(DecoderTest, EmptyInputIsTruncated) {
  for (Format f : kCompressed) {
    Decoded r = DecodeBytes(f, "", 10, SIZE_MAX, "empty.bin");
    ExpectDecodeError(r.status, "empty.bin",
                      absl::StrCat("truncated ", Name(f),
                                   " data: input ends at "
                                   "compressed byte offset 0"));
  }
}

// ---------------------------------------------------------------------------
// gzip specifics.

TEST(GzipTest, MultiMemberWithEmptyMembers) {
  const std::string a = LogText(300'000, 1), b = LogText(200'000, 2);
  const std::string archive = Gzip("") + Gzip(a) + Gzip("") + Gzip("") + Gzip(b) + Gzip("");
  for (size_t read_size : {size_t{1}, size_t{333}, size_t{1} << 20}) {
    for (size_t raw_chunk : {size_t{1}, size_t{17}, SIZE_MAX}) {
      if (read_size == 1 && raw_chunk == 1) continue;  // slow, covered elsewhere
      Decoded r = DecodeBytes(Format::kGzip, archive, read_size, raw_chunk);
      ASSERT_TRUE(r.status.ok()) << r.status;
      EXPECT_TRUE(r.out == a + b) << read_size << " " << raw_chunk;
      EXPECT_EQ(r.raw_offset, archive.size());
    }
  }
}

TEST(GzipTest, EmptyMemberAlone) {
  Decoded r = DecodeBytes(Format::kGzip, Gzip(""), 1);
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.out, "");
}

TEST(GzipTest, ManyTinyMembers) {
  std::string archive, text;
  for (int i = 0; i < 2000; ++i) {
    std::string line = absl::StrCat("line ", i, "\n");
    archive += Gzip(line);
    text += line;
  }
  Decoded r = DecodeBytes(Format::kGzip, archive, 100, 1000);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.out, text);
}

// A member header with every optional field (FEXTRA, FNAME, FCOMMENT, FHCRC),
// each longer than ISA-L's internal header buffer, fed one byte at a time.
TEST(GzipTest, HeaderWithAllOptionalFields) {
  const std::string text = LogText(50'000);
  std::string hdr("\x1f\x8b\x08\x1f\x00\x00\x00\x00\x00\x03", 10);  // FLG: all of them
  const std::string extra(3000, 'x');
  hdr += static_cast<char>(extra.size() & 0xff);
  hdr += static_cast<char>(extra.size() >> 8);
  hdr += extra;
  hdr += std::string(5000, 'n') + '\0';  // FNAME
  hdr += std::string(700, 'c') + '\0';   // FCOMMENT
  const uint32_t crc = crc32_gzip_refl(0, reinterpret_cast<const uint8_t*>(hdr.data()), hdr.size());
  std::string member = hdr;
  member += static_cast<char>(crc & 0xff);
  member += static_cast<char>((crc >> 8) & 0xff);
  member += IsalDeflate(text, /*hdr=*/false);
  for (size_t raw_chunk : {size_t{1}, SIZE_MAX}) {
    Decoded r = DecodeBytes(Format::kGzip, member + Gzip("tail\n"), 4096, raw_chunk);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_TRUE(r.out == text + "tail\n");
  }
  // A wrong header CRC16 is caught.
  std::string bad = member;
  bad[hdr.size()] ^= 1;
  ExpectDecodeError(DecodeBytes(Format::kGzip, bad, 4096, SIZE_MAX, "h.gz").status, "h.gz",
                    "corrupt gzip data");
}

TEST(GzipTest, TrailingGarbageIsAnErrorAtItsOffset) {
  const std::string text = LogText(100'000);
  const std::string member = Gzip(text);
  for (std::string garbage : {std::string("hello"), std::string(512, '\0'), std::string("\n"),
                              std::string("\x1f\x8c", 2)}) {
    for (size_t read_size : {size_t{1000}, size_t{1} << 20}) {
      Decoded r = DecodeBytes(Format::kGzip, member + garbage, read_size, SIZE_MAX, "g.gz");
      ExpectDecodeError(r.status, "g.gz",
                        absl::StrCat("corrupt gzip data at compressed byte offset ", member.size(),
                                     ": unexpected bytes after the end of a gzip member"));
      EXPECT_TRUE(r.out == text);  // everything before the garbage came out first
    }
  }
}

TEST(GzipTest, CrcAndIsizeAreChecked) {
  const std::string text = LogText(100'000);
  const std::string member = Gzip(text);
  for (size_t pos : {member.size() - 8, member.size() - 5, member.size() - 4, member.size() - 1}) {
    std::string bad = member;
    bad[pos] ^= 0x40;
    Decoded r = DecodeBytes(Format::kGzip, bad, 65536, SIZE_MAX, "c.gz");
    ExpectDecodeError(r.status, "c.gz", "checksum mismatch");
    EXPECT_TRUE(IsPrefix(r.out, text));
  }
}

TEST(GzipTest, SystemGzipAndPigzConcatenated) {
  if (!HaveTool("gzip")) GTEST_SKIP() << "gzip not installed";
  const std::string a = LogText(400'000, 3), b = LogText(100'000, 4);
  std::string archive = RunTool("gzip -c -6", a) + RunTool("gzip -c -1", b);
  std::string expect = a + b;
  if (HaveTool("pigz")) {
    // pigz writes one member built from independently compressed chunks
    // joined by empty stored blocks; -i resets the dictionary per block.
    archive += RunTool("pigz -c -p 2 -b 128", a) + RunTool("pigz -c -i -b 128", b);
    expect += a + b;
  }
  Decoded r = DecodeBytes(Format::kGzip, archive, 65536, 4000);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_TRUE(r.out == expect);
}

// ---------------------------------------------------------------------------
// zstd specifics.

std::string SkippableFrame(std::string_view payload) {
  std::string f("\x50\x2a\x4d\x18", 4);  // magic 0x184D2A50, little-endian
  const uint32_t n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) f += static_cast<char>((n >> (8 * i)) & 0xff);
  return f + std::string(payload);
}

TEST(ZstdTest, MultiFrameWithSkippableFrames) {
  const std::string a = LogText(300'000, 5), b = LogText(100'000, 6);
  const std::string archive = SkippableFrame("meta") + Zstd(a, 1) + SkippableFrame("") +
                              Zstd("", 3) + Zstd(b, 19) + SkippableFrame(std::string(1000, 's'));
  for (size_t read_size : {size_t{1}, size_t{4096}, size_t{1} << 20}) {
    Decoded r = DecodeBytes(Format::kZstd, archive, read_size, read_size == 1 ? SIZE_MAX : 999);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_TRUE(r.out == a + b);
    EXPECT_EQ(r.raw_offset, archive.size());
  }
}

TEST(ZstdTest, WindowOverTheLimitIsRefused) {
  // Frame header asking for a 2 GiB window (Window_Descriptor exponent 21),
  // then an empty last raw block.
  const std::string frame("\x28\xb5\x2f\xfd\x00\xa8\x01\x00\x00", 9);
  Decoded r = DecodeBytes(Format::kZstd, frame, 100, SIZE_MAX, "w.zst");
  ExpectDecodeError(r.status, "w.zst", "corrupt zstd data");
}

TEST(ZstdTest, TrailingGarbageIsAnError) {
  const std::string text = LogText(10'000);
  const std::string archive = Zstd(text);
  Decoded r =
      DecodeBytes(Format::kZstd, archive + "garbage after the end!", 100, SIZE_MAX, "t.zst");
  ExpectDecodeError(r.status, "t.zst", "corrupt zstd data");
  EXPECT_TRUE(r.out == text);
  // Fewer bytes than a header: may read as a cut-short next zstd stream.
  r = DecodeBytes(Format::kZstd, archive + "x", 100, SIZE_MAX, "t.zst");
  ExpectDecodeError(r.status, "t.zst", "zstd data");
  EXPECT_TRUE(r.out == text);
}

// libzstd reports nothing from a call that fails, so the decoder feeds it one
// block at a time: a corrupt block must cost exactly that block, whatever
// the read size. Blocks hold 128 KiB of content each.
TEST(ZstdTest, BlocksBeforeACorruptBlockComeOut) {
  constexpr size_t kBlock = 128 * 1024;
  const std::string text = LogText(1'200'000, 41);
  const std::string archive = Zstd(text, 1);
  std::mt19937 rng(7);
  int checked = 0;
  for (int i = 0; i < 40; ++i) {
    std::string bad = archive;
    const size_t pos = archive.size() / 4 + rng() % (archive.size() / 2);
    bad[pos] ^= 0x55;
    Decoded tiny = DecodeBytes(Format::kZstd, bad, 1000, 5000, "b.zst");
    Decoded large = DecodeBytes(Format::kZstd, bad, size_t{4} << 20, SIZE_MAX, "b.zst");
    ASSERT_FALSE(large.status.ok());
    EXPECT_EQ(tiny.out.size(), large.out.size()) << pos;
    if (absl::StrContains(large.status.message(), "checksum"))
      continue;  // bad data, not bad blocks
    ++checked;
    EXPECT_EQ(large.out.size() % kBlock, 0u) << pos << " " << large.status;
    EXPECT_GT(large.out.size(), 0u);
    EXPECT_TRUE(IsPrefix(large.out, text)) << pos;
  }
  EXPECT_GT(checked, 10);
}

TEST(ZstdTest, SystemZstd) {
  if (!HaveTool("zstd")) GTEST_SKIP() << "zstd not installed";
  const std::string a = LogText(500'000, 8);
  const std::string archive = RunTool("zstd -q -c -19", a) + RunTool("zstd -q -c --long=27", a);
  Decoded r = DecodeBytes(Format::kZstd, archive, 65536);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_TRUE(r.out == a + a);
}

// ---------------------------------------------------------------------------
// bzip2 and xz specifics.

TEST(Bzip2Test, ConcatenatedStreams) {
  const std::string a = LogText(250'000, 9), b = LogText(30'000, 10);
  const std::string archive = Bzip2(a) + Bzip2("") + Bzip2(b);
  for (size_t read_size : {size_t{1}, size_t{65536}}) {
    Decoded r = DecodeBytes(Format::kBzip2, archive, read_size, 5000);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_TRUE(r.out == a + b);
  }
}

TEST(Bzip2Test, TrailingGarbageIsAnError) {
  const std::string text = LogText(10'000);
  const std::string archive = Bzip2(text);
  Decoded r =
      DecodeBytes(Format::kBzip2, archive + "garbage after the end!", 100, SIZE_MAX, "t.bz2");
  ExpectDecodeError(r.status, "t.bz2", "corrupt bzip2 data");
  EXPECT_TRUE(r.out == text);
  // Fewer bytes than a header: may read as a cut-short next bzip2 stream.
  r = DecodeBytes(Format::kBzip2, archive + "x", 100, SIZE_MAX, "t.bz2");
  ExpectDecodeError(r.status, "t.bz2", "bzip2 data");
  EXPECT_TRUE(r.out == text);
}

TEST(Bzip2Test, SystemBzip2) {
  if (!HaveTool("bzip2")) GTEST_SKIP() << "bzip2 not installed";
  const std::string a = LogText(300'000, 11);
  const std::string archive = RunTool("bzip2 -c -9", a) + RunTool("bzip2 -c -1", a);
  Decoded r = DecodeBytes(Format::kBzip2, archive, 65536);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_TRUE(r.out == a + a);
}

TEST(XzTest, ConcatenatedStreamsAndPadding) {
  const std::string a = LogText(250'000, 12), b = LogText(30'000, 13);
  // xz allows stream padding (NUL bytes, a multiple of four) between streams.
  const std::string archive = Xz(a) + std::string(8, '\0') + Xz("") + Xz(b);
  for (size_t read_size : {size_t{1}, size_t{65536}}) {
    Decoded r = DecodeBytes(Format::kXz, archive, read_size, 5000);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_TRUE(r.out == a + b);
  }
}

TEST(XzTest, TrailingGarbageIsAnError) {
  const std::string text = LogText(10'000);
  const std::string archive = Xz(text);
  Decoded r = DecodeBytes(Format::kXz, archive + "garbage after the end!", 100, SIZE_MAX, "t.xz");
  ExpectDecodeError(r.status, "t.xz", "corrupt xz data");
  EXPECT_TRUE(r.out == text);
  // Fewer bytes than a header: may read as a cut-short next xz stream.
  r = DecodeBytes(Format::kXz, archive + "x", 100, SIZE_MAX, "t.xz");
  ExpectDecodeError(r.status, "t.xz", "xz data");
  EXPECT_TRUE(r.out == text);
}

TEST(XzTest, SystemXz) {
  if (!HaveTool("xz")) GTEST_SKIP() << "xz not installed";
  const std::string a = LogText(300'000, 14);
  const std::string archive =
      RunTool("xz -c -6", a) + RunTool("xz -c -1 -T2 --block-size=65536", a);
  Decoded r = DecodeBytes(Format::kXz, archive, 65536);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_TRUE(r.out == a + a);
}

// ---------------------------------------------------------------------------
// Damage: truncation at every offset, bit flips, raw read errors.

class DamageTest : public testing::TestWithParam<Format> {};

TEST_P(DamageTest, TruncatedAtEveryOffset) {
  const Format f = GetParam();
  const std::string text = LogText(8'000, 21);
  const std::string archive = Compress(f, text);
  const std::string name = absl::StrCat("cut.", Name(f));
  for (size_t len = 0; len < archive.size(); ++len) {
    SCOPED_TRACE(len);
    // Alternate tiny and large reads, whole and trickled raw input.
    Decoded r = DecodeBytes(f, archive.substr(0, len), len % 2 ? 3 : 1 << 16,
                            len % 4 < 2 ? 7 : SIZE_MAX, name);
    ExpectDecodeError(
        r.status, name,
        absl::StrCat("truncated ", Name(f), " data: input ends at compressed byte offset ", len));
    EXPECT_TRUE(IsPrefix(r.out, text));
  }
}

TEST_P(DamageTest, BitFlipsAreCaughtOrHarmless) {
  const Format f = GetParam();
  const std::string text = LogText(10'000, 22);
  const std::string archive = Compress(f, text);
  const std::string name = absl::StrCat("flip.", Name(f));
  std::mt19937 rng(99);
  int errors = 0;
  for (int i = 0; i < 800; ++i) {
    std::string bad = archive;
    const size_t pos = i < 200 ? static_cast<size_t>(i) % archive.size() : rng() % archive.size();
    bad[pos] ^= static_cast<char>(1u << (rng() % 8));
    if (i % 3 == 0) bad[rng() % bad.size()] ^= static_cast<char>(rng() & 0xff);
    SCOPED_TRACE(absl::StrCat("flip ", i, " at ", pos));
    Decoded r = DecodeBytes(f, bad, i % 2 ? 1 : 65536, i % 5 ? SIZE_MAX : 11, name);
    EXPECT_LE(r.raw_offset, bad.size());
    if (r.status.ok()) {
      // Every format here carries a checksum, so an undetected change must
      // have hit a field that does not alter the data (gzip MTIME, OS, ...).
      EXPECT_TRUE(r.out == text);
    } else {
      ++errors;
      EXPECT_EQ(r.status.code(), absl::StatusCode::kDataLoss) << r.status;
      EXPECT_TRUE(absl::StartsWith(r.status.message(), name + ": ")) << r.status;
      EXPECT_TRUE(absl::StrContains(r.status.message(), "offset")) << r.status;
    }
  }
  EXPECT_GT(errors, 500);
}

TEST_P(DamageTest, OutputBeforeACorruptStreamComesFirst) {
  const Format f = GetParam();
  const std::string good = LogText(400'000, 23);
  std::string second = Compress(f, LogText(100'000, 24));
  second[second.size() / 2] ^= 0x10;
  const std::string name = absl::StrCat("two.", Name(f));
  for (size_t read_size : {size_t{1} << 10, size_t{1} << 22}) {
    Decoded r = DecodeBytes(f, Compress(f, good) + second, read_size, SIZE_MAX, name);
    EXPECT_EQ(r.status.code(), absl::StatusCode::kDataLoss) << r.status;
    EXPECT_TRUE(absl::StrContains(r.status.message(), "offset")) << r.status;
    ASSERT_GE(r.out.size(), good.size());
    EXPECT_TRUE(r.out.substr(0, good.size()) == good);
  }
}

TEST_P(DamageTest, RawReadErrorIsPassedOn) {
  const Format f = GetParam();
  const std::string text = LogText(200'000, 25);
  const std::string archive = Compress(f, text);
  auto d = MakeDecoder(f, std::make_unique<FailingStream>(archive, archive.size() / 2), "r");
  ASSERT_TRUE(d.ok());
  Decoded r = Drain(**d, 4096);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(r.status.message(), "raw: read error at byte offset 7: EIO");
  EXPECT_TRUE(IsPrefix(r.out, text));
  // The error sticks.
  char c;
  EXPECT_FALSE((*d)->Read(&c, 1).ok());
}

INSTANTIATE_TEST_SUITE_P(AllFormats, DamageTest, testing::ValuesIn(kCompressed),
                         [](const testing::TestParamInfo<Format>& info) {
                           return std::string(FormatName(info.param));
                         });

// ---------------------------------------------------------------------------
// FdStream with a sniffed prefix, the way the driver opens inputs.

Decoded DecodeFd(int fd, std::string name, size_t read_size) {
  std::string head(kSniffBytes, '\0');
  size_t have = 0;
  while (have < head.size()) {
    ssize_t got = ::read(fd, head.data() + have, head.size() - have);
    if (got <= 0) break;
    have += static_cast<size_t>(got);
  }
  head.resize(have);
  const Format f = Sniff(head);
  auto d = MakeDecoder(f, std::make_unique<FdStream>(fd, true, name, head), name);
  EXPECT_TRUE(d.ok());
  return Drain(**d, read_size);
}

TEST(FdStreamTest, FileWithSniffedPrefix) {
  const std::string text = LogText(700'000, 31);
  for (Format f : {Format::kPlain, Format::kGzip, Format::kZstd, Format::kBzip2, Format::kXz}) {
    const std::string path = TempPath(Name(f));
    const std::string archive = Compress(f, text);
    WriteFile(path, archive);
    Decoded r = DecodeFd(::open(path.c_str(), O_RDONLY), path, 1 << 16);
    std::remove(path.c_str());
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_TRUE(r.out == text) << FormatName(f);
    EXPECT_EQ(r.raw_offset, archive.size());
  }
}

TEST(FdStreamTest, PipeWithShortWrites) {
  const std::string text = LogText(300'000, 32);
  for (Format f : kCompressed) {
    const std::string archive = Compress(f, text);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    // A writer that trickles the archive in odd-sized pieces, like a slow
    // producer on standard input.
    std::thread writer([&archive, w = fds[1]] {
      size_t pos = 0, step = 1;
      while (pos < archive.size()) {
        size_t n = std::min(step, archive.size() - pos);
        ssize_t put = ::write(w, archive.data() + pos, n);
        if (put <= 0) break;
        pos += static_cast<size_t>(put);
        step = step * 3 % 9001 + 1;
      }
      ::close(w);
    });
    Decoded r = DecodeFd(fds[0], "stdin", 4096);
    writer.join();
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_TRUE(r.out == text) << FormatName(f);
  }
}

TEST(FdStreamTest, TruncatedFileNamesTheFile) {
  const std::string text = LogText(100'000, 33);
  const std::string archive = Gzip(text);
  const std::string path = TempPath("cut.gz");
  WriteFile(path, archive.substr(0, 1000));
  Decoded r = DecodeFd(::open(path.c_str(), O_RDONLY), path, 1 << 16);
  std::remove(path.c_str());
  ExpectDecodeError(r.status, path,
                    "truncated gzip data: input ends at compressed byte offset 1000");
  EXPECT_TRUE(IsPrefix(r.out, text));
}

}  // namespace
}  // namespace logtally::io
