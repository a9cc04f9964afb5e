#ifndef MLMON_TOOLS_DEMO_TRAFFIC_H_
#define MLMON_TOOLS_DEMO_TRAFFIC_H_

// Synthetic card transactions, drawn from the process train_model.py trains on.

#include <cstdint>
#include <random>
#include <string>

namespace mlmon_demo {

struct Transaction {
  bool fraud = false;  // the true outcome
  double amount_usd = 0, account_age_days = 0, tx_last_24h = 0, distance_km = 0,
         session_seconds = 0;
};

/// Draws transactions. Thread safety: thread-compatible (one per thread).
class TrafficGenerator {
 public:
  explicit TrafficGenerator(std::uint64_t seed) : rng_(seed) {}
  Transaction Next();
  /// `{"id": ..., "features": {...}}` as POST /v1/predict expects.
  static std::string PredictBody(const std::string& id, const Transaction& t);

 private:
  std::mt19937_64 rng_;
};

}  // namespace mlmon_demo

#endif  // MLMON_TOOLS_DEMO_TRAFFIC_H_
