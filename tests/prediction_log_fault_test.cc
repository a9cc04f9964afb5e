// Faults of the sink under mlmon::PredictionLog: a file size limit
// (SIGXFSZ), a directory where nothing can be renamed or created, a file
// deleted or replaced underneath, a full disk. The log must keep the host
// alive, never grow a file past max_file_bytes, never leave a partial line,
// and count exactly: lines counted written are the whole lines on disk, lines
// counted lost are the rest.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mlmon/clock.h"
#include "mlmon/prediction_log.h"
#include "mlmon/registry.h"
#include "testing/prediction_log_helpers.h"
#include "testing/samples.h"

namespace mlmon {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

using testutil::FraudLogOptions;
using testutil::kTs;
using testutil::ParseLines;
using testutil::PredictionLogFixture;
using testutil::ReadFile;
using testutil::SampleValue;
using testutil::Series;
using testutil::TempDir;
using testutil::WholeLines;

// Names the temporary directories of these tests.
constexpr const char* kDirPrefix = "plog-fault";

// Makes a directory immutable (chattr +i): no entry in it can be created,
// renamed or removed, by root either (root ignores permission bits, not
// this flag). Files already in it stay writable.
class ImmutableDir {
 public:
  explicit ImmutableDir(const std::string& dir) {
    fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) {
      error_ = std::string("open: ") + std::strerror(errno);
      return;
    }
    int flags = 0;
    if (::ioctl(fd_, FS_IOC_GETFLAGS, &flags) != 0) {
      error_ = std::string("FS_IOC_GETFLAGS: ") + std::strerror(errno);
      return;
    }
    flags |= FS_IMMUTABLE_FL;
    if (::ioctl(fd_, FS_IOC_SETFLAGS, &flags) != 0) {
      error_ = std::string("FS_IOC_SETFLAGS: ") + std::strerror(errno);
      return;
    }
    set_ = true;
    // Check that the flag bites for this user.
    const std::string probe = dir + "/probe";
    const int f = ::open(probe.c_str(), O_WRONLY | O_CREAT, 0644);
    if (f >= 0) {
      ::close(f);
      Release();
      ::unlink(probe.c_str());
      error_ = "a file could still be created in the immutable directory";
    }
  }
  ~ImmutableDir() {
    Release();
    if (fd_ >= 0) ::close(fd_);
  }
  // Empty if the directory is immutable, else why not.
  const std::string& error() const { return error_; }
  void Release() {
    if (!set_) return;
    int flags = 0;
    if (::ioctl(fd_, FS_IOC_GETFLAGS, &flags) == 0) {
      flags &= ~FS_IMMUTABLE_FL;
      ::ioctl(fd_, FS_IOC_SETFLAGS, &flags);
    }
    set_ = false;
  }

 private:
  int fd_ = -1;
  bool set_ = false;
  std::string error_;
};

// A small tmpfs mounted on a new directory, unmounted at the end.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, const std::string& options) : dir_(dir) {
    fs::create_directories(dir_);
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      error_ = std::string("mount -t tmpfs -o ") + options + " " + dir_ + ": " +
               std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

std::vector<std::string> Ids(const std::vector<json>& lines) {
  std::vector<std::string> ids;
  for (const json& j : lines) ids.push_back(j.value("id", std::string()));
  return ids;
}

// The counters of the log's series, which exist from construction on
// (value() throws, failing the test, if one is missing).
double Written(const Registry& r, const char* stream = "predictions") {
  return SampleValue(r, Series("mlmon_log_lines_total", stream)).value();
}
double Lost(const Registry& r, const std::string& reason,
            const char* stream = "predictions") {
  return SampleValue(r, Series("mlmon_log_lines_lost_total", stream,
                               R"(,reason=")" + reason + "\""))
      .value();
}
double Errors(const Registry& r, const std::string& op,
              const char* stream = "predictions") {
  return SampleValue(r, Series("mlmon_log_errors_total", stream,
                               R"(,op=")" + op + "\""))
      .value();
}
double Reopens(const Registry& r, const std::string& reason,
               const char* stream = "predictions") {
  return SampleValue(r, Series("mlmon_log_reopens_total", stream,
                               R"(,reason=")" + reason + "\""))
      .value();
}

