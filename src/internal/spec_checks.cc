#include "spec_checks.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "mlmon/duration.h"
#include "mlmon/errors.h"
#include "mlmon/instruments.h"  // ValidateBucketBounds

namespace mlmon {
namespace internal {

void SpecContext::Fail(const std::string& what) const {
  throw ConfigError(
      fmt::format("mlmon: {}.{} (model '{}')", spec_, what, model_));
}

void CheckBuckets(const SpecContext& spec, const std::string& field,
                  const std::vector<double>& bounds) {
  try {
    ValidateBucketBounds(bounds);
  } catch (const ConfigError& e) {
    spec.Fail(fmt::format("{}: {}", field, e.what()));
  }
}

void CheckInRange(const SpecContext& spec, const std::string& field,
                  std::size_t value, std::size_t lo, std::size_t hi) {
  if (value < lo || value > hi) {
    spec.Fail(fmt::format("{} = {} is not in [{}, {}]", field, value, lo, hi));
  }
}

void CheckAtLeast(const SpecContext& spec, const std::string& field,
                  std::size_t value, std::size_t min) {
  if (value < min)
    spec.Fail(fmt::format("{} = {} is not >= {}", field, value, min));
}

void CheckNotRepeated(const SpecContext& spec, std::set<std::string>* seen,
                      const std::string& field, const std::string& name) {
  if (!seen->insert(name).second) {
    spec.Fail(fmt::format("{} = '{}' is repeated", field, name));
  }
}

void CheckWindows(const SpecContext& spec,
                  const std::vector<std::chrono::seconds>& windows,
                  std::size_t max_count, std::int64_t max_seconds) {
  if (windows.size() > max_count) {
    spec.Fail(fmt::format("windows has {} values, more than {}", windows.size(),
                          max_count));
  }
  std::set<std::string> labels;
  for (std::size_t i = 0; i < windows.size(); ++i) {
    const auto w = static_cast<long long>(windows[i].count());
    if (max_seconds > 0 && (w <= 0 || w > max_seconds)) {
      spec.Fail(fmt::format("windows[{}] = {}s is not in [1s, {}d]", i, w,
                            max_seconds / 86400));
    }
    if (w <= 0) spec.Fail(fmt::format("windows[{}] = {}s is not >= 1s", i, w));
    if (!labels.insert(FormatDuration(windows[i])).second) {
      spec.Fail(fmt::format("windows[{}] = {}s is repeated", i, w));
    }
  }
}

std::string Excerpt(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  return fmt::format("{}... ({} bytes)", s.substr(0, max_bytes), s.size());
}

std::string ReadRegularFile(const std::string& path, std::size_t max_bytes,
                            const char* what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    throw ConfigError(fmt::format("{}: cannot open {}: {}", path, what,
                                  std::strerror(errno)));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw ConfigError(fmt::format("{}: cannot read {}: {}", path, what,
                                  std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    throw ConfigError(fmt::format("{}: {} is not a regular file", path, what));
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes) {
    throw ConfigError(
        fmt::format("{}: {} of {} bytes, more than the {} accepted", path, what,
                    size, max_bytes));
  }
  std::string text(static_cast<std::size_t>(size), '\0');
  std::size_t done = 0;
  for (;;) {
    if (done == text.size()) {
      // Room for one byte more than accepted: a file that grew is noticed.
      if (text.size() > max_bytes) {
        throw ConfigError(fmt::format(
            "{}: {} grew beyond the {} bytes accepted", path, what, max_bytes));
      }
      text.resize(std::min(max_bytes + 1, text.size() + 4096));
    }
    const ssize_t n = ::read(fd, &text[done], text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ConfigError(fmt::format("{}: cannot read {}: {}", path, what,
                                    std::strerror(errno)));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  text.resize(done);
  return text;
}

}  // namespace internal
}  // namespace mlmon
