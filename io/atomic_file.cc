#include "io/atomic_file.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"

namespace logtally::io {
namespace {

// ---- cleanup of a named temporary file on a fatal signal ---------------------------------------

// The named temporary files to remove if a signal ends the process, in fixed
// slots: a signal handler may read them but not allocate. A run has at most
// two outputs open at once (the rules and their revert).
constexpr int kTempSlots = 4;
char g_temp_path[kTempSlots][PATH_MAX];
std::atomic<bool> g_temp_set[kTempSlots];

constexpr int kFatalSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGALRM, SIGPIPE, SIGUSR1, SIGUSR2};

extern "C" void RemoveTempsAndDie(int sig) {
  for (int i = 0; i < kTempSlots; ++i) {
    if (g_temp_set[i].load()) ::unlink(g_temp_path[i]);
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void InstallSignalCleanup() {
  static const bool installed = [] {
    for (int sig : kFatalSignals) {
      struct sigaction old {};
      ::sigaction(sig, nullptr, &old);
      if (old.sa_handler != SIG_DFL) continue;  // ignored or handled by someone else: keep it
      struct sigaction sa {};
      sa.sa_handler = RemoveTempsAndDie;
      ::sigemptyset(&sa.sa_mask);
      ::sigaction(sig, &sa, nullptr);
    }
    return true;
  }();
  (void)installed;
}

// Registers `path` for removal on a fatal signal; returns its slot, or -1
// when every slot is taken (the file is then removed on the ordinary ways
// out only).
int RememberTemp(const std::string& path) {
  InstallSignalCleanup();
  if (path.size() >= PATH_MAX) return -1;
  for (int i = 0; i < kTempSlots; ++i) {
    if (g_temp_set[i].load()) continue;
    std::memcpy(g_temp_path[i], path.c_str(), path.size() + 1);
    g_temp_set[i].store(true);
    return i;
  }
  return -1;
}

void ForgetTemp(int slot) {
  if (slot >= 0) g_temp_set[slot].store(false);
}

// ---- the checks before opening -----------------------------------------------------------------

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The target must not be an input: same device and inode, whatever the name.
absl::Status RefuseInput(const std::string& path, const struct stat& target,
                         const std::vector<std::string>& inputs) {
  for (const std::string& in : inputs) {
    struct stat st {};
    bool ok = in == "-" ? ::fstat(0, &st) == 0 : ::stat(in.c_str(), &st) == 0;
    if (ok && st.st_dev == target.st_dev && st.st_ino == target.st_ino) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": the output file is an input (", in == "-" ? "standard input" : in,
          "); writing it would destroy the log: choose another -o"));
    }
  }
  return absl::OkStatus();
}

// A name for linking into the target's directory; unused at the moment of
// asking (linkat fails with EEXIST if another process takes it meanwhile).
std::string TempName(const std::string& target) {
  static std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string name = absl::StrCat(target, ".tmp.");
  for (int i = 0; i < 8; ++i) name.push_back(kChars[rng() % (sizeof kChars - 1)]);
  return name;
}

}  // namespace

