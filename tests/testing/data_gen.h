#ifndef MLMON_TESTS_TESTING_DATA_GEN_H_
#define MLMON_TESTS_TESTING_DATA_GEN_H_

// Reproducible synthetic data for tests: every draw comes from one seeded
// std::mt19937_64, so a failing test fails the same way on every run.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace mlmon {
namespace testutil {

class DataGen {
 public:
  explicit DataGen(std::uint64_t seed) : rng_(seed) {}

  double Uniform(double lo = 0.0, double hi = 1.0) {
    return std::uniform_real_distribution<double>(lo, hi)(rng_);
  }
  double Normal(double mean = 0.0, double sd = 1.0) {
    return std::normal_distribution<double>(mean, sd)(rng_);
  }
  // exp of a normal with this mean and standard deviation.
  double LogNormal(double log_mean = 0.0, double log_sd = 1.0) {
    return std::exp(Normal(log_mean, log_sd));
  }
  // Exponential with mean 1 / rate.
  double Exponential(double rate = 1.0) {
    return std::exponential_distribution<double>(rate)(rng_);
  }
  // Beta(a, b) on [0, 1], as X / (X + Y) of two unit-scale gammas.
  double Beta(double a, double b) {
    const double x = std::gamma_distribution<double>(a, 1.0)(rng_);
    const double y = std::gamma_distribution<double>(b, 1.0)(rng_);
    return x / (x + y);
  }
  // 1 with probability p, else 0.
  int Bernoulli(double p) { return Uniform() < p ? 1 : 0; }
  // An integer in [0, n).
  std::size_t Index(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  std::vector<double> Normals(std::size_t n, double mean = 0.0,
                              double sd = 1.0) {
    std::vector<double> out(n);
    for (double& v : out) v = Normal(mean, sd);
    return out;
  }
  std::vector<double> Uniforms(std::size_t n, double lo = 0.0,
                               double hi = 1.0) {
    std::vector<double> out(n);
    for (double& v : out) v = Uniform(lo, hi);
    return out;
  }

  // A labelled binary sample: the label is 1 with probability
  // `positive_share`; the score is a logistic of a normal whose mean is
  // `separation` apart between the classes, so a larger separation gives a
  // higher AUC and every score lies in (0, 1).
  struct Labelled {
    double score;
    int label;
  };
  Labelled Binary(double positive_share = 0.3, double separation = 1.5) {
    const int label = Bernoulli(positive_share);
    const double z = Normal(label == 1 ? separation / 2 : -separation / 2);
    return {1.0 / (1.0 + std::exp(-z)), label};
  }

  std::mt19937_64& engine() { return rng_; }

 private:
  std::mt19937_64 rng_;
};

}  // namespace testutil
}  // namespace mlmon

#endif  // MLMON_TESTS_TESTING_DATA_GEN_H_
