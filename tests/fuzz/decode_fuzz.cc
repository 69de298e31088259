// Fuzz target for io/decode.h: any bytes go through Sniff and MakeDecoder the
// way the driver opens an input, and are read to the end twice, once with
// large reads and once with tiny reads over a trickling raw stream. Beyond
// "no crash, no hang, no sanitizer report" it checks the decoders' promises:
// reads never overfill, raw_offset() never runs backwards or past the input,
// an error is DataLoss naming the input and an offset (a truncation names the
// input's size), an ended stream stays ended, an error sticks, and both runs
// yield the same bytes and the same outcome (lengths before an error may
// differ only where a library makes that unavoidable: see CheckOne).
//
// Built with clang -fsanitize=fuzzer it is a libFuzzer target. Built with
// -DLOGTALLY_FUZZ_STANDALONE (any compiler) it has its own main():
//   decode_fuzz FILE...            replays the files;
//   decode_fuzz [--seconds=S] [--iterations=N] [--seed=X]
//                                  mutates built-in seed archives (bit flips,
//                                  byte changes, truncations, splices,
//                                  insertions) deterministically from X for S
//                                  seconds (default 10) or N inputs, so CI
//                                  can run it briefly without clang.
// A failed check aborts after saving the input to decode_fuzz_failure.bin.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "io/byte_stream.h"
#include "io/decode.h"

namespace logtally::io {
namespace {

constexpr absl::string_view kName = "fuzz-input";

// Output caps: a few kilobytes of input can expand to gigabytes (a legal
// decompression bomb); the caps keep one input well under a second. The tiny
// read run is ~100x slower per byte, hence its lower cap.
constexpr size_t kLargeReadCap = size_t{8} << 20;
constexpr size_t kSmallReadCap = size_t{256} << 10;
constexpr size_t kLargeRead = size_t{1} << 20;

// The input being checked, written out when a check fails (libFuzzer saves
// its own crash inputs; the standalone driver relies on this).
std::string_view current_input;

[[noreturn]] void Die(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "decode_fuzz: invariant broken: %.*s %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(detail.size()), detail.data());
#ifdef LOGTALLY_FUZZ_STANDALONE
  if (FILE* f = std::fopen("decode_fuzz_failure.bin", "wb")) {
    std::fwrite(current_input.data(), 1, current_input.size(), f);
    std::fclose(f);
    std::fprintf(stderr, "decode_fuzz: input saved to decode_fuzz_failure.bin (%zu bytes)\n",
                 current_input.size());
  }
#endif
  std::abort();
}

void Check(bool ok, std::string_view what, std::string_view detail = {}) {
  if (!ok) Die(what, detail);
}

// In-memory raw stream handing out at most `chunk` bytes per read.
class MemoryStream final : public ByteStream {
 public:
  MemoryStream(std::string_view data, size_t chunk) : data_(data), chunk_(chunk) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    size_t take = std::min({n, chunk_, data_.size() - pos_});
    if (take > 0) std::memcpy(buf, data_.data() + pos_, take);
    pos_ += take;
    return take;
  }
  uint64_t raw_offset() const override { return pos_; }

