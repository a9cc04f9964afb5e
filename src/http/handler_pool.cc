#include "http/handler_pool.h"

#include <fmt/format.h>

#include <chrono>
#include <exception>
#include <utility>

#include "http/response.h"

namespace mlmon {
namespace http {

HttpResponse Dispatch(const RequestState& state) {
  try {
    return state.route->handler(state.request);
  } catch (const std::exception& e) {
    return ProblemResponse(
        500, ReasonPhrase(500),
        fmt::format("handler for {} {} failed: {}", state.request.method,
                    state.request.path, e.what()));
  } catch (...) {
    return ProblemResponse(
        500, ReasonPhrase(500),
        fmt::format("handler for {} {} failed", state.request.method,
                    state.request.path));
  }
}

HandlerPool::HandlerPool(unsigned threads, std::size_t queue,
                         ConnectionTable& table)
    : threads_(threads), queue_(queue), table_(table) {}

void HandlerPool::Start() {
  {
    detail::MutexLock lock(mu_);
    stop_ = false;
  }
  workers_.reserve(threads_);
  for (unsigned i = 0; i < threads_; ++i) {
    workers_.emplace_back([this] { Loop(); });
  }
}

void HandlerPool::Stop() noexcept {
  std::deque<Job> queued;
  {
    detail::MutexLock lock(mu_);
    stop_ = true;
    queued.swap(jobs_);
    for (Job& job : queued) {
      try {
        job.state->response = Unavailable("the server is stopping");
      } catch (...) {
        job.state->response = HttpResponse{503, "", "", {}};
      }
      job.state->has_response = true;
    }
  }
  jobs_cv_.notify_all();
  for (Job& job : queued) MHD_resume_connection(job.connection);
  for (std::thread& worker : workers_) {
    try {
      worker.join();  // after the handler it runs, if any, returns
    } catch (...) {
    }
  }
  workers_.clear();
  // Wait until every dispatched request has completed: its connection is
  // out of suspension and its response sent (bounded: a client that does
  // not read may not hold up the stop).
  detail::MutexLock lock(mu_);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (outstanding_ != 0 && drained_cv_.wait_until(lock.native(), until) !=
                                  std::cv_status::timeout) {
  }
}

MHD_Result HandlerPool::Submit(MHD_Connection* connection,
                               RequestState* state) {
  bool stopping;
  bool queued = false;
  {
    detail::MutexLock lock(mu_);
    stopping = stop_;
    const std::size_t idle = threads_ - running_;
    if (!stop_ && jobs_.size() < queue_ + idle) {
      // Suspended before it is queued, so a handler thread cannot resume
      // it first; the handler threads take mu_ to pop.
      jobs_.push_back(Job{connection, state});
      MHD_suspend_connection(connection);
      state->dispatched = true;
      ++outstanding_;
      queued = true;
    }
  }
  if (queued) {
    jobs_cv_.notify_one();
    return MHD_YES;
  }
  if (stopping) {
    return QueueResponse(connection, Unavailable("the server is stopping"));
  }
  table_.CountShed(kShedHandlerQueueFull);
  return QueueResponse(
      connection,
      Unavailable(fmt::format("every handler thread is busy and the queue of "
                              "{} is full; retry later",
                              queue_)));
}

bool HandlerPool::TakeResponse(RequestState* state, HttpResponse* response) {
  detail::MutexLock lock(mu_);
  if (!state->has_response || state->picked_up) return false;
  *response = std::move(state->response);
  state->picked_up = true;
  return true;
}

void HandlerPool::Completed(const RequestState& state) {
  if (!state.dispatched) return;
  bool drained;
  {
    detail::MutexLock lock(mu_);
    drained = --outstanding_ == 0;
  }
  if (drained) drained_cv_.notify_all();
}

void HandlerPool::Loop() {
  for (;;) {
    Job job{};
    {
      detail::MutexLock lock(mu_);
      while (!stop_ && jobs_.empty()) jobs_cv_.wait(lock.native());
      if (jobs_.empty()) return;  // stopping
      job = jobs_.front();
      jobs_.pop_front();
      ++running_;
    }
    HttpResponse response;
    try {
      response = Dispatch(*job.state);
    } catch (...) {
      response = HttpResponse{500, "", "", {}};  // out of memory
    }
    {
      detail::MutexLock lock(mu_);
      job.state->response = std::move(response);
      job.state->has_response = true;
      --running_;
    }
    MHD_resume_connection(job.connection);
  }
}

}  // namespace http
}  // namespace mlmon
