// Decompression front end: bytes/s of decoded output for gzip (ISA-L) and
// zstd over the benchmark text, through MakeDecoder exactly as inputs are
// read. Checked: the decoded bytes equal the original.
#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <cstring>
#include <memory>
#include <string>

#include "bench/bench_data.h"
#include "benchmark/benchmark.h"
#include "io/decode.h"

namespace logtally::bench {
namespace {

class MemoryStream : public io::ByteStream {
 public:
  explicit MemoryStream(const std::string& s) : s_(s) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    size_t take = std::min(n, s_.size() - pos_);
    std::memcpy(buf, s_.data() + pos_, take);
    pos_ += take;
    return take;
  }
  uint64_t raw_offset() const override { return pos_; }

 private:
  const std::string& s_;
  size_t pos_ = 0;
};

const std::string& Zstd() {
  static const std::string z = [] {
    const std::string& t = SampleText();
    std::string out(ZSTD_compressBound(t.size()), '\0');
    size_t n = ZSTD_compress(out.data(), out.size(), t.data(), t.size(), 3);
    out.resize(ZSTD_isError(n) ? 0 : n);
    return out;
  }();
  return z;
}

const std::string& Gzip() {
  static const std::string g = [] {
    const std::string& t = SampleText();
    std::string out(t.size() + (1 << 20), '\0');
    isal_zstream s;
    isal_deflate_init(&s);
    std::unique_ptr<uint8_t[]> level_buf(new uint8_t[ISAL_DEF_LVL1_DEFAULT]);
    s.level = 1;
    s.level_buf = level_buf.get();
    s.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    s.gzip_flag = IGZIP_GZIP;
    s.end_of_stream = 1;
    s.flush = NO_FLUSH;
    s.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(t.data()));
    s.avail_in = static_cast<uint32_t>(t.size());
    s.next_out = reinterpret_cast<uint8_t*>(out.data());
    s.avail_out = static_cast<uint32_t>(out.size());
    if (isal_deflate(&s) != COMP_OK || s.internal_state.state != ZSTATE_END) return std::string();
    out.resize(s.total_out);
    return out;
  }();
  return g;
}

void BM_Decode(benchmark::State& state, io::Format format) {
  const std::string& packed = format == io::Format::kGzip ? Gzip() : Zstd();
  const std::string& text = SampleText();
  if (packed.empty()) {
    state.SkipWithError("could not compress the input");
    return;
  }
  std::string buf(size_t{1} << 20, '\0');
  for (auto _ : state) {
    auto dec = io::MakeDecoder(format, std::make_unique<MemoryStream>(packed), "bench");
    if (!dec.ok()) {
      state.SkipWithError("decoder");
      return;
    }
    size_t total = 0;
    bool same = true;
    for (;;) {
      absl::StatusOr<size_t> n = (*dec)->Read(buf.data(), buf.size());
      if (!n.ok()) {
        state.SkipWithError("decode error");
        return;
      }
      if (*n == 0) break;
      same = same && std::memcmp(buf.data(), text.data() + total, *n) == 0;
      total += *n;
    }
    if (!same || total != text.size()) state.SkipWithError("decoded bytes differ");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK_CAPTURE(BM_Decode, gzip_isal, io::Format::kGzip)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Decode, zstd, io::Format::kZstd)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace logtally::bench
