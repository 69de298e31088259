#include "io/xxhash64.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

namespace logtally::io {
namespace {

// Published values of XXH64 (the reference implementation's xxhsum and
// its sanity test), seed 0.
TEST(Xxh64Test, KnownValues) {
  EXPECT_EQ(HashHex(Xxh64("", 0)), "ef46db3751d8e999");
  EXPECT_EQ(HashHex(Xxh64("a", 1)), "d24ec4f1a98c6e5b");
  EXPECT_EQ(HashHex(Xxh64("abc", 3)), "44bc2cf5ad770999");
  EXPECT_EQ(Xxh64(std::string_view("abc")), Xxh64("abc", 3, 0));
}

// Every length from 0 to 300 (all the tails of the 32-byte stripes), three
// seeds, against the system's libxxhash where it is installed.
TEST(Xxh64Test, MatchesLibxxhash) {
  void* lib = ::dlopen("libxxhash.so.0", RTLD_NOW);
  if (lib == nullptr) GTEST_SKIP() << "libxxhash.so.0 is not installed";
  using Fn = unsigned long long (*)(const void*, size_t, unsigned long long);
  auto xxh64 = reinterpret_cast<Fn>(::dlsym(lib, "XXH64"));
  ASSERT_NE(xxh64, nullptr);
  std::mt19937_64 rng(7);
  for (size_t n = 0; n <= 300; ++n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    for (uint64_t seed : {uint64_t{0}, uint64_t{1}, uint64_t{0x9e3779b97f4a7c15}}) {
      EXPECT_EQ(Xxh64(s.data(), n, seed), xxh64(s.data(), n, seed)) << "length " << n << " seed " << seed;
    }
  }
  ::dlclose(lib);
}

}  // namespace
}  // namespace logtally::io
