#include "mlmon/feedback_endpoint.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace mlmon {

namespace {

// The media type of a Content-Type header, lower-cased, parameters dropped.
std::string MediaType(const HttpRequest& r) {
  auto it = r.headers.find("content-type");
  if (it == r.headers.end()) return {};
  std::string t = it->second.substr(0, it->second.find(';'));
  t.erase(std::remove_if(t.begin(), t.end(),
                         [](unsigned char c) { return std::isspace(c) != 0; }),
          t.end());
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return t;
}

}  // namespace

void AddFeedbackRoute(HttpServer& server, const OutcomeIngest& ingest,
                      FeedbackOptions options) {
  RouteOptions route;
  route.max_body_bytes = options.max_body_bytes;
  route.require_auth = options.require_auth;
  server.AddRoute(
      "POST", options.path,
      [&ingest](const HttpRequest& request) {
        const std::string media = MediaType(request);
        BodyFormat format;
        if (media == "application/x-ndjson" || media == "application/ndjson") {
          format = BodyFormat::kNdjson;
        } else if (media == "application/json") {
          format = BodyFormat::kJson;
        } else {
          return ProblemResponse(
              415, "Unsupported Media Type",
              fmt::format("Content-Type '{}' is not application/x-ndjson or "
                          "application/json",
                          media));
        }
        try {
          IngestReport report = ingest.IngestOutcomes(request.body, format);
          HttpResponse response;
          response.content_type = "application/json";
          response.body = report.ToJson();
          if (report.unavailable > 0) {
            // The shared pending store is down or slow: the lines in
            // "retry" were not joined; the rest of the body was.
            response.status = 503;
            response.headers.emplace_back("Retry-After", "1");
          }
          return response;
        } catch (const MalformedBody& e) {
          return ProblemResponse(
              400, "Malformed body",
              fmt::format("line {}: {}", e.line(), e.what()));
        }
      },
      route);
}

}  // namespace mlmon
