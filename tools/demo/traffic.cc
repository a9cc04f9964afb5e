#include "traffic.h"

#include <cmath>
#include <cstdio>

namespace mlmon_demo {

Transaction TrafficGenerator::Next() {
  Transaction t;
  t.fraud = std::bernoulli_distribution(0.10)(rng_);
  auto lognormal = [&](double mu, double sigma) {
    return std::lognormal_distribution<double>(mu, sigma)(rng_);
  };
  auto exponential = [&](double mean) {
    return std::exponential_distribution<double>(1.0 / mean)(rng_);
  };
  auto poisson = [&](double mean) {
    return static_cast<double>(std::poisson_distribution<int>(mean)(rng_));
  };
  if (t.fraud) {
    t.amount_usd = lognormal(4.2, 1.0);
    t.account_age_days = exponential(300);
    t.tx_last_24h = poisson(3);
    t.distance_km = exponential(60);
    t.session_seconds = lognormal(std::log(150.0), 0.6);
  } else {
    t.amount_usd = lognormal(3.5, 1.0);
    t.account_age_days = exponential(800);
    t.tx_last_24h = poisson(2);
    t.distance_km = exponential(20);
    t.session_seconds = lognormal(std::log(300.0), 0.5);
  }
  return t;
}

std::string TrafficGenerator::PredictBody(const std::string& id,
                                          const Transaction& t) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"id\":\"%s\",\"features\":{\"amount_usd\":%.6g,"
                "\"account_age_days\":%.6g,\"tx_last_24h\":%.6g,"
                "\"distance_km\":%.6g,\"session_seconds\":%.6g}}",
                id.c_str(), t.amount_usd, t.account_age_days, t.tx_last_24h,
                t.distance_km, t.session_seconds);
  return buf;
}

}  // namespace mlmon_demo
