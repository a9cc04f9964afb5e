#include "prediction_log_stream.h"

#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mlmon {
namespace internal {
namespace {

// The path of the active file is compared with the open file at most this
// often (on the log's clock).
constexpr std::int64_t kIdentityCheckNanos = 1'000'000'000;
constexpr std::int64_t kMaxBackoffNanos = 60'000'000'000;

std::size_t CountLines(const char* p, std::size_t n) {
  return static_cast<std::size_t>(std::count(p, p + n, '\n'));
}

}  // namespace

ScopedSigxfszBlock::ScopedSigxfszBlock(bool* saw_efbig)
    : saw_efbig_(saw_efbig) {
  *saw_efbig_ = false;
  sigemptyset(&set_);
  sigaddset(&set_, SIGXFSZ);
  ok_ = ::pthread_sigmask(SIG_BLOCK, &set_, &old_) == 0;
}

ScopedSigxfszBlock::~ScopedSigxfszBlock() {
  if (!ok_ || sigismember(&old_, SIGXFSZ) == 1) return;  // mask unchanged
  if (*saw_efbig_) {
    sigset_t pending;
    if (::sigpending(&pending) == 0 && sigismember(&pending, SIGXFSZ) == 1) {
      const struct timespec zero = {0, 0};
      while (::sigtimedwait(&set_, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

// Reads the open file's identity, size and last byte.
void LogStream::Inspect() {
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    errors[kOpStat]->Increment();
    return;
  }
  dev = st.st_dev;
  ino = st.st_ino;
  disk_bytes = 0;
  broken_line = false;
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    disk_bytes = static_cast<std::uint64_t>(st.st_size);
    char last = '\n';
    if (::pread(fd, &last, 1, st.st_size - 1) == 1) {
      broken_line = last != '\n';  // e.g. a crash mid-write
    }
  }
}

// Opens (creates, or appends to) the active file. Returns 0 or an errno.
// O_NONBLOCK: a FIFO at the path fails writes instead of blocking them.
int LogStream::Open() {
  Close();
  const int f = ::open(
      path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0644);
  if (f < 0) return errno;
  fd = f;
  dev = 0;
  ino = 0;
  Inspect();
  next_check = clock->NowNanos() + kIdentityCheckNanos;
  return 0;
}

void LogStream::Close() {
  if (fd >= 0) ::close(fd);
  fd = -1;
}
LogStream::~LogStream() { Close(); }

void LogStream::Failed(std::int64_t now) {
  retry_at = now + backoff;
  backoff = std::min(backoff * 2, kMaxBackoffNanos);
}
void LogStream::Succeeded() {
  retry_at = 0;
  backoff = kMinBackoffNanos;
}

// True if a file is open, opening it now (at most once per backoff step)
// if not.
bool LogStream::EnsureOpen(std::int64_t now) {
  if (fd >= 0) return true;
  if (now < retry_at) return false;
  return OpenOrBackOff(now);
}

// Opens the active file; on failure counts the error and backs off.
bool LogStream::OpenOrBackOff(std::int64_t now) {
  if (Open() != 0) {
    errors[kOpOpen]->Increment();
    Failed(now);
    return false;
  }
  Succeeded();
  return true;
}

// Reopens the path if the open file was deleted or replaced there (e.g.
// by an external log rotation); refreshes the size otherwise.
void LogStream::CheckIdentity(std::int64_t now) {
  next_check = now + kIdentityCheckNanos;
  struct stat st;
  int reason = -1;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      errors[kOpStat]->Increment();
      return;
    }
    reason = kReopenDeleted;
  } else if (st.st_dev != dev || st.st_ino != ino) {
    reason = kReopenReplaced;
  }
  if (reason < 0) {
    Inspect();  // the size, in case it was truncated underneath
    return;
  }
  reopens[reason]->Increment();
  if (Open() != 0) {
    errors[kOpOpen]->Increment();
    Failed(now);
  }
}

std::string LogStream::Rotated(int i) const {
  return path + "." + std::to_string(i);
}

// Moves the active file to `.1` (older ones up by one, the oldest beyond
// max_files - 1 replaced; only the files up to the first missing index
// move) and opens a new one. Returns false, counting one error and backing
// off, if a file could not be moved or the new one opened, or at once if
// the backoff of a previous failure has not elapsed.
bool LogStream::Rotate(std::int64_t now) {
  if (now < retry_at) return false;
  if (max_files == 1) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      errors[kOpRotate]->Increment();
      Failed(now);
      return false;
    }
  } else {
    int first_missing = 1;
    struct stat st;
    while (first_missing < max_files - 1 &&
           ::lstat(Rotated(first_missing).c_str(), &st) == 0) {
      ++first_missing;
    }
    // The first rename that fails abandons the rotation (nothing is
    // overwritten): the files kept so far stay in order.
    for (int i = first_missing; i >= 1; --i) {
      const std::string from = i == 1 ? path : Rotated(i - 1);
      if (::rename(from.c_str(), Rotated(i).c_str()) != 0 && errno != ENOENT) {
        errors[kOpRotate]->Increment();
        Failed(now);
        return false;
      }
    }
  }
  return OpenOrBackOff(now);
}

