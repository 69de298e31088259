// Deterministic randomness for the generator: a small fast PRNG, seed
// derivation, and alias tables for sampling from fixed discrete distributions.
//
// Every block of output gets its own Rng seeded from (seed, block index), so
// what a block contains never depends on which thread made it or when.
#ifndef LOGTALLY_DATASETS_GEN_RANDOM_H_
#define LOGTALLY_DATASETS_GEN_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace logtally::datasets {

// SplitMix64's finaliser: a bijective 64-bit mixer.
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Murmur3's 32-bit finaliser xor-ed with a salt: a bijection on 32-bit values
// (every step is invertible), used to give ids stable random-looking values.
inline uint32_t Perm32(uint32_t x, uint32_t salt) {
  x ^= salt;
  x ^= x >> 16;
  x *= 0x85ebca6bU;
  x ^= x >> 13;
  x *= 0xc2b2ae35U;
  x ^= x >> 16;
  return x;
}

// Seed of a named sub-stream (the world, a block) of the run's seed.
inline uint64_t SubSeed(uint64_t seed, uint64_t stream, uint64_t index) {
  // 0x9e3779b97f4a7c15 is 2^64 / golden ratio, the usual SplitMix increment.
  return Mix64(Mix64(seed ^ (stream * 0x9e3779b97f4a7c15ULL)) + index);
}

// wyrand: one 64x64->128 multiply per draw, passes BigCrush, 8 bytes of state.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    // The two constants are wyhash's published wyrand constants.
    state_ += 0xa0761d6478bd642fULL;
    const unsigned __int128 m = static_cast<unsigned __int128>(state_) *
                                (state_ ^ 0xe7037ed1a0b428dbULL);
    return static_cast<uint64_t>(m >> 64) ^ static_cast<uint64_t>(m);
  }

  // Uniform in [0, n) by multiply-shift (Lemire); the bias is below 2^-32.
  uint32_t Below(uint32_t n) {
    return static_cast<uint32_t>(((Next() >> 32) * n) >> 32);
  }
  uint64_t Below64(uint64_t n) {
    return static_cast<uint64_t>(
        (static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  // Uniform in [lo, hi], inclusive.
  uint32_t Range(uint32_t lo, uint32_t hi) { return lo + Below(hi - lo + 1); }
  // True with probability per_10k / 10000.
  bool Chance(uint32_t per_10k) { return Below(10000) < per_10k; }

 private:
  uint64_t state_;
};

// Walker/Vose alias table: O(1) sampling of index i with probability
// weight[i] / sum(weights). Built once, read by all threads.
class AliasTable {
 public:
  AliasTable() = default;
  explicit AliasTable(const std::vector<double>& weights);

  uint32_t Sample(Rng& rng) const {
    const uint64_t r = rng.Next();
    const auto i = static_cast<uint32_t>(((r >> 32) * size_) >> 32);
    const Column& c = columns_[i];
    return static_cast<uint32_t>(r) < c.threshold ? i : c.alias;
  }
  uint32_t size() const { return static_cast<uint32_t>(size_); }

 private:
  // Both halves of a column side by side, so a draw touches one cache line.
  struct Column {
    uint32_t threshold;  // keep i when the 32-bit coin is below this
    uint32_t alias;
  };
  uint64_t size_ = 0;
  std::vector<Column> columns_;
};

// Weights 1/(rank+1)^exponent for ranks 0..n-1: a Zipf distribution.
std::vector<double> ZipfWeights(size_t n, double exponent);

}  // namespace logtally::datasets

#endif  // LOGTALLY_DATASETS_GEN_RANDOM_H_