class PredictionLogFaultTest : public PredictionLogFixture {
 protected:
  PredictionLogFaultTest() : PredictionLogFixture(kDirPrefix) {}

  PredictionLogOptions Options() {
    PredictionLogOptions o = BaseOptions();
    o.queue_capacity = 32768;
    o.flush_interval = std::chrono::hours(1);  // only Flush() and Stop() write
    return o;
  }
  // Logs predictions with ids `<prefix><first>` .. `<prefix><first+n-1>`.
  static void LogN(PredictionLog& log, const std::string& prefix, int first,
                   int n) {
    for (int i = first; i < first + n; ++i) {
      ASSERT_TRUE(log.LogPrediction(prefix + std::to_string(i), 0.25, kTs));
    }
  }
  // Every file of the directory (rotated ones too) is at most `max` bytes.
  void ExpectNoFileOver(std::uint64_t max) {
    for (const auto& e : fs::directory_iterator(dir_.path())) {
      if (e.is_regular_file()) {
        EXPECT_LE(e.file_size(), max) << e.path();
      }
    }
  }
};

// ---------------------------------------------------------------------------
// RLIMIT_FSIZE: a write past the limit raises SIGXFSZ, whose default action
// kills the process (exit status 128+25). The log must block it on its own
// writing thread, count the lines lost to EFBIG, and leave the host's
// disposition and signal mask as they were.

constexpr rlim_t kFileSizeLimit = 32 * 1024;

// Runs one log under the limit in this (child) process; returns "" or what
// went wrong.
std::string RunUnderFileSizeLimit(bool writer_thread) {
  TempDir dir(kDirPrefix);
  Registry registry;
  FakeClock clock;
  PredictionLogOptions o = FraudLogOptions(dir.path(), &clock);
  o.queue_capacity = 8192;
  o.max_file_bytes = 1 << 20;  // far above the limit: no rotation
  o.start_writer = writer_thread;
  constexpr int kN = 4000;  // ~90 bytes each: ~11 times the limit
  std::string path;
  double written = 0, lost = 0, write_errors = 0;
  {
    PredictionLog log(registry, "fraud", "3", o);
    path = log.predictions_path();
    for (int i = 0; i < kN; ++i) {
      if (!log.LogPrediction(
              "id-" + std::string(i % 7, 'x') + std::to_string(i), 0.5, kTs)) {
        return "record refused";
      }
      if (i % 1000 == 999) log.Flush();
    }
    log.Stop();
    // Read before the log goes: its series leave the registry with it.
    written = Written(registry);
    lost = Lost(registry, "write");
    write_errors = Errors(registry, "write");
  }
  bool torn = false;
  const std::size_t on_disk = ParseLines(path, &torn).size();
  std::string err;
  if (torn) err += " torn line on disk;";
  if (fs::file_size(path) > kFileSizeLimit) err += " file over the limit;";
  if (static_cast<double>(on_disk) != written) {
    err += " on disk " + std::to_string(on_disk) + " != counted " +
           std::to_string(written) + ";";
  }
  if (written + lost != kN || lost <= 0) {
    err += " written " + std::to_string(written) + " + lost " +
           std::to_string(lost) + " != " + std::to_string(kN) + ";";
  }
  if (write_errors < 1) err += " no write error counted;";
  return err;
}

// The host's view of SIGXFSZ is untouched: default action, not blocked on
// this thread, nothing pending.
std::string HostSignalStateUnchanged() {
  std::string err;
  struct sigaction sa;
  if (::sigaction(SIGXFSZ, nullptr, &sa) != 0 || sa.sa_handler != SIG_DFL) {
    err += " SIGXFSZ disposition changed;";
  }
  sigset_t mask, pending;
  ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  if (sigismember(&mask, SIGXFSZ) == 1) err += " SIGXFSZ left blocked;";
  ::sigpending(&pending);
  if (sigismember(&pending, SIGXFSZ) == 1) err += " SIGXFSZ left pending;";
  return err;
}

