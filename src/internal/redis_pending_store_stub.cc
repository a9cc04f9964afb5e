// The Redis pending store of a build without hiredis (MLMON_WITH_REDIS=OFF):
// asking for one is a set-up error.

#include "config_errors.h"
#include "redis_pending_store.h"

namespace mlmon {
namespace internal {

std::unique_ptr<RemotePendingStore> MakeRedisPendingStore(
    const RemoteStoreOptions&, const RemoteStoreSeries&) {
  throw SetupError("OutcomeSpec.store.backend",
                   "this mlmon was built without Redis (MLMON_WITH_REDIS=OFF)",
                   "redis");
}

}  // namespace internal

bool RedisPendingStoreAvailable() noexcept { return false; }

}  // namespace mlmon