// Writes all of [p, p+n) unless write(2) fails; returns the bytes written.
std::size_t LogStream::WriteRaw(const char* p, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t w = ::write(fd, p + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EFBIG) *saw_efbig = true;
      break;
    }
    if (w == 0) break;
    done += static_cast<std::size_t>(w);
  }
  return done;
}

// Counts the lines of buf from `from` on as lost.
void LogStream::Lose(std::size_t from, int reason) {
  const std::size_t n = CountLines(buf.data() + from, buf.size() - from);
  if (n > 0) lost[reason]->Increment(static_cast<double>(n));
}

// Writes the whole lines [pos, pos+n) of buf to the active file. On
// failure the lines written whole are counted written, a partial line is
// cut off the file, and false is returned.
bool LogStream::WriteLines(std::size_t pos, std::size_t n,
                           std::size_t* written) {
  *written = 0;
  if (broken_line) {  // never glue a line to a partial one
    if (WriteRaw("\n", 1) != 1) {
      errors[kOpWrite]->Increment();
      return false;
    }
    broken_line = false;
    ++disk_bytes;
  }
  const char* p = buf.data() + pos;
  const std::size_t done = WriteRaw(p, n);
  std::size_t whole = done;
  if (done < n) {
    errors[kOpWrite]->Increment();
    const void* nl = done > 0 ? ::memrchr(p, '\n', done) : nullptr;
    whole = nl != nullptr
                ? static_cast<std::size_t>(static_cast<const char*>(nl) - p) + 1
                : 0;
    const std::size_t torn = done - whole;
    if (torn > 0) {
      const off_t end = ::lseek(fd, 0, SEEK_CUR);
      if (end >= static_cast<off_t>(torn) &&
          ::ftruncate(fd, end - static_cast<off_t>(torn)) == 0) {
        disk_bytes = static_cast<std::uint64_t>(end) - torn;
      } else {
        errors[kOpTruncate]->Increment();
        broken_line = true;
        disk_bytes += done;
      }
    } else {
      disk_bytes += done;
    }
  } else {
    disk_bytes += done;
  }
  if (whole > 0) {
    lines->Increment(static_cast<double>(CountLines(p, whole)));
    bytes->Increment(static_cast<double>(whole));
  }
  *written = whole;
  return done == n;
}

// Hands the buffered lines to the kernel, in as many files as
// max_file_bytes requires. Lines that cannot be written are counted in
// `lost` and discarded.
void LogStream::WriteOut() {
  if (buf.empty()) return;
  const std::int64_t now = clock->NowNanos();
  if (fd >= 0 && now >= next_check) CheckIdentity(now);
  // Each rotation is followed by at least one whole line unless the new
  // file is not empty (a concurrent writer): bound the rotations anyway.
  std::size_t rotations_left = buf.size() / 16 + 2;
  std::size_t pos = 0;
  while (pos < buf.size()) {
    if (!EnsureOpen(now)) {
      Lose(pos, kLostOpen);
      break;
    }
    const char* p = buf.data() + pos;
    const std::size_t rest = buf.size() - pos;
    const std::uint64_t used = disk_bytes + (broken_line ? 1 : 0);
    std::size_t n = 0;  // bytes of the whole lines that fit
    if (used < max_file_bytes) {
      const std::uint64_t room = max_file_bytes - used;
      if (room >= rest) {
        n = rest;
      } else if (const void* nl =
                     ::memrchr(p, '\n', static_cast<std::size_t>(room))) {
        n = static_cast<std::size_t>(static_cast<const char*>(nl) - p) + 1;
      }
    }
    if (n == 0 && used == 0) {  // a line longer than a file: its own file
      n = static_cast<std::size_t>(
              static_cast<const char*>(std::memchr(p, '\n', rest)) - p) +
          1;
    }
    if (n == 0) {
      if (rotations_left == 0 || !Rotate(now)) {
        Lose(pos, fd >= 0 ? kLostRotate : kLostOpen);
        break;
      }
      --rotations_left;
      continue;
    }
    std::size_t written = 0;
    if (!WriteLines(pos, n, &written)) {
      Lose(pos + written, kLostWrite);
      break;
    }
    pos += n;
  }
  buf.clear();
}

// Appends one line (ending in '\n').
void LogStream::Append(const std::string& line) {
  buf.append(line);
  if (buf.size() >= kLogBufferBytes) WriteOut();
}

}  // namespace internal
}  // namespace mlmon