void ChildUnderFileSizeLimit(bool writer_thread) {
  struct rlimit lim;
  ::getrlimit(RLIMIT_FSIZE, &lim);
  lim.rlim_cur = kFileSizeLimit;
  if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) {
    std::fprintf(stderr, "setrlimit: %s\n", std::strerror(errno));
    std::_Exit(2);
  }
  const std::string err =
      RunUnderFileSizeLimit(writer_thread) + HostSignalStateUnchanged();
  std::fprintf(stderr, "%s%s\n",
               err.empty() ? "survived" : "FAILED:", err.c_str());
  std::_Exit(err.empty() ? 0 : 1);
}

TEST(PredictionLogSigxfszTest, WriterThreadSurvivesFileSizeLimitCountingLoss) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(ChildUnderFileSizeLimit(/*writer_thread=*/true),
              ::testing::ExitedWithCode(0), "survived");
}

// Without a writer thread the host's thread writes in Flush() and Stop():
// SIGXFSZ is blocked there only for the write and consumed if raised.
TEST(PredictionLogSigxfszTest, FlushOnHostThreadSurvivesFileSizeLimit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(ChildUnderFileSizeLimit(/*writer_thread=*/false),
              ::testing::ExitedWithCode(0), "survived");
}

// ---------------------------------------------------------------------------
// Rotation impossible (an immutable directory: rename(2) and unlink(2) fail
// with EPERM, for root too).

TEST_F(PredictionLogFaultTest,
       FailedRotationStopsTheFileAtMaxBytesAndRetriesWithBackoff) {
  PredictionLogOptions o = Options();
  o.max_file_bytes = 1024;
  o.max_files = 3;
  PredictionLog log(registry_, "fraud", "3", o);
  const std::string path = log.predictions_path();
  ImmutableDir immutable(dir_.path());
  if (!immutable.error().empty()) {
    GTEST_SKIP() << "cannot make a directory immutable: " << immutable.error();
  }

  LogN(log, "a", 0, 100);  // ~13 lines fit in 1024 bytes
  log.Flush();
  EXPECT_LE(fs::file_size(path), 1024u);
  EXPECT_FALSE(fs::exists(path + ".1"));
  EXPECT_EQ(Errors(registry_, "rotate"), 1);
  double written = Written(registry_);
  EXPECT_GT(written, 0);
  EXPECT_EQ(WholeLines(path).size(), written);
  EXPECT_EQ(Lost(registry_, "rotate"), 100 - written);

  // Edge: more lines before the backoff (1 s) elapsed: lost without another
  // attempt (no retry per line or per flush).
  LogN(log, "b", 0, 100);
  log.Flush();
  EXPECT_EQ(Errors(registry_, "rotate"), 1);
  EXPECT_EQ(Lost(registry_, "rotate"), 200 - written);
  // Advances the clock by `step`, logs one line with id `<id>0` and flushes;
  // returns the rotation errors counted so far.
  const auto rotate_errors_after = [&](milliseconds step, const char* id) {
    clock_.Advance(step);
    LogN(log, id, 0, 1);
    log.Flush();
    return Errors(registry_, "rotate");
  };
  EXPECT_EQ(rotate_errors_after(milliseconds(999), "c"), 1);

  // The backoff elapsed: one more attempt, then 2 s.
  EXPECT_EQ(rotate_errors_after(milliseconds(1), "d"), 2);
  EXPECT_EQ(rotate_errors_after(milliseconds(1999), "e"), 2);
  EXPECT_EQ(rotate_errors_after(milliseconds(1), "f"), 3);
  EXPECT_EQ(Written(registry_), written);
  EXPECT_EQ(Lost(registry_, "rotate"), 204 - written);
  EXPECT_LE(fs::file_size(path), 1024u);

  // The directory is writable again: the next attempt (after 4 s) rotates
  // and the lines are written again.
  immutable.Release();
  clock_.Advance(seconds(4));
  LogN(log, "g", 0, 5);
  log.Flush();
  EXPECT_EQ(Errors(registry_, "rotate"), 3);
  ASSERT_TRUE(fs::exists(path + ".1"));
  EXPECT_EQ(Ids(WholeLines(path)),
            (std::vector<std::string>{"g0", "g1", "g2", "g3", "g4"}));
  EXPECT_EQ(Written(registry_), written + 5);
  EXPECT_EQ(WholeLines(path + ".1").size(), written);
  ExpectNoFileOver(1024);
}

