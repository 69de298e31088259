// LOGTALLY_TRACE=1: each phase's end time of a counting run on stderr, for
// finding where the time goes (docs/choices.md). Off, it costs one getenv
// per run. Diagnostics only: nothing here changes a result.
#ifndef LOGTALLY_ENGINE_TRACE_H_
#define LOGTALLY_ENGINE_TRACE_H_

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace logtally::engine {

class PhaseTrace {
 public:
  explicit PhaseTrace(std::chrono::steady_clock::time_point t0)
      : t0_(t0), on_(std::getenv("LOGTALLY_TRACE") != nullptr) {}
  void Mark(const char* phase) const {
    if (!on_) return;
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_).count();
    std::fprintf(stderr, "logtally trace: %9.1f ms  %s\n", ms, phase);
  }

 private:
  std::chrono::steady_clock::time_point t0_;
  bool on_;
};

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_TRACE_H_
