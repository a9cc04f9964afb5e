#ifndef MLMON_TESTS_TESTING_PREDICTION_LOG_HELPERS_H_
#define MLMON_TESTS_TESTING_PREDICTION_LOG_HELPERS_H_

// Helpers shared by the tests of mlmon::PredictionLog: a temporary
// directory, the files read back as JSON lines, the counters read from the
// text exposition, and a fixture logging model "fraud" version "3".

#include <gtest/gtest.h>
#include <stdlib.h>

#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "mlmon/clock.h"
#include "mlmon/prediction_log.h"
#include "mlmon/registry.h"

namespace mlmon {
namespace testutil {

// A timestamp passed explicitly to the Log* calls.
inline constexpr double kTs = 1764150000.5;

// A fresh directory named `<prefix>-XXXXXX` under the temporary directory,
// removed with its files at the end of the test.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "plog") {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX"))
            .string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The lines of a log file as JSON. `torn` is set if the file does not end
// with a newline or a line does not parse.
inline std::vector<nlohmann::json> ParseLines(const std::string& path,
                                              bool* torn) {
  const std::string text = ReadFile(path);
  std::vector<nlohmann::json> out;
  *torn = !text.empty() && text.back() != '\n';
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const std::exception&) {
      *torn = true;
    }
    start = end + 1;
  }
  return out;
}

// Lines of a file that must hold whole, valid lines only: fails the test on
// a line that does not parse or a file that does not end with a newline.
inline std::vector<nlohmann::json> WholeLines(const std::string& path) {
  bool torn = false;
  std::vector<nlohmann::json> lines = ParseLines(path, &torn);
  EXPECT_FALSE(torn) << path << " ends inside a line or holds a broken one:\n"
                     << ReadFile(path).substr(0, 4096);
  return lines;
}

// The series `name` of a log of model "fraud" version "3" for `stream`
// ("predictions" or "outcomes"); `extra` adds labels (",reason=\"...\"").
inline std::string Series(const std::string& name, const char* stream,
                          const std::string& extra = "") {
  return name + R"({model="fraud",version="3",stream=")" + stream + "\"" +
         extra + "}";
}

// Options that write `fraud-*.ndjson` in `directory`, timed by `clock`.
inline PredictionLogOptions FraudLogOptions(const std::string& directory,
                                            Clock* clock) {
  PredictionLogOptions o;
  o.directory = directory;
  o.prefix = "fraud";
  o.clock = clock;
  return o;
}

// A fixture with a fresh directory, a fake clock and a registry.
class PredictionLogFixture : public ::testing::Test {
 protected:
  explicit PredictionLogFixture(const std::string& dir_prefix = "plog")
      : dir_(dir_prefix) {}

  // Options that write `fraud-*.ndjson` in dir_, timed by clock_.
  PredictionLogOptions BaseOptions() {
    return FraudLogOptions(dir_.path(), &clock_);
  }

  TempDir dir_;
  FakeClock clock_{0, 1.7e9};
  Registry registry_;
};

}  // namespace testutil
}  // namespace mlmon

#endif  // MLMON_TESTS_TESTING_PREDICTION_LOG_HELPERS_H_
