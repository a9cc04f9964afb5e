#include "mlmon/ticker.h"

#include <utility>
#include <vector>

#include "internal/periodic_thread.h"

namespace mlmon {

Ticker::Ticker(std::chrono::milliseconds period)
    : state_(std::make_shared<State>()),
      thread_(std::make_unique<internal::PeriodicThread>()) {
  thread_->Start(period, [this] { RunOnce(); });
}

Ticker::~Ticker() { thread_->Stop(); }

void Ticker::Add(std::function<void()> task) {
  // A registration never reset: the task lives as long as the ticker.
  detail::MutexLock lock(state_->mu);
  state_->tasks.emplace(
      state_->next_id++,
      std::make_shared<std::function<void()>>(std::move(task)));
}

Ticker::Registration Ticker::AddScoped(std::function<void()> task) {
  detail::MutexLock lock(state_->mu);
  const std::uint64_t id = state_->next_id++;
  state_->tasks.emplace(
      id, std::make_shared<std::function<void()>>(std::move(task)));
  return Registration(state_, id);
}

void Ticker::RunOnce() {
  detail::MutexLock run(state_->run_mu);
  std::vector<std::shared_ptr<std::function<void()>>> tasks;
  {
    detail::MutexLock lock(state_->mu);
    tasks.reserve(state_->tasks.size());
    for (const auto& [id, t] : state_->tasks) tasks.push_back(t);
  }
  for (auto& t : tasks) {
    try {
      (*t)();
    } catch (...) {
      // Upkeep must never take the host down; the next tick retries.
    }
  }
}

Ticker::Registration::Registration(Registration&& other) noexcept
    : state_(std::move(other.state_)), id_(other.id_) {}

Ticker::Registration& Ticker::Registration::operator=(
    Registration&& other) noexcept {
  if (this != &other) {
    Reset();
    state_ = std::move(other.state_);
    id_ = other.id_;
  }
  return *this;
}

Ticker::Registration::~Registration() { Reset(); }

void Ticker::Registration::Reset() {
  if (state_ == nullptr) return;
  {
    detail::MutexLock lock(state_->mu);
    state_->tasks.erase(id_);
  }
  // A run that copied the task before the erase finishes before we return.
  detail::MutexLock wait(state_->run_mu);
  state_.reset();
}

}  // namespace mlmon