 private:
  std::string_view data_;
  size_t chunk_;
  size_t pos_ = 0;
};

struct Outcome {
  // Reused from input to input (cleared, capacity kept): growing fresh
  // multi-megabyte strings each time dominated the run time under ASan.
  std::string& out;
  absl::Status status;
  bool capped = false;  // stopped at the output cap, not at the end
};

// The decimal number after `marker` in `message`, or -1.
int64_t NumberAfter(absl::string_view message, absl::string_view marker) {
  size_t at = message.find(marker);
  if (at == absl::string_view::npos) return -1;
  absl::string_view rest = message.substr(at + marker.size());
  size_t len = 0;
  while (len < rest.size() && rest[len] >= '0' && rest[len] <= '9') ++len;
  int64_t v = -1;
  if (len == 0 || !absl::SimpleAtoi(rest.substr(0, len), &v)) return -1;
  return v;
}

// Reads to the end, the first error or the cap. `small` cycles tiny read
// sizes and feeds the raw input in pieces of 1-13 bytes.
Outcome Run(std::string_view data, Format format, bool small, size_t cap, std::string& out) {
  const size_t raw_chunk = small ? 1 + data.size() % 13 : SIZE_MAX;
  absl::StatusOr<std::unique_ptr<ByteStream>> made =
      MakeDecoder(format, std::make_unique<MemoryStream>(data, raw_chunk), std::string(kName));
  Check(made.ok(), "MakeDecoder failed", made.status().ToString());
  ByteStream& d = **made;

  static constexpr size_t kSmallSizes[] = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 4096};
  const size_t buf_size = small ? 4096 : kLargeRead;
  const std::unique_ptr<char[]> buf = std::make_unique_for_overwrite<char[]>(buf_size);
  out.clear();
  Outcome r{out, absl::OkStatus(), false};
  uint64_t last_offset = 0;
  for (size_t call = 0;; ++call) {
    // Every successful call returns data or ends the stream, so the number
    // of calls is bounded by the output cap; more means a loop.
    Check(call <= cap + 2, "too many reads");
    const size_t n = small ? kSmallSizes[call % std::size(kSmallSizes)] : buf_size;
    absl::StatusOr<size_t> got = d.Read(buf.get(), n);
    const uint64_t offset = d.raw_offset();
    Check(offset >= last_offset, "raw_offset went backwards");
    Check(offset <= data.size(), "raw_offset past the input");
    last_offset = offset;
    if (!got.ok()) {
      r.status = got.status();
      break;
    }
    Check(*got <= n, "read overfilled the buffer");
    if (*got == 0) break;
    r.out.append(buf.get(), *got);
    if (r.out.size() >= cap) {
      r.capped = true;
      return r;
    }
  }

  char probe[16];
  absl::StatusOr<size_t> again = d.Read(probe, sizeof probe);
  if (r.status.ok()) {
    Check(again.ok() && *again == 0, "an ended stream returned more");
    if (format == Format::kPlain) Check(r.out == data, "plain input altered");
    return r;
  }
  Check(!again.ok(), "an error did not stick");

  // The error shape promised by decode.h.
  const std::string msg(r.status.message());
  if (r.status.code() == absl::StatusCode::kResourceExhausted) return r;  // out of memory
  Check(r.status.code() == absl::StatusCode::kDataLoss, "error is not DataLoss", msg);
  Check(absl::StartsWith(msg, absl::StrCat(kName, ": ")), "error does not name the input", msg);
  const std::string fmt(FormatName(format));
  const int64_t cut = NumberAfter(msg, "data: input ends at compressed byte offset ");
  const int64_t bad = NumberAfter(msg, "data at compressed byte offset ");
  if (cut >= 0) {
    Check(absl::StartsWith(msg, absl::StrCat(kName, ": truncated ", fmt, " data")), "bad shape",
          msg);
    Check(static_cast<uint64_t>(cut) == data.size(), "truncation offset is not the input size",
          msg);
  } else {
    Check(bad >= 0, "error names no offset", msg);
    Check(absl::StartsWith(msg, absl::StrCat(kName, ": corrupt ", fmt, " data")), "bad shape", msg);
    Check(static_cast<uint64_t>(bad) <= data.size(), "error offset past the input", msg);
  }
  return r;
}