// Edge: max_files = 1 rotates by unlink(2), which fails too.
TEST_F(PredictionLogFaultTest, FailedUnlinkWithOneFileStillBoundsTheFile) {
  PredictionLogOptions o = Options();
  o.max_file_bytes = 1024;
  o.max_files = 1;
  PredictionLog log(registry_, "fraud", "3", o);
  ImmutableDir immutable(dir_.path());
  if (!immutable.error().empty()) {
    GTEST_SKIP() << "cannot make a directory immutable: " << immutable.error();
  }
  LogN(log, "a", 0, 300);
  log.Stop();
  EXPECT_LE(fs::file_size(log.predictions_path()), 1024u);
  EXPECT_EQ(Errors(registry_, "rotate"), 1);
  const double written = Written(registry_);
  EXPECT_EQ(WholeLines(log.predictions_path()).size(), written);
  EXPECT_EQ(Lost(registry_, "rotate"), 300 - written);
}

// Stop() with max_files = 1000 and rotation failing on every attempt: every
// rotated slot exists, so an attempt tries 999 renames; it must not be
// attempted per line.
TEST_F(PredictionLogFaultTest,
       StopIsPromptWithThousandFilesAndFailingRotation) {
  PredictionLogOptions o = Options();
  o.max_file_bytes = 1024;
  o.max_files = 1000;
  o.flush_interval = milliseconds(50);
  const std::string base = dir_.path() + "/fraud-predictions.ndjson";
  for (int i = 1; i < 1000; ++i) {
    std::ofstream(base + "." + std::to_string(i)) << "{\"id\":\"old\"}\n";
  }
  constexpr int kN = 20000;
  PredictionLog log(registry_, "fraud", "3", o);
  ImmutableDir immutable(dir_.path());
  if (!immutable.error().empty()) {
    GTEST_SKIP() << "cannot make a directory immutable: " << immutable.error();
  }
  LogN(log, "p", 0, kN);
  const auto start = std::chrono::steady_clock::now();
  log.Stop();
  const double stop_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf("Stop() took %.3f s\n", stop_seconds);
  // Generous: the fixed log takes milliseconds; one rename attempt per line
  // takes minutes.
  EXPECT_LT(stop_seconds, 10.0);
  const double written = Written(registry_);
  EXPECT_EQ(written + Lost(registry_, "rotate"), kN);
  EXPECT_EQ(WholeLines(base).size(), written);
  EXPECT_LE(fs::file_size(base), 1024u);
  EXPECT_EQ(ReadFile(base + ".1"), "{\"id\":\"old\"}\n");  // not overwritten
}

// A FIFO at the path that nobody reads: once its buffer is full a blocking
// write(2) would never return, and Stop() with it. Run in a child that
// SIGALRM kills if Stop() hangs.
void ChildWithFifoAtThePath() {
  ::alarm(30);  // generous: Stop() takes milliseconds
  std::string err;
  {
    TempDir dir(kDirPrefix);
    Registry registry;
    FakeClock clock;
    PredictionLogOptions o = FraudLogOptions(dir.path(), &clock);
    o.queue_capacity = 8192;
    const std::string fifo = dir.path() + "/fraud-predictions.ndjson";
    if (::mkfifo(fifo.c_str(), 0644) != 0) err += " mkfifo failed;";
    constexpr int kN = 4000;  // ~350 KB: more than a pipe holds
    PredictionLog log(registry, "fraud", "3", o);
    for (int i = 0; i < kN; ++i) {
      log.LogPrediction("id-" + std::to_string(i), 0.5, kTs);
    }
    log.Stop();
    const double written = Written(registry);
    const double lost = Lost(registry, "write");
    if (!(lost > 0) || written + lost != kN) {
      err += " written " + std::to_string(written) + " + lost " +
             std::to_string(lost) + " != " + std::to_string(kN) + ";";
    }
  }
  std::fprintf(stderr, "%s%s\n",
               err.empty() ? "stopped" : "FAILED:", err.c_str());
  std::_Exit(err.empty() ? 0 : 1);
}

