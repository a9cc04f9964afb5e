#ifndef MLMON_TOOLS_MLMON_LINE_READER_H_
#define MLMON_TOOLS_MLMON_LINE_READER_H_

// Bounded input for the mlmon tool's readers (`replay`, `profile`): lines
// of at most --max-line-bytes, read without holding a longer line, and the
// --max-invalid limit on refused lines.

#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace mlmon_cli {

/// Default of --max-line-bytes: 1 MiB.
inline constexpr std::size_t kDefaultMaxLineBytes = 1u << 20;

/// Reads a file line by line ('\n'; a trailing '\r' is dropped). A line
/// longer than `max_line_bytes` is skipped to its end without being kept:
/// `Next` reports it as too long with an empty `line`.
class LineReader {
 public:
  /// \throw std::runtime_error naming `path` if it cannot be opened.
  LineReader(const std::string& path, std::size_t max_line_bytes);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  /// The next line into `*line`; false at the end of the file.
  /// `*too_long` is set when the line was longer than the limit.
  /// \throw std::runtime_error naming the file on a read error.
  bool Next(std::string* line, bool* too_long);
  /// 1-based number of the line `Next` returned last.
  std::size_t line_no() const { return line_no_; }
  const std::string& path() const { return path_; }

 private:
  bool Fill();

  std::string path_;
  std::size_t max_;
  int fd_ = -1;
  std::vector<char> buf_;
  std::size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  std::size_t line_no_ = 0;
};

/// --max-invalid: a count ("0", "25") or a percentage of the non-blank
/// lines of a file ("1%", "0.5%"); more invalid lines than that fail.
struct InvalidLimit {
  bool percent = false;
  double value = 0;

  /// \throw std::invalid_argument on text that is neither.
  static InvalidLimit Parse(const std::string& text);
  /// True when `invalid` of `lines` is more than the limit.
  bool Exceeded(std::size_t invalid, std::size_t lines) const;
  /// "1%" or "0".
  std::string ToString() const;
};

/// Adds --max-line-bytes and --max-invalid (default `default_invalid`) to
/// `sub`.
void AddInputLimitOptions(CLI::App* sub, std::size_t* max_line_bytes,
                          std::string* max_invalid,
                          const std::string& default_invalid);

/// Prints the invalid lines of a file to stderr, bounded: the first
/// `kShown` as "<file>:<line>: <why>", then "... and N more invalid lines".
class InvalidLines {
 public:
  static constexpr std::size_t kShown = 10;
  explicit InvalidLines(std::string file) : file_(std::move(file)) {}
  void Add(std::size_t line, const std::string& why);
  /// Prints the "... and N more" line if lines were not shown.
  void Finish() const;
  std::size_t count() const { return count_; }

 private:
  std::string file_;
  std::size_t count_ = 0;
};

/// Applies --max-invalid to one file: false (after printing "<file>: N of M
/// lines invalid, more than --max-invalid L") when exceeded.
bool WithinInvalidLimit(const std::string& file, std::size_t invalid,
                        std::size_t lines, const InvalidLimit& limit);

}  // namespace mlmon_cli

#endif  // MLMON_TOOLS_MLMON_LINE_READER_H_
