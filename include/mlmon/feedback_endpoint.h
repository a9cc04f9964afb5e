#ifndef MLMON_FEEDBACK_ENDPOINT_H_
#define MLMON_FEEDBACK_ENDPOINT_H_

/// \file
/// `POST /v1/outcomes`: the HTTP feedback endpoint (target `mlmon::http`).

#include <cstddef>
#include <string>

#include "mlmon/http_server.h"
#include "mlmon/outcome_ingest.h"

namespace mlmon {

/// Options of the feedback route.
struct FeedbackOptions {
  std::string path = "/v1/outcomes";
  /// Bodies above this are answered 413 before they are read.
  std::size_t max_body_bytes = 1 << 20;
  /// Require the server's bearer token (or basic credentials) when the server
  /// has one configured: 401 otherwise.
  bool require_auth = true;
};

/// Serves the feedback protocol (README.md) on `server`:
/// body `application/x-ndjson` (one object per line) or `application/json`
/// (one object or an array); `200` with
/// `{"matched":n,"unmatched":n,"duplicate":n,"invalid":n,
/// "version_matches":n,"errors":[...]}`, where every non-blank line is
/// counted exactly once (the four sum to the lines), `version_matches`
/// totals the model versions the matched lines were joined to (a line
/// without `"version"` joins every hosted version of its model that
/// predicted its id; equal to `matched` when each model has one version; a
/// field added to the answer, which older clients can ignore) and `errors`
/// lists the first 100 refused lines in line order;
/// `400` problem+json naming the line when the body is not JSON at all (an
/// NDJSON body with no line that is one JSON object); `401`, `405`, `413`
/// (before the body is read), `415` for another media type. A bad line
/// never spoils the good lines around it; re-sent outcomes count as
/// `duplicate`, never twice. How lines are counted in the metrics:
/// `mlmon/outcome_ingest.h`.
///
/// Trackers may be added to and removed from `ingest`, or destroyed, while
/// the server runs: their lines are then answered as an unknown model.
///
/// REQUIRES: `server` is not running; `ingest` outlives the server's
/// serving (declare the ingest before the server, or stop the server first).
/// \throw mlmon::ConfigError as `HttpServer::AddRoute`.
void AddFeedbackRoute(HttpServer& server, const OutcomeIngest& ingest,
                      FeedbackOptions options = {});

}  // namespace mlmon

#endif  // MLMON_FEEDBACK_ENDPOINT_H_
