#include "http/response.h"

#include <fmt/format.h>

#include <string>
#include <utility>

#include "internal/text_format.h"

namespace mlmon {

HttpResponse ProblemResponse(int status, std::string_view title,
                             std::string_view detail) {
  HttpResponse response;
  response.status = status;
  response.content_type = http::kProblemContentType;
  std::string& b = response.body;
  b.reserve(64 + title.size() + detail.size());
  b.append("{\"type\":\"about:blank\",\"title\":");
  internal::AppendJsonString(&b, title);
  b.append(fmt::format(",\"status\":{},\"detail\":", status));
  internal::AppendJsonString(&b, detail);
  b.append("}\n");
  return response;
}

namespace http {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

HttpResponse TooLarge(std::size_t limit) {
  HttpResponse response = ProblemResponse(
      413, ReasonPhrase(413),
      fmt::format("request body exceeds the limit of {} bytes", limit));
  response.headers.emplace_back("Connection", "close");
  return response;
}

HttpResponse Unavailable(std::string_view detail) {
  HttpResponse response = ProblemResponse(503, ReasonPhrase(503), detail);
  response.headers.emplace_back("Retry-After", "1");
  return response;
}

MHD_Result QueueResponse(MHD_Connection* connection, HttpResponse response) {
  // Hand the body to MHD without copying; MHD frees it with the response.
  auto* body = new std::string(std::move(response.body));
  MHD_Response* r = MHD_create_response_from_buffer_with_free_callback_cls(
      body->size(), body->data(),
      [](void* cls) { delete static_cast<std::string*>(cls); }, body);
  if (r == nullptr) {
    delete body;
    return MHD_NO;
  }
  const char* bad_header = nullptr;
  if (!response.content_type.empty() &&
      MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                              response.content_type.c_str()) != MHD_YES) {
    bad_header = MHD_HTTP_HEADER_CONTENT_TYPE;
  }
  for (const auto& [name, value] : response.headers) {
    if (bad_header == nullptr &&
        MHD_add_response_header(r, name.c_str(), value.c_str()) != MHD_YES) {
      bad_header = name.c_str();
    }
  }
  if (bad_header != nullptr) {
    HttpResponse error = ProblemResponse(
        500, ReasonPhrase(500),
        fmt::format("handler returned an invalid \"{}\" header", bad_header));
    MHD_destroy_response(r);
    return QueueResponse(connection, std::move(error));
  }
  const bool valid_status = response.status >= 100 && response.status <= 999;
  const MHD_Result result = MHD_queue_response(
      connection, static_cast<unsigned>(valid_status ? response.status : 500),
      r);
  MHD_destroy_response(r);
  return result;
}

}  // namespace http
}  // namespace mlmon
