// Tally files: a counting run's exact groups, kept (docs/tally-format.md is
// the byte-by-byte description; this file is its only writer and reader).
//
// A tally is the external merge's output, finished: the groups of each hash
// partition (the engine's own partition function, count_table.h) as one or
// more runs sorted by encoded key, cut into blocks of about kTallyBlockBytes
// that are zstd-compressed and checksummed (XXH64) one by one, then the
// metadata (the query and every parameter that changes values, the inputs
// and how far they were counted, the records' time span, the run's totals)
// as JSON, an index of the blocks, and a trailer that locates both.
//
// TallyWriter collects runs from the combine phase in parallel (it is a
// PartitionSaver) and writes the file in partition order through an
// io::OutputFile, so it appears whole or not at all. TallyFile opens a tally,
// checks its trailer, metadata and index, and TallyRunReader reads one run's
// (key, count) records back in key order, checking every block. Merging and
// comparing tallies is tally_merge.h's.
#ifndef LOGTALLY_ENGINE_TALLY_H_
#define LOGTALLY_ENGINE_TALLY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/count_table.h"
#include "engine/query.h"
#include "engine/rows.h"
#include "engine/run_options.h"
#include "engine/spill.h"
#include "io/atomic_file.h"

namespace logtally::engine {

// The format version this build writes and reads.
inline constexpr uint32_t kTallyVersion = 1;
// Raw (decompressed) bytes per block, about: a block always ends after a
// whole record. A merge holds one block of every run it reads at once, raw
// and compressed, so this bounds its memory per run (2 x 32 KiB); zstd's
// ratio on sorted keys is within a few percent of 64 KiB blocks.
inline constexpr size_t kTallyBlockBytes = size_t{32} << 10;
// The name of the hash whose top kPartitionBits bits pick a key's partition
// (HashBytes of the encoded key, count_table.cc). Tallies partitioned
// otherwise cannot be merged run by run.
inline constexpr const char* kTallyHashName = "logtally-hashbytes-1";

// One input of a counting run, as far as it was counted.
struct TallyInput {
  std::string path;     // as named on the command line ("-": standard input)
  std::string format;   // plain, gzip, zstd, bzip2, xz
  uint64_t size = 0;    // file bytes at open (0 for a pipe)
  uint64_t read = 0;    // file bytes read (compressed bytes for an archive)
  uint64_t start = 0;   // decoded bytes skipped before counting began
  uint64_t decoded = 0; // decoded bytes counted, from `start`
  int64_t mtime = 0;    // modification time, seconds (0 for a pipe)
  // XXH64 of the first head_bytes decoded bytes of the input (from offset
  // 0, not `start`), and of the last tail_bytes of the counted range.
  uint64_t head_bytes = 0, tail_bytes = 0;
  std::string head, tail;  // 16 hex digits each; empty when unknown
  std::string error;       // why the input was not read to its end; empty if it was
};

// The run's totals, as the summary line gives them.
struct TallyTotals {
  uint64_t lines = 0, records = 0, other = 0, counted = 0, filtered = 0, uncounted_other = 0,
           malformed = 0, bytes = 0, raw_bytes = 0, groups = 0;
  void Add(const TallyTotals& o);
};
TallyTotals TotalsOf(const RunStats& s);
RunStats StatsOf(const TallyTotals& t);

// Everything a tally says about itself besides its groups.
struct TallyMeta {
  uint32_t version = kTallyVersion;
  std::string written_by;                 // "logtally 0.1.0"
  std::vector<std::string> key;           // column names, in key order
  std::vector<std::string> where;         // conditions, as written
  // The settings that change the values of this query's keys and
  // conditions, by name (sorted): only those that matter for it.
  std::vector<std::pair<std::string, std::string>> params;
  std::string hash = kTallyHashName;
  int partition_bits = kPartitionBits;
  uint64_t tallies = 1;  // counting runs added up in it (merge sums them)
  std::vector<TallyInput> inputs;
  TallyTotals totals;
  bool has_span = false;
  int64_t first = 0, last = 0;  // the counted records' earliest and latest TIME, epoch seconds
  std::string run;  // count --state: the run that wrote it (16 hex digits); empty otherwise
};

// The parameters of `q` that change what its keys and conditions yield:
// the time window, --utc, the year rule and the time zone when TIME is read,
// the service table when `service` is used, and the input mode.
// `services_id` names a --services table (by content), empty for the
// built-in one.
std::vector<std::pair<std::string, std::string>> TallyParams(const Query& q, const RunOptions& options,
                                                             std::string_view services_id);

// Ok when tallies `a` and `b` count the same query; otherwise a message
// naming the first difference, e.g. "the keys differ: DST,DPT (a.tally)
// against SRC (b.tally)".
absl::Status SameQuery(const TallyMeta& a, std::string_view a_name, const TallyMeta& b,
                       std::string_view b_name);

// The metadata as the JSON document the file holds, and back.
std::string MetaToJson(const TallyMeta& m);
absl::StatusOr<TallyMeta> MetaFromJson(std::string_view json);

// Writes a tally. Runs of different partitions may be written from
// different threads at once; the runs of one partition from one thread at a
// time (each is numbered in the order it was started). Each partition's
// blocks wait in a temporary file until Write puts them in order.
class TallyWriter : public PartitionSaver {
 public:
  explicit TallyWriter(std::string temp_dir);
  ~TallyWriter() override;
  TallyWriter(const TallyWriter&) = delete;
  TallyWriter& operator=(const TallyWriter&) = delete;

