#include <atomic>
#include <cstdlib>

#include "engine/simd/kernels.h"

namespace logtally::engine::simd {
namespace {

bool CpuHas(const char* feature) {
  __builtin_cpu_init();
  std::string_view f = feature;
  if (f == "avx2") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2");
  if (f == "avx512") {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("bmi2");
  }
  return true;
}

std::atomic<const Kernels*> g_active{nullptr};

}  // namespace

std::vector<const Kernels*> SupportedKernels() {
  std::vector<const Kernels*> out;
  if (CpuHas("avx512")) out.push_back(&Avx512Kernels());
  if (CpuHas("avx2")) out.push_back(&Avx2Kernels());
  out.push_back(&Sse2Kernels());
  out.push_back(&ScalarKernels());
  return out;
}

const Kernels* FindKernels(std::string_view name) {
  for (const Kernels* k : SupportedKernels()) {
    if (name == k->name) return k;
  }
  return nullptr;
}

const Kernels& ActiveKernels() {
  const Kernels* k = g_active.load(std::memory_order_acquire);
  if (k != nullptr) return *k;
  const char* env = std::getenv("LOGTALLY_KERNEL");
  k = env != nullptr ? FindKernels(env) : nullptr;
  if (k == nullptr) k = SupportedKernels().front();
  g_active.store(k, std::memory_order_release);
  return *k;
}

bool SetActiveKernels(std::string_view name) {
  const Kernels* k = FindKernels(name);
  if (k == nullptr) return false;
  g_active.store(k, std::memory_order_release);
  return true;
}

}  // namespace logtally::engine::simd
