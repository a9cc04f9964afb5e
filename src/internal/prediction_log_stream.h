#ifndef MLMON_SRC_INTERNAL_PREDICTION_LOG_STREAM_H_
#define MLMON_SRC_INTERNAL_PREDICTION_LOG_STREAM_H_

// One output file set of the prediction log (predictions or outcomes): the
// active file, its rotation by size, its line buffer and its counters.

#include <signal.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "mlmon/clock.h"
#include "mlmon/instruments.h"

namespace mlmon {
namespace internal {

// Lines buffered per stream before they are handed to the kernel.
inline constexpr std::size_t kLogBufferBytes = 64 * 1024;

// Why a line was lost (`reason` of mlmon_log_lines_lost_total).
enum LostReason : int { kLostWrite, kLostRotate, kLostOpen, kNumLostReasons };
inline constexpr const char* kLostReasonNames[kNumLostReasons] = {
    "write", "rotate", "open"};
// The file operation that failed (`op` of mlmon_log_errors_total).
enum ErrorOp : int {
  kOpOpen,
  kOpWrite,
  kOpTruncate,
  kOpRotate,
  kOpStat,
  kNumOps
};
inline constexpr const char* kOpNames[kNumOps] = {"open", "write", "truncate",
                                                  "rotate", "stat"};
// Why the active file was reopened (`reason` of mlmon_log_reopens_total).
enum ReopenReason : int { kReopenDeleted, kReopenReplaced, kNumReopenReasons };
inline constexpr const char* kReopenReasonNames[kNumReopenReasons] = {
    "deleted", "replaced"};

// A failed open or rotation is retried after this, doubling up to
// kMaxBackoffNanos while it keeps failing.
inline constexpr std::int64_t kMinBackoffNanos = 1'000'000'000;

// Blocks SIGXFSZ on the calling thread for its lifetime, so that a write past
// RLIMIT_FSIZE fails with EFBIG instead of killing the process. On
// destruction a SIGXFSZ that a write of this scope left pending is consumed
// before the previous mask is restored (unblocking it would deliver it).
// The signal's disposition is never changed.
class ScopedSigxfszBlock {
 public:
  explicit ScopedSigxfszBlock(bool* saw_efbig);
  ~ScopedSigxfszBlock();
  ScopedSigxfszBlock(const ScopedSigxfszBlock&) = delete;
  ScopedSigxfszBlock& operator=(const ScopedSigxfszBlock&) = delete;

 private:
  bool* saw_efbig_;  // set by the writes of this scope
  sigset_t set_;
  sigset_t old_;
  bool ok_ = false;
};

// Used only by the log's consumer, with SIGXFSZ blocked.
//
// Lines are buffered whole and placed into files when the buffer is written:
// as many whole lines as fit under max_file_bytes go to the active file, then
// it is rotated. Faults of the sink never grow a file past max_file_bytes and
// never leave a partial line: a failed open or rotation loses the lines
// (counted) and is retried with backoff on the log's clock; a short write is
// truncated back to its last whole line.
struct LogStream {
  std::string path;  // the active file
  int fd = -1;       // -1 while the active file cannot be opened
  dev_t dev = 0;     // identity of the open file
  ino_t ino = 0;
  std::uint64_t disk_bytes = 0;  // bytes in the active file
  bool broken_line = false;      // the active file ends inside a line
  std::string buf;               // whole lines not yet written
  std::uint64_t max_file_bytes = 0;
  int max_files = 1;
  const Clock* clock = nullptr;
  bool* saw_efbig = nullptr;    // set when a write fails with EFBIG
  std::int64_t next_check = 0;  // next comparison of path and open file
  std::int64_t retry_at = 0;    // no open or rotation attempt before
  std::int64_t backoff = kMinBackoffNanos;
  Counter* lines = nullptr;
  Counter* bytes = nullptr;
  Counter* lost[kNumLostReasons] = {};
  Counter* errors[kNumOps] = {};
  Counter* reopens[kNumReopenReasons] = {};

  LogStream() = default;
  LogStream(const LogStream&) = delete;
  LogStream& operator=(const LogStream&) = delete;
  ~LogStream();

  // Opens (creates, or appends to) the active file. Returns 0 or an errno.
  int Open();
  void Close();
  // Appends one line (ending in '\n'), writing the buffer out when full.
  void Append(const std::string& line);
  // Hands the buffered lines to the kernel, in as many files as
  // max_file_bytes requires; lines that cannot be written are counted lost.
  void WriteOut();

 private:
  void Inspect();
  void Failed(std::int64_t now);
  void Succeeded();
  bool EnsureOpen(std::int64_t now);
  bool OpenOrBackOff(std::int64_t now);
  void CheckIdentity(std::int64_t now);
  std::string Rotated(int i) const;
  bool Rotate(std::int64_t now);
  std::size_t WriteRaw(const char* p, std::size_t n);
  void Lose(std::size_t from, int reason);
  bool WriteLines(std::size_t pos, std::size_t n, std::size_t* written);
};

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_PREDICTION_LOG_STREAM_H_