  // One run of one partition: Add records in ascending key order (each key
  // once), then Finish.
  class Run {
   public:
    Run(TallyWriter& w, size_t partition);
    ~Run();
    Run(Run&&) = delete;
    absl::Status Add(std::string_view key, uint64_t count);
    absl::Status Finish();

   private:
    absl::Status FlushBlock();
    TallyWriter& w_;
    size_t partition_;
    uint16_t run_;
    std::string raw_;
    std::string compressed_;
    uint32_t records_ = 0;
    void* cctx_ = nullptr;  // ZSTD_CCtx
  };

  // PartitionSaver: the groups of `t`, sorted by key, as one run of `p`.
  void SavePartition(size_t p, const HashTable& t) override;
  // The first error of any run (SavePartition keeps its errors here).
  absl::Status error() const;
  uint64_t groups() const;

  // Writes the file: the header, every partition's blocks in order, the
  // metadata (meta.totals.groups is set to the groups written), the index
  // and the trailer. Does not commit `out`.
  absl::Status Write(TallyMeta meta, io::OutputFile& out);

 private:
  friend class Run;
  struct Block {
    uint64_t offset;  // in the partition's temporary file
    uint32_t payload, raw, records;
    uint16_t run;
  };
  struct Partition {
    std::mutex mu;
    std::unique_ptr<TempFile> file;
    std::vector<Block> blocks;
    uint16_t runs = 0;
  };
  void Fail(absl::Status s);
  std::string temp_dir_;
  std::vector<Partition> parts_;
  mutable std::mutex mu_;
  absl::Status error_;
  std::atomic<uint64_t> groups_{0};
};

// An opened tally: metadata and index read and checked; blocks are read and
// checked when a run is read.
class TallyFile {
 public:
  static absl::StatusOr<std::unique_ptr<TallyFile>> Open(const std::string& path);
  ~TallyFile();
  TallyFile(const TallyFile&) = delete;
  TallyFile& operator=(const TallyFile&) = delete;

  struct Block {
    uint64_t offset;
    uint32_t payload, raw, records;
    uint16_t partition, run;
  };
  const std::string& path() const { return path_; }
  const TallyMeta& meta() const { return meta_; }
  const std::vector<Block>& blocks() const { return blocks_; }
  // Partition p's runs, each the indices of its blocks in order.
  const std::vector<std::vector<size_t>>& runs(size_t p) const { return runs_[p]; }
  uint64_t size() const { return size_; }

  // Reads block i, checks it and decompresses it into `raw`; `scratch`
  // holds the compressed bytes. An error names the file and the block.
  absl::Status ReadBlock(size_t i, std::string& scratch, std::string& raw) const;
  // Every block read and checked, as a merge would.
  absl::Status Verify() const;
  // An error naming the file, block i, its partition and its bytes.
  absl::Status BlockError(size_t i, std::string_view what) const;

 private:
  TallyFile() = default;
  int fd_ = -1;
  std::string path_;
  uint64_t size_ = 0;
  TallyMeta meta_;
  std::vector<Block> blocks_;
  std::vector<std::vector<std::vector<size_t>>> runs_;
};

// The (key, count) records of one run, in ascending key order, read a block
// at a time (one block's bytes in memory, raw and compressed).
class TallyRunReader {
 public:
  TallyRunReader(const TallyFile& file, const std::vector<size_t>& blocks)
      : file_(file), blocks_(blocks) {}
  // False at the end of the run. key() stays valid until the next call.
  absl::StatusOr<bool> Next();
  std::string_view key() const { return key_; }
  uint64_t count() const { return count_; }

 private:
  const TallyFile& file_;
  const std::vector<size_t>& blocks_;
  size_t next_block_ = 0;
  size_t current_ = 0;  // block being read
  std::string scratch_, raw_;
  size_t pos_ = 0;
  uint32_t left_ = 0;  // records left in the block
  std::string_view key_;
  std::string prev_;   // the last key of the previous block, for the order check
  bool have_prev_ = false;
  uint64_t count_ = 0;
};

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_TALLY_H_
