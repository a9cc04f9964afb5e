// Fuzzes the reference profile parser (`ReferenceProfile::Parse`, what
// `Load` and `mlmon profile`'s readers use). The contract: a bad profile is
// a `mlmon::ConfigError` naming the bad field; any other exception, or a
// crash, is a finding (abort).
//
// A profile that parses must also survive its own round trip (what `Save`
// then `Load` do): `ToJson()` must not throw, must parse again, and must
// render to the same text.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "mlmon/errors.h"
#include "mlmon/reference_profile.h"

namespace {

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_reference_profile: %s: %s\n", what,
               detail.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string json(reinterpret_cast<const char*>(data), size);
  mlmon::ReferenceProfile profile;
  try {
    profile = mlmon::ReferenceProfile::Parse(json, "fuzz.json");
  } catch (const mlmon::ConfigError&) {
    return 0;
  } catch (const std::exception& e) {
    Fail("Parse threw a non-ConfigError exception", e.what());
  } catch (...) {
    Fail("Parse threw a non-std::exception", "");
  }
  std::string first, second;
  try {
    first = profile.ToJson();
  } catch (const std::exception& e) {
    Fail("ToJson of a parsed profile threw", e.what());
  }
  try {
    second = mlmon::ReferenceProfile::Parse(first, "round-trip").ToJson();
  } catch (const std::exception& e) {
    Fail("a parsed profile does not parse again after ToJson",
         std::string(e.what()) + "\n" + first);
  }
  if (first != second) {
    Fail("ToJson -> Parse -> ToJson changed the profile",
         first + "\n--- became ---\n" + second);
  }
  return 0;
}
