#ifndef MLMON_SRC_HTTP_RESPONSE_H_
#define MLMON_SRC_HTTP_RESPONSE_H_

// Building the server's own responses and handing responses to
// libmicrohttpd.

#include <microhttpd.h>

#include <cstddef>

#include "mlmon/http_server.h"

namespace mlmon {
namespace http {

inline constexpr char kProblemContentType[] = "application/problem+json";

// The reason phrase of the error statuses the server answers itself
// ("Error" for any other status).
const char* ReasonPhrase(int status);

// 413 problem+json naming `limit`; the connection is closed after it, as
// the body was not read.
HttpResponse TooLarge(std::size_t limit);

// 503 problem+json with `Retry-After: 1` and `detail`.
HttpResponse Unavailable(std::string_view detail);

// Queues `response` on `connection`. A header libmicrohttpd refuses (e.g. a
// handler set Content-Length, or a value with a newline) turns the answer
// into a 500 naming the header; a status outside [100, 999] is sent as 500.
// Returns MHD_NO if the response cannot be created or queued.
MHD_Result QueueResponse(MHD_Connection* connection, HttpResponse response);

}  // namespace http
}  // namespace mlmon

#endif  // MLMON_SRC_HTTP_RESPONSE_H_