absl::StatusOr<OutputFile> OutputFile::Open(const std::string& path,
                                            const std::vector<std::string>& inputs) {
  OutputFile f;
  if (path.empty() || path == "-") {
    f.fd_ = 1;
    return f;
  }
  f.path_ = path;
  struct stat st {};
  bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": cannot write output: is a directory"));
    }
    // A device, FIFO or socket: written in place, never replaced.
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::PermissionDeniedError(
          absl::StrCat(path, ": cannot open output: ", std::strerror(errno)));
    }
    f.fd_ = fd;
    f.owns_fd_ = true;
    return f;
  }
  std::string target = path;
  mode_t mode = 0;
  if (exists) {
    if (absl::Status s = RefuseInput(path, st, inputs); !s.ok()) return s;
    // Replace the file a symbolic link names, not the link.
    char* real = ::realpath(path.c_str(), nullptr);
    if (real != nullptr) {
      target = real;
      ::free(real);
    }
    mode = st.st_mode & 07777;
  } else {
    mode_t mask = ::umask(0);
    ::umask(mask);
    mode = 0666 & ~mask;
  }
  f.path_ = target;
  int fd = ::open(DirOf(target).c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) {
    f.unnamed_ = true;
  } else {
    // No unnamed files here: a named one, removed on any way out.
    f.temp_path_ = absl::StrCat(target, ".tmp.XXXXXX");
    fd = ::mkstemp(f.temp_path_.data());
    if (fd < 0) {
      return absl::PermissionDeniedError(
          absl::StrCat(path, ": cannot create output file: ", std::strerror(errno)));
    }
    f.temp_slot_ = RememberTemp(f.temp_path_);
  }
  // The new file gets the old one's owner and group where the user may set
  // them (chown first: it can clear set-id bits), then its mode, or the
  // usual 0666 & ~umask.
  if (exists) (void)!::fchown(fd, st.st_uid, st.st_gid);
  ::fchmod(fd, mode);
  f.fd_ = fd;
  return f;
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      temp_slot_(std::exchange(other.temp_slot_, -1)),
      unnamed_(std::exchange(other.unnamed_, false)),
      owns_fd_(std::exchange(other.owns_fd_, false)),
      committed_(std::exchange(other.committed_, true)) {}

OutputFile::~OutputFile() {
  if ((owns_fd_ || unnamed_ || !temp_path_.empty()) && fd_ >= 0) ::close(fd_);
  if (!temp_path_.empty() && !committed_) {
    ::unlink(temp_path_.c_str());
    ForgetTemp(temp_slot_);
  }
}

absl::Status OutputFile::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::DataLossError(absl::StrCat(path_.empty() ? "standard output" : path_,
                                              ": write failed: ", std::strerror(errno)));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status OutputFile::Commit() {
  if (owns_fd_) {
    owns_fd_ = false;
    if (::close(std::exchange(fd_, -1)) != 0) {
      return absl::DataLossError(absl::StrCat(path_, ": write failed: ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  if (!unnamed_ && temp_path_.empty()) return absl::OkStatus();  // standard output
  if (::fsync(fd_) != 0) {
    return absl::DataLossError(absl::StrCat(path_, ": write failed: ", std::strerror(errno)));
  }
  if (unnamed_) return CommitUnnamed();
  if (::close(std::exchange(fd_, -1)) != 0) {
    return absl::DataLossError(absl::StrCat(path_, ": write failed: ", std::strerror(errno)));
  }
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return absl::DataLossError(absl::StrCat(path_, ": cannot rename into place: ", std::strerror(errno)));
  }
  committed_ = true;
  ForgetTemp(std::exchange(temp_slot_, -1));
  return absl::OkStatus();
}

// An unnamed file gets a name by linkat(2): straight to the target when there
// is none, else to a temporary name renamed over the target; a signal in
// between removes the temporary name like a named temporary file's.
absl::Status OutputFile::CommitUnnamed() {
  const std::string proc = absl::StrCat("/proc/self/fd/", fd_);
  auto link_to = [&](const std::string& name) {
    if (::linkat(fd_, "", AT_FDCWD, name.c_str(), AT_EMPTY_PATH) == 0) return 0;
    if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) return 0;
    return errno;
  };
  int err = 0;
  err = link_to(path_);
  for (int attempt = 0; err == EEXIST && attempt < 100; ++attempt) {
    std::string temp = TempName(path_);
    const int slot = RememberTemp(temp);
    err = link_to(temp);
    if (err == 0 && ::rename(temp.c_str(), path_.c_str()) != 0) {
      err = errno;
      ::unlink(temp.c_str());
    }
    ForgetTemp(slot);
    if (err != EEXIST) break;
  }
  int closed = ::close(std::exchange(fd_, -1));
  if (err != 0) {
    return absl::DataLossError(absl::StrCat(path_, ": cannot link the output into place: ",
                                            std::strerror(err)));
  }
  if (closed != 0) {
    return absl::DataLossError(absl::StrCat(path_, ": write failed: ", std::strerror(errno)));
  }
  committed_ = true;
  return absl::OkStatus();
}

}  // namespace logtally::io
