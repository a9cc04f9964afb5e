#ifndef MLMON_SRC_HTTP_REQUEST_STATE_H_
#define MLMON_SRC_HTTP_REQUEST_STATE_H_

// A route and the per-request state the server keeps while it reads,
// handles and answers one request.

#include <cstddef>
#include <string>

#include "http/connection_table.h"
#include "mlmon/http_server.h"

namespace mlmon {
namespace http {

struct Route {
  HttpHandler handler;
  RouteOptions options;
  bool inline_handler = false;  // built-in: runs on the I/O thread
};

// Created by the URI log callback (the first callback of every request) and
// deleted by the completion callback.
struct RequestState {
  std::string query;
  const Route* route = nullptr;
  bool started = false;       // prechecks passed or refused
  bool too_large = false;     // a chunked body crossed the limit
  std::size_t discarded = 0;  // body bytes dropped since then
  HttpRequest request;
  ConnectionTable::Conn* conn = nullptr;  // null if untracked
  // A host request handed to the handler pool (the connection suspended
  // until `response` is set). While dispatched, the fields below are read
  // and written under the pool's mutex.
  bool dispatched = false;
  bool has_response = false;
  bool picked_up = false;  // the I/O thread has taken `response`
  HttpResponse response;
};

// Runs the request's route handler; a throwing handler gives 500
// problem+json naming the route.
HttpResponse Dispatch(const RequestState& state);

}  // namespace http
}  // namespace mlmon

#endif  // MLMON_SRC_HTTP_REQUEST_STATE_H_
