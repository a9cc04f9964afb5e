#include "spec_checks.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bucket_bounds.h"
#include "config_errors.h"
#include "mlmon/duration.h"
#include "mlmon/errors.h"

namespace mlmon {
namespace internal {

std::string SpecContext::Field(std::string_view field) const {
  return fmt::format("{}.{}", spec_, field);
}

std::string SpecContext::Field(std::string_view field, std::size_t i) const {
  return fmt::format("{}.{}[{}]", spec_, field, i);
}

void SpecContext::Fail(std::string_view field, std::string_view what,
                       std::string_view value) const {
  throw SetupError(Field(field), what, value);
}

void CheckBuckets(const SpecContext& spec, std::string_view field,
                  const std::vector<double>& bounds) {
  CheckBucketBounds(spec.Field(field), bounds);
}

void CheckInRange(const SpecContext& spec, std::string_view field,
                  std::size_t value, std::size_t lo, std::size_t hi) {
  if (value < lo || value > hi) {
    spec.Fail(field, fmt::format("not in [{}, {}]", lo, hi),
              std::to_string(value));
  }
}

void CheckAtLeast(const SpecContext& spec, std::string_view field,
                  std::size_t value, std::size_t min) {
  if (value < min) {
    spec.Fail(field, fmt::format("not >= {}", min), std::to_string(value));
  }
}

void CheckAtMost(const SpecContext& spec, std::string_view field,
                 std::size_t size, std::size_t max) {
  if (size > max) {
    spec.Fail(field, fmt::format("more than {} values", max),
              std::to_string(size));
  }
}

void CheckNotRepeated(const SpecContext& spec, std::set<std::string>* seen,
                      std::string_view field, const std::string& name) {
  if (!seen->insert(name).second) spec.Fail(field, "repeated", name);
}

void CheckWindows(const SpecContext& spec,
                  const std::vector<std::chrono::seconds>& windows,
                  std::size_t max_count, std::int64_t max_seconds) {
  CheckAtMost(spec, "windows", windows.size(), max_count);
  std::set<std::string> labels;
  for (std::size_t i = 0; i < windows.size(); ++i) {
    const auto w = static_cast<std::int64_t>(windows[i].count());
    const std::string field = fmt::format("windows[{}]", i);
    const std::string value = fmt::format("{}s", w);
    if (max_seconds > 0 && (w <= 0 || w > max_seconds)) {
      spec.Fail(field, fmt::format("not in [1s, {}d]", max_seconds / 86400),
                value);
    }
    if (w <= 0) spec.Fail(field, "not >= 1s", value);
    // 60s and 1m are the same window: the same `window` label.
    if (!labels.insert(FormatDuration(windows[i])).second) {
      spec.Fail(field, "repeated", value);
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
    throw SetupError(path, fmt::format("cannot open the {}", what),
                     std::strerror(errno));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw SetupError(path, fmt::format("cannot read the {}", what),
                     std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    throw SetupError(path, fmt::format("the {} is not a regular file", what));
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes) {
    throw SetupError(path,
                     fmt::format("the {} is more than the {} bytes accepted",
                                 what, max_bytes),
                     fmt::format("{} bytes", size));
  }
  std::string text(static_cast<std::size_t>(size), '\0');
  std::size_t done = 0;
  for (;;) {
    if (done == text.size()) {
      // Room for one byte more than accepted: a file that grew is noticed.
      if (text.size() > max_bytes) {
        throw SetupError(
            path, fmt::format("the {} grew beyond the {} bytes accepted", what,
                              max_bytes));
      }
      text.resize(std::min(max_bytes + 1, text.size() + 4096));
    }
    const ssize_t n = ::read(fd, &text[done], text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SetupError(path, fmt::format("cannot read the {}", what),
                       std::strerror(errno));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  text.resize(done);
  return text;
}

void CheckSegments(const SpecContext& spec, const SegmentSpec& segments) {
  if (!segments.enabled()) return;
  const std::string& n = segments.name;
  const auto head = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  bool ok = head(n[0]);
  for (char c : n) ok = ok && (head(c) || (c >= '0' && c <= '9'));
  if (!ok) spec.Fail("segments.name", "not [a-zA-Z_][a-zA-Z0-9_]*", n);
  CheckInRange(spec, "segments.max_values", segments.max_values, 1,
               SegmentSpec::kMaxValues);
}

}  // namespace internal
}  // namespace mlmon
