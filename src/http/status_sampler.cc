#include "http/status_sampler.h"

namespace mlmon {
namespace http {
namespace {

std::int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StatusHistoryOptions HistoryOptions(std::size_t points) {
  StatusHistoryOptions options;
  options.points = points;
  return options;
}

}  // namespace

StatusSampler::StatusSampler(const Registry& registry, std::size_t points,
                             unsigned interval_ms)
    : history_(registry, HistoryOptions(points)),
      interval_(interval_ms),
      stamp_wall_ms_(UnixMillis()),
      stamp_steady_(std::chrono::steady_clock::now()) {}

std::int64_t StatusSampler::SampleMillis() const {
  return stamp_wall_ms_ + std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - stamp_steady_)
                              .count();
}

void StatusSampler::Start() {
  history_.Sample(SampleMillis());
  // A point that fails (e.g. bad_alloc) is skipped; the next one is taken.
  thread_.Start(interval_, [this] { history_.Sample(SampleMillis()); });
}

}  // namespace http
}  // namespace mlmon
