#include "mlmon/pending_store_spec.h"

namespace mlmon {

const char* PendingStoreBackendName(
    PendingStoreSpec::Backend backend) noexcept {
  switch (backend) {
    case PendingStoreSpec::Backend::kMemory:
      return "memory";
    case PendingStoreSpec::Backend::kRedis:
      return "redis";
  }
  return "memory";
}

}  // namespace mlmon