TEST(PredictionLogStopTest, FifoAtThePathFailsWritesInsteadOfBlockingStop) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(ChildWithFifoAtThePath(), ::testing::ExitedWithCode(0),
              "stopped");
}

// Edge: a line longer than max_file_bytes gets a file of its own (the only
// way a file exceeds the limit); the others stay under it.
TEST_F(PredictionLogFaultTest, LineLongerThanMaxFileBytesGetsAFileOfItsOwn) {
  PredictionLogOptions o = Options();
  o.max_file_bytes = 1024;
  o.max_files = 10;
  PredictionLog log(registry_, "fraud", "3", o);
  LogN(log, "a", 0, 5);
  const std::string item(32, '"');  // escaped: 64 bytes
  std::vector<std::string_view> items(PredictionLog::kMaxItems, item);
  ASSERT_TRUE(log.LogPredictionItems("big", items.data(), items.size(), kTs));
  LogN(log, "b", 0, 5);
  log.Flush();
  const std::string path = log.predictions_path();
  EXPECT_EQ(Ids(WholeLines(path + ".2")),
            (std::vector<std::string>{"a0", "a1", "a2", "a3", "a4"}));
  EXPECT_EQ(Ids(WholeLines(path + ".1")), std::vector<std::string>{"big"});
  EXPECT_GT(fs::file_size(path + ".1"), 1024u);
  EXPECT_EQ(Ids(WholeLines(path)),
            (std::vector<std::string>{"b0", "b1", "b2", "b3", "b4"}));
  EXPECT_EQ(Written(registry_), 11);
}

// ---------------------------------------------------------------------------
// The file deleted or replaced underneath: noticed within a second of the
// log's clock, reopened at its path, and counted.

TEST_F(PredictionLogFaultTest, DeletedFileIsReopenedAndLinesAppearOnDisk) {
  PredictionLog log(registry_, "fraud", "3", Options());
  const std::string path = log.predictions_path();
  LogN(log, "a", 0, 3);
  log.Flush();
  ASSERT_EQ(WholeLines(path).size(), 3u);
  ASSERT_EQ(::unlink(path.c_str()), 0);

  // Edge: within the second after the last check, lines still go to the
  // open (deleted) file.
  clock_.Advance(milliseconds(999));
  LogN(log, "b", 0, 3);
  log.Flush();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(Reopens(registry_, "deleted"), 0);

  clock_.Advance(milliseconds(1));
  LogN(log, "c", 0, 3);
  log.Flush();
  ASSERT_TRUE(fs::exists(path));
  EXPECT_EQ(Ids(WholeLines(path)),
            (std::vector<std::string>{"c0", "c1", "c2"}));
  EXPECT_EQ(Reopens(registry_, "deleted"), 1);
  EXPECT_EQ(Reopens(registry_, "replaced"), 0);
  EXPECT_EQ(Written(registry_), 9);
  EXPECT_EQ(Reopens(registry_, "deleted", "outcomes"), 0);  // still there
}

TEST_F(PredictionLogFaultTest, ReplacedFileIsReopenedAndWrittenAtThePath) {
  PredictionLog log(registry_, "fraud", "3", Options());
  const std::string path = log.predictions_path();
  LogN(log, "a", 0, 3);
  log.Flush();
  // An external rotation: the file moved away, a new one renamed into place
  // (its last line torn, so the log must start on a new line).
  ASSERT_EQ(::rename(path.c_str(), (path + ".old").c_str()), 0);
  std::ofstream(path + ".tmp") << "{\"id\":\"foreign\"}\n{\"id\":\"to";
  ASSERT_EQ(::rename((path + ".tmp").c_str(), path.c_str()), 0);

  clock_.Advance(seconds(1));
  LogN(log, "b", 0, 3);
  log.Flush();
  EXPECT_EQ(Ids(WholeLines(path + ".old")),
            (std::vector<std::string>{"a0", "a1", "a2"}));
  const std::string text = ReadFile(path);
  EXPECT_EQ(text.rfind("{\"id\":\"foreign\"}\n{\"id\":\"to\n{", 0), 0u) << text;
  bool torn = false;
  const std::vector<json> lines = ParseLines(path, &torn);
  EXPECT_TRUE(torn);  // the foreign partial line, now ended by a newline
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(Ids(lines),
            (std::vector<std::string>{"foreign", "b0", "b1", "b2"}));
  EXPECT_EQ(Reopens(registry_, "replaced"), 1);
  EXPECT_EQ(Reopens(registry_, "deleted"), 0);
}

