#include "output.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace mlmon_cli {

void WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write '" + tmp + "'");
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("cannot write '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot rename '" + tmp + "' to '" + path + "'");
  }
}

int WriteOutput(const std::string& path, const std::string& text) {
  if (!path.empty()) {
    WriteAtomically(path, text);
    return 0;
  }
  return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() ? 0
                                                                         : 1;
}

}  // namespace mlmon_cli
