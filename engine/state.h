// count --state DIR: what earlier runs counted of each input, so that the
// next run counts only what is new.
//
// The state remembers contents, not names. Each entry is one content (a log
// file as it grows, then renamed, compressed, dated or copied by logrotate):
// the XXH64 of its first 4 KiB decoded, how many decoded bytes of it were
// counted (always up to the end of a line), the XXH64 of the 4 KiB before
// that point, and the last file that held it (its name, size, time and raw
// fingerprints, which let an archive that has not changed be passed over
// without decoding it). An input is the continuation of an entry when its
// first bytes hash alike and the bytes before the counted point are still
// there, unchanged: then only what follows is counted. An input that
// continues no entry is new and counted whole; one that shrank or whose
// counted part changed is counted from the start, with a warning. No entry
// is continued by two inputs, so no line is counted twice.
//
// The directory holds `state` (JSON), `state.pending` while a run commits,
// and `lock`. A run writes `state.pending` naming its tally, then the tally,
// then renames the pending state into place; a run killed in between is
// finished (the tally exists and names the run) or undone (it does not) by
// the next one. This file plans and records; counting is RunCount's.
#ifndef LOGTALLY_ENGINE_STATE_H_
#define LOGTALLY_ENGINE_STATE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/pipeline.h"
#include "engine/run_options.h"
#include "engine/tally.h"
#include "io/input.h"

namespace logtally::engine {

struct StateEntry {
  std::string path;    // the last file that held this content
  std::string format;  // plain, gzip, ...
  // That file as it was when last read: size, modification time and XXH64
  // of its first and last 4 KiB as stored (compressed, for an archive);
  // raw_head empty when unknown.
  uint64_t raw_size = 0;
  int64_t mtime = 0;
  std::string raw_head, raw_tail;
  uint64_t head_bytes = 0;  // decoded bytes from offset 0 that `head` hashes
  std::string head;
  uint64_t counted = 0;     // decoded bytes counted, from offset 0 (a line end)
  uint64_t tail_bytes = 0;  // decoded bytes before `counted` that `tail` hashes
  std::string tail;
  bool complete = false;    // nothing after `counted` (a finished archive, a file read to its end)
  int64_t seen = 0;         // when a run last found it (epoch seconds)
};

struct CountState {
  TallyMeta query;  // key, conditions and settings (no inputs)
  std::vector<StateEntry> entries;
};

// What to do with one input.
struct InputPlan {
  bool count = true;   // false: nothing new in it
  InputRange range;    // with count: the part to count
  int entry = -1;      // the state entry it continues, or -1 (new content)
  // The file as planned (StateEntry's raw fields).
  std::string format;
  uint64_t raw_size = 0;
  int64_t mtime = 0;
  std::string raw_head, raw_tail;
  bool verified_complete = false;  // an archive decoded to its end, nothing new
  bool duplicate = false;  // the same content as another input: not counted, not remembered
};

class StateDir {
 public:
  // Creates DIR if needed, locks it against other runs, finishes or undoes
  // a run that was interrupted while committing (a line for each in
  // `notes`), and reads the state (none on the first run).
  static absl::StatusOr<std::unique_ptr<StateDir>> Open(const std::string& dir, std::vector<std::string>* notes);
  ~StateDir();
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;

  const std::string& dir() const { return dir_; }
  const CountState* state() const { return has_state_ ? &state_ : nullptr; }

  // First half of the commit: `next` is written as state.pending, naming
  // the run and its tally (empty: none).
  absl::Status Prepare(const CountState& next, const std::string& run, const std::string& tally);
  // Second half: the pending state becomes the state.
  absl::Status Commit();

 private:
  StateDir() = default;
  std::string dir_;
  int lock_fd_ = -1;
  bool has_state_ = false;
  CountState state_;
};

// Plans each input against `state` (null: the first run): what is new in
// it. Reads each file's ends, and decodes an archive that continues an
// entry up to the counted point to check it. `warnings` gets a line for each
// input counted from the start because it changed, and for remembered
// content that no input holds any more. Errors: an input that is not a
// regular file (standard input, a pipe), or cannot be read.
absl::StatusOr<std::vector<InputPlan>> PlanInputs(const CountState* state, const std::vector<io::InputSpec>& inputs,
                                                  size_t chunk_size, std::vector<std::string>* warnings);

// The state after a run: `query`, the entries of `old` that no input
// continued, and one entry per input (`reports[i]` for inputs[i] when it
// was counted: counted_inputs maps input i to its report, or -1).
CountState NextState(const CountState* old, const TallyMeta& query, const std::vector<io::InputSpec>& inputs,
                     const std::vector<InputPlan>& plans, const std::vector<int>& counted_inputs,
                     const std::vector<InputReport>& reports, int64_t now);

std::string StateToJson(const CountState& s, const std::string& run, const std::string& tally);
absl::StatusOr<CountState> StateFromJson(std::string_view json, std::string* run, std::string* tally);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_STATE_H_