void CheckOne(std::string_view data) {
  current_input = data;
  const Format format = Sniff(data.substr(0, std::min(data.size(), kSniffBytes)));
  static std::string* large_out = new std::string;
  static std::string* small_out = new std::string;
  Outcome large = Run(data, format, /*small=*/false, kLargeReadCap, *large_out);
  Outcome small = Run(data, format, /*small=*/true, kSmallReadCap, *small_out);
  // Read sizes must not change what is decoded.
  const size_t common = std::min(large.out.size(), small.out.size());
  Check(std::memcmp(large.out.data(), small.out.data(), common) == 0,
        "small and large reads decode different bytes");
  if (!large.capped && !small.capped) {
    // One allowed difference: where gzip data goes bad, ISA-L's output ends
    // a little differently with the buffer sizes. On a bad back-reference
    // the decoder drops up to 258 bytes before the error (see
    // gzip_stream.cc); at a cut, the last few symbols need lookahead bits
    // that are not there. Either way a few hundred bytes at most.
    // bzip2: libbzip2 does not report the output of a call in which it finds
    // a block corrupt, so how much of a bad block's (garbage) output comes
    // out first depends on the read size. xz: where liblzma notices bad LZMA
    // data depends on how much input it had at hand. Only zstd is exact.
    size_t slack = 0;
    if (!large.status.ok() && format == Format::kGzip) slack = 1024;
    if (!large.status.ok() && (format == Format::kBzip2 || format == Format::kXz)) {
      slack = SIZE_MAX;
    }
    const size_t diff = large.out.size() > small.out.size() ? large.out.size() - small.out.size()
                                                            : small.out.size() - large.out.size();
    Check(diff <= slack, "small and large reads decode different lengths",
          absl::StrCat(large.out.size(), " vs ", small.out.size(), "; ", large.status.ToString(),
                       " vs ", small.status.ToString()));
    Check(large.status.code() == small.status.code(), "small and large reads end differently",
          absl::StrCat(large.status.ToString(), " vs ", small.status.ToString()));
  } else if (large.capped) {
    // The small run's cap is the lower one: it cannot end early while the
    // large run decodes past its own cap.
    Check(small.capped, "small reads ended early",
          absl::StrCat(small.out.size(), " bytes, ", small.status.ToString()));
  } else if (large.status.ok() || format == Format::kZstd) {
    // Only the small run hit its cap: where decoding is exact the large run
    // must have got at least as far.
    Check(large.out.size() >= small.out.size(), "large reads ended early",
          absl::StrCat(large.out.size(), " bytes, ", large.status.ToString()));
  }
}

}  // namespace
}  // namespace logtally::io

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  logtally::io::CheckOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

#ifdef LOGTALLY_FUZZ_STANDALONE

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <boost/iostreams/concepts.hpp>
#include <boost/iostreams/filter/bzip2.hpp>
#include <boost/iostreams/filter/lzma.hpp>
#include <boost/iostreams/filtering_stream.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <random>

