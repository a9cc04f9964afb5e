#ifndef MLMON_SRC_HTTP_HANDLER_POOL_H_
#define MLMON_SRC_HTTP_HANDLER_POOL_H_

// The threads that run the host routes. A complete host request is queued
// with its connection suspended; a handler thread runs the route and
// resumes the connection, whose I/O thread then sends the response.

#include <microhttpd.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <thread>
#include <vector>

#include "http/connection_table.h"
#include "http/request_state.h"
#include "mlmon/detail/mutex.h"

namespace mlmon {
namespace http {

class HandlerPool {
 public:
  // `table` counts the requests refused because the queue is full.
  HandlerPool(unsigned threads, std::size_t queue, ConnectionTable& table);
  ~HandlerPool() { Stop(); }
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // Starts the handler threads. \throw std::system_error (call Stop()).
  void Start();
  // Answers the queued requests 503, waits for the handlers running to
  // return, joins the threads, and waits (at most 5 s) until every
  // dispatched request has completed. Idempotent.
  void Stop() noexcept;

  // Hands a complete host request to a handler thread, suspending its
  // connection, or answers 503 with Retry-After if the queue is full or the
  // pool is stopping.
  MHD_Result Submit(MHD_Connection* connection, RequestState* state);
  // On a resumed connection: moves the handler's response to `response` and
  // returns true the first time it is there.
  bool TakeResponse(RequestState* state, HttpResponse* response);
  // The request completed (its response sent or its connection closed).
  void Completed(const RequestState& state);

 private:
  // A host request waiting for a handler thread.
  struct Job {
    MHD_Connection* connection;
    RequestState* state;
  };

  void Loop();

  const unsigned threads_;
  const std::size_t queue_;
  ConnectionTable& table_;
  std::vector<std::thread> workers_;  // started and joined by Start/Stop
  detail::Mutex mu_;
  std::condition_variable jobs_cv_;     // a job queued, or stopping
  std::condition_variable drained_cv_;  // outstanding_ went down
  std::deque<Job> jobs_ MLMON_GUARDED_BY(mu_);
  unsigned running_ MLMON_GUARDED_BY(mu_) = 0;  // handlers running
  // Dispatched requests not yet completed (their connections suspended, or
  // resumed and answering).
  std::size_t outstanding_ MLMON_GUARDED_BY(mu_) = 0;
  bool stop_ MLMON_GUARDED_BY(mu_) = false;
};

}  // namespace http
}  // namespace mlmon

#endif  // MLMON_SRC_HTTP_HANDLER_POOL_H_
