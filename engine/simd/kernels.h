// SIMD byte-scanning kernels with run-time dispatch.
//
// The scanning work of the engine reduces to three questions about a run of
// bytes: where is the next line end, where is the next "IN=", and which of the
// next 64 bytes are spaces. Each instruction set answers them in its own file
// (kernels_<isa>.cc), compiled with target attributes on internal-linkage
// functions only, so no AVX code can leak into shared inline code and the
// binary runs on any x86-64 CPU. The scalar kernel is the reference: tests
// compare every kernel with it on random input.
//
// No kernel reads outside [p, end): tails are handled with masked loads or by
// copying into a padded buffer (simdjson's habit), so a chunk that ends at the
// end of a mapping is safe.
#ifndef LOGTALLY_ENGINE_SIMD_KERNELS_H_
#define LOGTALLY_ENGINE_SIMD_KERNELS_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace logtally::engine::simd {

// Needles searched for in one pass by find_needles: " KEY=" for each wanted
// key and " [" for a bracketed part.
struct NeedleSet {
  static constexpr size_t kMax = 64;  // room for every wanted key and the bracket
  size_t count = 0;
  const char* text[kMax] = {};
  size_t len[kMax] = {};  // at least 2
  uint64_t stop = 0;      // the scan may end once all of these are found
};

struct Kernels {
  const char* name;
  // First '\n' in [p, end), or end.
  const char* (*find_newline)(const char* p, const char* end);
  // First i in [p, end) with "IN=" starting at i (all three bytes before
  // end), or end.
  const char* (*find_in_eq)(const char* p, const char* end);
  // Bit k is set when p[k] == ' ', for k < 64; bits for p + k >= end are set
  // too, so a token never runs past the end.
  uint64_t (*space_mask)(const char* p, const char* end);
  // First occurrence of needle[0..len) lying wholly in [p, end), or end.
  // len >= 2. Used for " KEY=" and " [" in the body of a record.
  const char* (*find_needle)(const char* p, const char* end, const char* needle, size_t len);
  // All needles of `set` in one pass over [p, end). For a needle in
  // set.stop, found[i] is its first occurrence lying wholly in [p, end), or
  // end. For any other needle, found[i] is its first occurrence when that
  // starts before the last-starting stop needle's occurrence (or when some
  // stop needle is absent); otherwise it is that first occurrence or end.
  void (*find_needles)(const char* p, const char* end, const NeedleSet& set, const char** found);
};

// find_needles from find_needle, one needle at a time: for kernels without a
// fused pass.
inline void FindNeedlesOneByOne(const char* (*find_needle)(const char*, const char*, const char*, size_t),
                                const char* p, const char* end, const NeedleSet& set,
                                const char** found) {
  const char* last = p;
  bool all = true;
  for (size_t i = 0; i < set.count; ++i) {
    if ((set.stop >> i & 1) == 0) continue;
    found[i] = find_needle(p, end, set.text[i], set.len[i]);
    if (found[i] >= end) all = false; else if (found[i] > last) last = found[i];
  }
  for (size_t i = 0; i < set.count; ++i) {
    if ((set.stop >> i & 1) != 0) continue;
    // Only occurrences starting before `last` must be found.
    const char* lim = all ? (end - last > static_cast<ptrdiff_t>(set.len[i]) ? last + set.len[i] : end) : end;
    const char* f = find_needle(p, lim, set.text[i], set.len[i]);
    found[i] = f >= lim ? end : f;
  }
}

const Kernels& ScalarKernels();
const Kernels& Sse2Kernels();
const Kernels& Avx2Kernels();
const Kernels& Avx512Kernels();

// Kernels this CPU can run, best first.
std::vector<const Kernels*> SupportedKernels();

// Looks a kernel up by name ("scalar", "sse2", "avx2", "avx512") among the
// supported ones; nullptr when unknown or unsupported.
const Kernels* FindKernels(std::string_view name);

// The kernel in use: the environment variable LOGTALLY_KERNEL when it names a
// supported kernel, else the best supported one. Chosen once per process.
const Kernels& ActiveKernels();

// Overrides the active kernel (for tests); returns false when
// the name is unknown or unsupported on this CPU.
bool SetActiveKernels(std::string_view name);

}  // namespace logtally::engine::simd

#endif  // LOGTALLY_ENGINE_SIMD_KERNELS_H_