namespace logtally::io {
namespace {

std::string SeedText(size_t bytes, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out;
  while (out.size() < bytes) {
    absl::StrAppend(&out, "Mar  5 14:59:", rng() % 60, " gw kernel: [", rng() % 1000,
                    ".2] NEW IN=eth1 OUT=eth0 SRC=10.0.0.", rng() % 256,
                    " DST=1.2.3.4 PROTO=TCP SPT=", rng() % 65536, " DPT=443\n");
  }
  return out;
}

std::string SeedGzip(std::string_view text) {
  isal_zstream z;
  isal_deflate_init(&z);
  std::vector<uint8_t> level_buf(ISAL_DEF_LVL1_DEFAULT);
  z.level = 1;
  z.level_buf = level_buf.data();
  z.level_buf_size = static_cast<uint32_t>(level_buf.size());
  z.gzip_flag = IGZIP_GZIP;
  z.end_of_stream = 1;
  z.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uint32_t>(text.size());
  std::string out(text.size() * 2 + 1024, '\0');
  z.next_out = reinterpret_cast<uint8_t*>(out.data());
  z.avail_out = static_cast<uint32_t>(out.size());
  isal_deflate(&z);
  out.resize(out.size() - z.avail_out);
  return out;
}

std::string SeedZstd(std::string_view text) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  std::string out(ZSTD_compressBound(text.size()), '\0');
  size_t n = ZSTD_compress2(c, out.data(), out.size(), text.data(), text.size());
  ZSTD_freeCCtx(c);
  out.resize(ZSTD_isError(n) ? 0 : n);
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
std::string SeedBoost(std::string_view text, Filter filter) {
  std::string out;
  {
    boost::iostreams::filtering_ostream os;
    os.push(filter);
    os.push(StringSink{&out});
    os.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  return out;
}

std::vector<std::string> Seeds() {
  namespace bio = boost::iostreams;
  std::vector<std::string> seeds;
  for (size_t bytes : {size_t{0}, size_t{200}, size_t{5000}, size_t{150000}}) {
    const std::string a = SeedText(bytes, static_cast<uint32_t>(bytes));
    const std::string b = SeedText(300, 7);
    seeds.push_back(SeedGzip(a));
    seeds.push_back(SeedGzip(a) + SeedGzip(b));
    seeds.push_back(SeedZstd(a));
    seeds.push_back(SeedZstd(a) + std::string("\x50\x2a\x4d\x18\x02\x00\x00\x00hi", 10) +
                    SeedZstd(b));
    seeds.push_back(SeedBoost(a, bio::bzip2_compressor(bio::bzip2_params(1))));
    seeds.push_back(SeedBoost(a, bio::bzip2_compressor()) + SeedBoost(b, bio::bzip2_compressor()));
    seeds.push_back(SeedBoost(a, bio::lzma_compressor()));
    seeds.push_back(SeedBoost(a, bio::lzma_compressor()) + std::string(4, '\0') +
                    SeedBoost(b, bio::lzma_compressor()));
  }
  seeds.push_back(SeedText(1000, 3));  // plain
  return seeds;
}

// One to four random edits of a seed: bit flips, byte overwrites,
// truncation, splices from another seed, insertions, deletions.
std::string Mutate(const std::vector<std::string>& seeds, std::mt19937_64& rng) {
  std::string s = seeds[rng() % seeds.size()];
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    const size_t pos = s.empty() ? 0 : rng() % s.size();
    switch (rng() % 7) {
      case 0:
      case 1:
        if (!s.empty()) s[pos] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 2:
        if (!s.empty()) s[pos] = static_cast<char>(rng());
        break;
      case 3: s.resize(pos); break;
      case 4: {  // splice: our head, another seed's tail
        const std::string& o = seeds[rng() % seeds.size()];
        const size_t from = o.empty() ? 0 : rng() % o.size();
        s = s.substr(0, pos) + o.substr(from);
        break;
      }
      case 5: {  // insert random bytes
        std::string junk(1 + rng() % 16, '\0');
        for (char& c : junk) c = static_cast<char>(rng());
        s.insert(pos, junk);
        break;
      }
      case 6:  // delete a range
        s.erase(pos, 1 + rng() % 64);
        break;
    }
  }
  return s;
}

int StandaloneMain(int argc, char** argv) {
  double seconds = 10;
  uint64_t iterations = 0, seed = 1;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    absl::string_view a = argv[i];
    if (absl::ConsumePrefix(&a, "--seconds=")) {
      if (!absl::SimpleAtod(a, &seconds)) return 2;
    } else if (absl::ConsumePrefix(&a, "--iterations=")) {
      if (!absl::SimpleAtoi(a, &iterations)) return 2;
    } else if (absl::ConsumePrefix(&a, "--seed=")) {
      if (!absl::SimpleAtoi(a, &seed)) return 2;
    } else if (absl::StartsWith(a, "-")) {
      std::fprintf(stderr, "usage: %s [FILE...] [--seconds=S] [--iterations=N] [--seed=X]\n",
                   argv[0]);
      return 2;
    } else {
      files.emplace_back(a);
    }
  }
  if (!files.empty()) {
    for (const std::string& f : files) {
      std::ifstream in(f, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "decode_fuzz: cannot open %s\n", f.c_str());
        return 2;
      }
      const std::string data(std::istreambuf_iterator<char>(in), {});
      CheckOne(data);
      std::printf("decode_fuzz: %s ok\n", f.c_str());
    }
    return 0;
  }

  const std::vector<std::string> seeds = Seeds();
  for (const std::string& s : seeds) CheckOne(s);
  std::mt19937_64 rng(seed);
  const auto start = std::chrono::steady_clock::now();
  uint64_t done = 0;
  for (;; ++done) {
    if (iterations > 0
            ? done >= iterations
            : std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >=
                  seconds) {
      break;
    }
    const std::string input = Mutate(seeds, rng);
    CheckOne(input);
  }
  std::printf("decode_fuzz: %zu seeds and %llu mutated inputs (seed %llu): no failure\n",
              seeds.size(), static_cast<unsigned long long>(done),
              static_cast<unsigned long long>(seed));
  return 0;
}

}  // namespace
}  // namespace logtally::io

int main(int argc, char** argv) { return logtally::io::StandaloneMain(argc, argv); }

#endif  // LOGTALLY_FUZZ_STANDALONE
