#ifndef MLMON_TOOLS_MLMON_OUTPUT_H_
#define MLMON_TOOLS_MLMON_OUTPUT_H_

// How the mlmon tool writes what it generates.

#include <string>

namespace mlmon_cli {

/// Writes `text` to `path` through a temporary file in the same directory
/// that is renamed into place, so a reader (Prometheus, node_exporter's
/// textfile collector) never sees a half-written file.
/// \throw std::runtime_error naming the file if it cannot be written.
void WriteAtomically(const std::string& path, const std::string& text);

/// `WriteAtomically(path, text)`, or to stdout when `path` is empty.
/// Returns the exit status (non-zero if stdout could not be written).
int WriteOutput(const std::string& path, const std::string& text);

}  // namespace mlmon_cli

#endif  // MLMON_TOOLS_MLMON_OUTPUT_H_
