// Temporary files for counting beyond the memory budget, in the spirit of
// GNU sort's spill files and DuckDB's partition flush: the files, a gathering
// writer, a buffered reader, and the per-partition store that a run's threads
// spill into. What goes into the files and how they are merged back is
// external_merge.h's business; the varints come from key.h.
//
// Every temporary file is created unlinked (O_TMPFILE, or mkstemp + unlink):
// it has no name from the start, so nothing is left behind on success, on an
// error, on Ctrl-C or on a crash; the kernel frees the space when the file is
// closed. Records are compact: varint key length, key bytes, varint count.
// A full disk or an unwritable directory is an error value naming the
// directory, never a short file read back as data.
#ifndef LOGTALLY_ENGINE_SPILL_H_
#define LOGTALLY_ENGINE_SPILL_H_

#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/key.h"

namespace logtally::engine {

class TempFile {
 public:
  static absl::StatusOr<std::unique_ptr<TempFile>> Create(const std::string& dir);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  absl::Status Append(std::string_view bytes);
  // Appends the bytes of iov[0, count) (IOV_MAX at most) in one write;
  // `iov` is used up.
  absl::Status AppendV(struct iovec* iov, int count);
  uint64_t size() const { return size_; }
  // Records written, as counted by the writers (AddRecords): what the reader
  // sizes its table by before reading a byte.
  uint64_t records() const { return records_; }
  void AddRecords(uint64_t n) { records_ += n; }
  // Reads up to n bytes at `offset`; returns bytes read (0 at the end).
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t n) const;
  // The bytes before `offset` will not be read again: their pages are freed
  // (a hole is punched, in whole MiB), dirty or not, so that temporary data
  // already used is neither kept nor written back to the disk. Best effort:
  // a file system without holes keeps them until the file is closed.
  void Discard(uint64_t offset) const;

 private:
  TempFile(int fd, std::string dir) : fd_(fd), dir_(std::move(dir)) {}
  int fd_;
  std::string dir_;
  uint64_t size_ = 0;
  uint64_t records_ = 0;
  mutable uint64_t discarded_ = 0;
};

// Records gathered for one write: small pieces (varints, short keys) are
// copied into a scratch buffer, long keys are referenced where they lie and
// written from there (pwritev), so the bytes of a spilled table or a sorted
// run are copied once, by the kernel, not first into a buffer of ours.
// Referenced bytes must stay put until the next FlushTo.
class GatherWriter {
 public:
  // A record of the spill and run formats adds at most this many pieces.
  static constexpr size_t kMaxPiecesPerRecord = 3;
  GatherWriter();
  void Copy(const char* p, size_t n);
  void Varint(uint64_t v);
  void Ref(std::string_view s);
  // Ends a record: FlushTo adds the records ended to the file's count.
  void EndRecord() { ++records_; }
  // True when the next record might not fit, or enough bytes are gathered
  // for one write.
  bool full() const {
    return n_ + kMaxPiecesPerRecord > kMaxIov || used_ + kMaxCopied > kScratch ||
           bytes_ >= kFlushBytes;
  }
  size_t bytes() const { return bytes_; }
  // Writes everything gathered (and forgets it, also on an error).
  absl::Status FlushTo(TempFile& f);
  void Clear() { n_ = used_ = bytes_ = records_ = 0; }

 private:
  static constexpr size_t kMaxIov = 1024;        // IOV_MAX on Linux
  static constexpr size_t kCopyBelow = 128;      // shorter keys are copied
  static constexpr size_t kMaxCopied = 2 * 10 + kCopyBelow;  // per record
  static constexpr size_t kScratch = size_t{256} << 10;
  static constexpr size_t kFlushBytes = size_t{1} << 20;
  std::unique_ptr<char[]> scratch_;
  std::unique_ptr<struct iovec[]> iov_;
  size_t n_ = 0, used_ = 0, bytes_ = 0, records_ = 0;
};

// Sequential buffered reader over a TempFile.
class TempReader {
 public:
  static constexpr size_t kPageSize = 4096;
  explicit TempReader(const TempFile* file, size_t buffer = size_t{1} << 16)
      : file_(file), buf_(buffer) {}
  // Makes at least `n` bytes available at data() unless the file ends first;
  // returns the bytes available.
  absl::StatusOr<size_t> Fill(size_t n);
  const char* data() const { return buf_.data() + pos_; }
  void Consume(size_t n) { pos_ += n; }
  bool AtEnd() const { return pos_ == len_ && offset_ >= file_->size(); }

 private:
  const TempFile* file_;
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
  uint64_t offset_ = 0;
};

// Reads the (key, count) records of a spill file one by one.
class SpillRecordReader {
 public:
  explicit SpillRecordReader(const TempFile* f) : reader_(f, size_t{1} << 20) {}
  // Returns false at the end; key stays valid until the next call.
  absl::StatusOr<bool> Next(std::string_view* key, uint64_t* count);

 private:
  TempReader reader_;
  std::string key_;
};

// A set of spill files, one per partition, created on first use. Append is
// thread-safe per partition.
class SpillStore {
 public:
  SpillStore(std::string dir, size_t partitions);
  // Writes what `w` gathered to partition `partition`'s file.
  absl::Status Append(size_t partition, GatherWriter& w);
  // Writes `records` records already laid out in `bytes` there.
  absl::Status AppendBytes(size_t partition, std::string_view bytes, uint64_t records);
  const TempFile* file(size_t p) const { return files_[p].get(); }
  // Hands partition p's file over (its pages are freed when it is dropped).
  std::unique_ptr<TempFile> Take(size_t p) { return std::move(files_[p]); }
  // Bytes appended so far, over all partitions (files taken included).
  uint64_t bytes() const { return written_.load(); }
  size_t spills() const { return spills_; }
  void CountSpill() {
    std::lock_guard<std::mutex> lock(count_mu_);
    ++spills_;
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<std::unique_ptr<TempFile>> files_;
  std::unique_ptr<std::mutex[]> mus_;
  std::mutex count_mu_;
  size_t spills_ = 0;
  std::atomic<uint64_t> written_{0};
};

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_SPILL_H_
