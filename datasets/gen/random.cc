// Alias-table construction (Vose's method) and Zipf weights.
#include "datasets/gen/random.h"

#include <algorithm>
#include <cmath>

namespace logtally::datasets {

AliasTable::AliasTable(const std::vector<double>& weights)
    : size_(weights.size()), columns_(weights.size()) {
  const size_t n = weights.size();
  double total = 0;
  for (double w : weights) total += w;
  std::vector<double> scaled(n);
  std::vector<uint32_t> small, large;
  for (size_t i = 0; i < n; ++i) {
    scaled[i] = weights[i] * static_cast<double>(n) / total;
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
  }
  constexpr double kOne = 4294967296.0;  // 2^32, the coin's range
  while (!small.empty() && !large.empty()) {
    const uint32_t s = small.back();
    small.pop_back();
    const uint32_t l = large.back();
    // scaled[s] < 1; the clamp only guards rounding just below 1.
    columns_[s].threshold = static_cast<uint32_t>(std::min(scaled[s] * kOne, kOne - 1));
    columns_[s].alias = l;
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // Whatever is left is 1 up to rounding error: always keep the column.
  // Its alias is itself, so the coin's one value not below the threshold
  // (2^32 - 1) keeps it too.
  for (const auto* rest : {&large, &small}) {
    for (uint32_t i : *rest) {
      columns_[i].threshold = 0xffffffffU;
      columns_[i].alias = i;
    }
  }
}

std::vector<double> ZipfWeights(size_t n, double exponent) {
  std::vector<double> w(n);
  for (size_t r = 0; r < n; ++r) w[r] = 1.0 / std::pow(static_cast<double>(r + 1), exponent);
  return w;
}

}  // namespace logtally::datasets
