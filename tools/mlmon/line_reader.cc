#include "line_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace mlmon_cli {

namespace {
constexpr std::size_t kReadBytes = 64 * 1024;
}  // namespace

LineReader::LineReader(const std::string& path, std::size_t max_line_bytes)
    : path_(path), max_(max_line_bytes), buf_(kReadBytes) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    throw std::runtime_error("cannot read '" + path +
                             "': " + std::strerror(errno));
  }
}

LineReader::~LineReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool LineReader::Fill() {
  if (eof_) return false;
  for (;;) {
    const ssize_t n = ::read(fd_, buf_.data(), buf_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("cannot read '" + path_ +
                               "': " + std::strerror(errno));
    }
    pos_ = 0;
    end_ = static_cast<std::size_t>(n);
    if (n == 0) eof_ = true;
    return n > 0;
  }
}

bool LineReader::Next(std::string* line, bool* too_long) {
  line->clear();
  *too_long = false;
  bool any = false;
  for (;;) {
    if (pos_ == end_ && !Fill()) {
      if (!any) return false;
      break;
    }
    any = true;
    const char* start = buf_.data() + pos_;
    const void* nl = std::memchr(start, '\n', end_ - pos_);
    const std::size_t take =
        nl != nullptr
            ? static_cast<std::size_t>(static_cast<const char*>(nl) - start)
            : end_ - pos_;
    if (!*too_long) {
      // The limit counts the line without its '\n' (a '\r' before it counts).
      if (line->size() + take > max_ + 1) {
        *too_long = true;
        line->clear();
        line->shrink_to_fit();
      } else {
        line->append(start, take);
      }
    }
    pos_ += take;
    if (nl != nullptr) {
      ++pos_;
      break;
    }
  }
  ++line_no_;
  if (!*too_long) {
    if (!line->empty() && line->back() == '\r') line->pop_back();
    if (line->size() > max_) {
      *too_long = true;
      line->clear();
    }
  }
  return true;
}

InvalidLimit InvalidLimit::Parse(const std::string& text) {
  InvalidLimit l;
  std::string number = text;
  if (!number.empty() && number.back() == '%') {
    l.percent = true;
    number.pop_back();
  }
  char* end = nullptr;
  errno = 0;
  l.value = number.empty() ? -1 : std::strtod(number.c_str(), &end);
  const bool bad = number.empty() || end != number.c_str() + number.size() ||
                   errno == ERANGE || !std::isfinite(l.value) || l.value < 0 ||
                   (l.percent ? l.value > 100 : l.value != std::floor(l.value));
  if (bad) {
    throw std::invalid_argument(
        "'" + text +
        "' is not a count of lines (e.g. 0, 25) or a percentage in [0%, "
        "100%] (e.g. 1%)");
  }
  return l;
}

bool InvalidLimit::Exceeded(std::size_t invalid, std::size_t lines) const {
  const double n = static_cast<double>(invalid);
  if (!percent) return n > value;
  return n * 100.0 > value * static_cast<double>(lines);
}

std::string InvalidLimit::ToString() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, percent ? "%g%%" : "%.0f", value);
  return buf;
}

void AddInputLimitOptions(CLI::App* sub, std::size_t* max_line_bytes,
                          std::string* max_invalid,
                          const std::string& default_invalid) {
  *max_line_bytes = kDefaultMaxLineBytes;
  sub->add_option("--max-line-bytes", *max_line_bytes,
                  "Longest input line; a longer one is an invalid line (it is "
                  "skipped, never held in memory)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30));
  *max_invalid = default_invalid;
  sub->add_option("--max-invalid", *max_invalid,
                  "Fail (exit 1, no output) when more lines of an input file "
                  "are invalid than this: a count (0, 25) or a percentage of "
                  "its non-blank lines (1%)")
      ->capture_default_str()
      ->check([](const std::string& s) {
        try {
          InvalidLimit::Parse(s);
          return std::string();
        } catch (const std::invalid_argument& e) {
          return std::string(e.what());
        }
      });
}

void InvalidLines::Add(std::size_t line, const std::string& why) {
  if (++count_ <= kShown) {
    std::fprintf(stderr, "%s:%zu: %s\n", file_.c_str(), line, why.c_str());
  }
}

void InvalidLines::Finish() const {
  if (count_ > kShown) {
    std::fprintf(stderr, "%s: ... and %zu more invalid lines\n", file_.c_str(),
                 count_ - kShown);
  }
}

bool WithinInvalidLimit(const std::string& file, std::size_t invalid,
                        std::size_t lines, const InvalidLimit& limit) {
  if (!limit.Exceeded(invalid, lines)) return true;
  std::fprintf(stderr,
               "%s: %zu of %zu lines invalid, more than --max-invalid %s\n",
               file.c_str(), invalid, lines, limit.ToString().c_str());
  return false;
}

}  // namespace mlmon_cli
