// Every SIMD kernel must answer exactly as the scalar reference kernel, on
// random input, at every start offset and length, and must never read past
// the end of its range (the buffer ends at a PROT_NONE guard page).
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/simd/kernels.h"
#include "gtest/gtest.h"

namespace logtally::engine::simd {
namespace {

// A buffer whose last byte sits just before an unmapped page.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t n) : n_(n) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    total_ = ((n + page_ - 1) / page_ + 1) * page_;
    base_ = static_cast<char*>(mmap(nullptr, total_, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    mprotect(base_ + total_ - page_, page_, PROT_NONE);
  }
  ~GuardedBuffer() { munmap(base_, total_); }
  char* data() { return base_ + total_ - page_ - n_; }

 private:
  size_t n_, page_, total_;
  char* base_;
};

std::string RandomText(std::mt19937_64& rng, size_t n) {
  // Mostly the bytes the kernels look for, so matches are dense.
  static const char kAlphabet[] = "IN= \n\nINxI=N  abc\r\0\xff";
  std::uniform_int_distribution<size_t> pick(0, sizeof kAlphabet - 2);
  std::string s(n, ' ');
  for (auto& c : s) c = kAlphabet[pick(rng)];
  return s;
}

TEST(KernelsTest, ScalarIsAlwaysSupported) {
  auto ks = SupportedKernels();
  ASSERT_FALSE(ks.empty());
  EXPECT_STREQ(ks.back()->name, "scalar");
  EXPECT_NE(FindKernels("sse2"), nullptr);
  EXPECT_EQ(FindKernels("nonsense"), nullptr);
}

TEST(KernelsTest, EveryKernelMatchesScalarOnRandomInput) {
  const Kernels& ref = ScalarKernels();
  std::mt19937_64 rng(42);
  for (const Kernels* k : SupportedKernels()) {
    SCOPED_TRACE(k->name);
    for (size_t len = 0; len <= 200; ++len) {
      GuardedBuffer buf(len);
      std::string text = RandomText(rng, len);
      std::copy(text.begin(), text.end(), buf.data());
      const char* b = buf.data();
      const char* e = b + len;
      for (size_t off = 0; off <= len; ++off) {
        ASSERT_EQ(k->find_newline(b + off, e), ref.find_newline(b + off, e)) << len << " " << off;
        ASSERT_EQ(k->find_in_eq(b + off, e), ref.find_in_eq(b + off, e)) << len << " " << off;
        ASSERT_EQ(k->space_mask(b + off, e), ref.space_mask(b + off, e)) << len << " " << off;
        for (const char* nd : {" IN=", "IN", " [", "N= I", " INxI=N  a"}) {
          size_t nl = std::strlen(nd);
          ASSERT_EQ(k->find_needle(b + off, e, nd, nl), ref.find_needle(b + off, e, nd, nl))
              << len << " " << off << " " << nd;
        }
      }
    }
  }
}

// find_needles against one find_needle per needle (scalar), under its
// contract: stop needles exact; any other needle exact when it starts before
// the last stop needle found (or when one is absent), else exact or end.
void CheckFindNeedles(const Kernels& k, const char* b, const char* e, const NeedleSet& set,
                      const std::string& where) {
  const Kernels& ref = ScalarKernels();
  const char* got[NeedleSet::kMax];
  k.find_needles(b, e, set, got);
  const char* last = b;
  bool all = true;
  for (size_t i = 0; i < set.count; ++i) {
    if ((set.stop >> i & 1) == 0) continue;
    const char* want = ref.find_needle(b, e, set.text[i], set.len[i]);
    ASSERT_EQ(got[i], want) << where << " stop needle " << i;
    if (want >= e) all = false; else if (want > last) last = want;
  }
  for (size_t i = 0; i < set.count; ++i) {
    if ((set.stop >> i & 1) != 0) continue;
    const char* want = ref.find_needle(b, e, set.text[i], set.len[i]);
    if (!all || want < last) {
      ASSERT_EQ(got[i], want) << where << " needle " << i;
    } else {
      ASSERT_TRUE(got[i] == want || got[i] == e) << where << " needle " << i;
    }
  }
}

TEST(KernelsTest, FindNeedlesMatchesOneNeedleAtATime) {
  std::mt19937_64 rng(11);
  const std::vector<std::vector<const char*>> sets = {
      {" IN=", " ["}, {"IN", "N= I", " ["}, {" INxI=N  a", " I", "=N", " ["},
      {" I", "N=", "\n\n", "IN=", "xI", " [", "ab", "c\r", "  ", "= ", "NN", "II", "I=", "N ", " N", " ["}};
  for (const Kernels* k : SupportedKernels()) {
    SCOPED_TRACE(k->name);
    for (const auto& words : sets) {
      NeedleSet set;
      for (const char* w : words) {
        set.text[set.count] = w;
        set.len[set.count] = std::strlen(w);
        ++set.count;
      }
      set.stop = (uint64_t{1} << (set.count - 1)) - 1;  // all but the last
      for (size_t len = 0; len <= 160; ++len) {
        GuardedBuffer buf(len);
        std::string text = RandomText(rng, len);
        std::copy(text.begin(), text.end(), buf.data());
        for (size_t off = 0; off <= len; off += 1 + off / 16) {
          CheckFindNeedles(*k, buf.data() + off, buf.data() + len, set,
                           std::to_string(len) + "/" + std::to_string(off));
        }
      }
      // Sparse: long runs without candidates, one needle planted far out.
      for (int trial = 0; trial < 100; ++trial) {
        size_t len = 1 + rng() % 3000;
        GuardedBuffer buf(len);
        std::fill(buf.data(), buf.data() + len, 'x');
        const char* w = words[rng() % words.size()];
        size_t wl = std::strlen(w);
        if (wl <= len) std::memcpy(buf.data() + rng() % (len - wl + 1), w, wl);
        CheckFindNeedles(*k, buf.data(), buf.data() + len, set, "sparse " + std::to_string(len));
      }
    }
  }
}

TEST(KernelsTest, LongSparseInput) {
  // Long runs without a match exercise the main loops, not just the tails.
  const Kernels& ref = ScalarKernels();
  std::mt19937_64 rng(7);
  for (const Kernels* k : SupportedKernels()) {
    SCOPED_TRACE(k->name);
    for (int trial = 0; trial < 200; ++trial) {
      size_t len = 1 + rng() % 5000;
      GuardedBuffer buf(len);
      std::fill(buf.data(), buf.data() + len, 'x');
      size_t pos = rng() % len;
      buf.data()[pos] = (trial % 2) ? '\n' : 'I';
      if (trial % 2 == 0 && pos + 2 < len) {
        buf.data()[pos + 1] = 'N';
        buf.data()[pos + 2] = '=';
      }
      const char* b = buf.data();
      const char* e = b + len;
      ASSERT_EQ(k->find_newline(b, e), ref.find_newline(b, e));
      ASSERT_EQ(k->find_in_eq(b, e), ref.find_in_eq(b, e));
      ASSERT_EQ(k->find_needle(b, e, "IN=", 3), ref.find_needle(b, e, "IN=", 3));
      ASSERT_EQ(k->find_needle(b, e, "xx\n", 3), ref.find_needle(b, e, "xx\n", 3));
    }
  }
}

TEST(KernelsTest, ActiveKernelCanBeForced) {
  ASSERT_TRUE(SetActiveKernels("scalar"));
  EXPECT_STREQ(ActiveKernels().name, "scalar");
  EXPECT_FALSE(SetActiveKernels("bogus"));
  ASSERT_TRUE(SetActiveKernels(SupportedKernels().front()->name));
}

}  // namespace
}  // namespace logtally::engine::simd
