#ifndef MLMON_SRC_HTTP_ACCEPT_H_
#define MLMON_SRC_HTTP_ACCEPT_H_

// Content negotiation of /metrics: which exposition format a scraper's
// Accept header asks for.

#include <string_view>

namespace mlmon {
namespace http {

enum class MetricsFormat { kText, kOpenMetrics };

inline constexpr char kTextContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";
inline constexpr char kOpenMetricsContentType[] =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

// The format to answer `accept` (an Accept header's value; empty when the
// request has none) with, by RFC 9110's rules:
// - each format's quality is the q of the most specific media range that
//   matches it: `*/*` < `text/*` or `application/*` < the full type < the
//   full type with a `version` parameter. OpenMetrics is
//   `application/openmetrics-text` (version 1.0.0), the text format
//   `text/plain` (version 0.0.4); a range naming another version does not
//   match. Other parameters are ignored. A range with a malformed q is
//   ignored; q=0 means "not acceptable".
// - the higher quality wins; on equal qualities, the format matched by the
//   more specific range, and the text format if that ties too.
// - when neither is acceptable (or the header is absent or unparsable), the
//   text format: a scraper always gets an answer it can most likely read,
//   never a 406.
// Linear in the header's length; never allocates or throws.
MetricsFormat NegotiateMetricsFormat(std::string_view accept) noexcept;

}  // namespace http
}  // namespace mlmon

#endif  // MLMON_SRC_HTTP_ACCEPT_H_