// Deleted while the directory is immutable: the reopen fails, the lines are
// lost (reason open), the open is retried with backoff, not per line.
TEST_F(PredictionLogFaultTest, UnopenableFileLosesLinesAndRetriesWithBackoff) {
  PredictionLog log(registry_, "fraud", "3", Options());
  const std::string path = log.predictions_path();
  ASSERT_EQ(::unlink(path.c_str()), 0);
  ImmutableDir immutable(dir_.path());
  if (!immutable.error().empty()) {
    GTEST_SKIP() << "cannot make a directory immutable: " << immutable.error();
  }
  clock_.Advance(seconds(1));
  LogN(log, "a", 0, 5);
  log.Flush();
  EXPECT_EQ(Reopens(registry_, "deleted"), 1);
  EXPECT_EQ(Errors(registry_, "open"), 1);
  EXPECT_EQ(Lost(registry_, "open"), 5);
  EXPECT_FALSE(fs::exists(path));

  clock_.Advance(milliseconds(999));
  LogN(log, "b", 0, 5);
  log.Flush();
  EXPECT_EQ(Errors(registry_, "open"), 1);
  EXPECT_EQ(Lost(registry_, "open"), 10);

  immutable.Release();
  clock_.Advance(milliseconds(1));
  LogN(log, "c", 0, 2);
  log.Flush();
  EXPECT_EQ(Errors(registry_, "open"), 1);
  EXPECT_EQ(Ids(WholeLines(path)), (std::vector<std::string>{"c0", "c1"}));
  EXPECT_EQ(Written(registry_), 2);
}

// ---------------------------------------------------------------------------
// A full disk: a 64 KiB tmpfs mounted by the test.

TEST_F(PredictionLogFaultTest, FullDiskLeavesNoTornLineAndCountsExactly) {
  const std::string mnt = dir_.path() + "/mnt";
  TmpfsMount mount(mnt, "size=64k");
  if (!mount.error().empty()) GTEST_SKIP() << mount.error();
  const std::string filler = mnt + "/filler";
  std::ofstream(filler) << std::string(16 * 1024, 'f');

  PredictionLogOptions o = Options();
  o.directory = mnt;
  o.max_file_bytes = 1 << 20;
  int submitted = 0;
  {
    PredictionLog log(registry_, "fraud", "3", o);
    const std::string path = log.predictions_path();
    // Lines of varying length so that the disk fills up inside a line.
    for (int batch = 0; batch < 20; ++batch) {
      for (int i = 0; i < 100; ++i, ++submitted) {
        ASSERT_TRUE(log.LogPrediction(
            "p" + std::string(submitted % 37, 'x') + std::to_string(submitted),
            0.5, kTs));
      }
      log.Flush();
    }
    const std::vector<json> lines = WholeLines(path);
    double written = Written(registry_);
    EXPECT_EQ(lines.size(), written);
    EXPECT_GT(Lost(registry_, "write"), 0);
    EXPECT_EQ(Lost(registry_, "write"), submitted - written);
    EXPECT_GE(Errors(registry_, "write"), 1);
    EXPECT_EQ(Errors(registry_, "truncate"), 0);

    // Space freed: writing resumes after the last whole line.
    fs::remove(filler);
    for (int i = 0; i < 50; ++i, ++submitted) {
      ASSERT_TRUE(log.LogPrediction("q" + std::to_string(i), 0.5, kTs));
    }
    log.Flush();
    const std::vector<json> after = WholeLines(path);
    EXPECT_EQ(after.size(), written + 50);
    EXPECT_EQ(after.back().at("id"), "q49");
    EXPECT_EQ(Written(registry_), written + 50);
    EXPECT_EQ(Lost(registry_, "write") + Written(registry_), submitted);
  }
}

}  // namespace
}  // namespace mlmon
