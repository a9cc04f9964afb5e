#ifndef MLMON_TOOLS_DEMO_MODEL_H_
#define MLMON_TOOLS_DEMO_MODEL_H_

// A logistic regression read from a small text file (fraud_model.txt).

#include <string>
#include <string_view>
#include <vector>

namespace mlmon_demo {

/// A binary logistic regression over named numeric features.
///
/// Thread safety: thread-safe after construction (read-only).
class LogisticModel {
 public:
  struct Feature {
    std::string name;
    bool log1p = false;  // transform before standardising
    double mean = 0, scale = 1, weight = 0;
  };

  /// \throw std::runtime_error naming the file and line on a bad file.
  static LogisticModel Load(const std::string& path);

  /// Index of `name` in features(), or -1.
  int IndexOf(std::string_view name) const noexcept;

  /// The score for `values` (one per feature, NaN = missing → mean).
  double Score(const double* values) const noexcept;

  /// The same model with every weight multiplied by `weight_scale` and
  /// `bias_shift` added to the bias: a deterministic stand-in for a retrained
  /// version whose scores differ a little (`mlmon demo --canary`'s v2).
  LogisticModel Perturbed(double weight_scale, double bias_shift) const;

  const std::string& name() const noexcept { return name_; }
  const std::vector<Feature>& features() const noexcept { return features_; }

 private:
  std::string name_ = "model";
  double bias_ = 0;
  std::vector<Feature> features_;
};

}  // namespace mlmon_demo

#endif  // MLMON_TOOLS_DEMO_MODEL_H_
