#include "model.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mlmon_demo {

LogisticModel LogisticModel::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open model file '" + path + "'");
  LogisticModel m;
  std::string line;
  int line_no = 0;
  auto fail = [&](const std::string& why) {
    throw std::runtime_error(path + ":" + std::to_string(line_no) + ": " + why);
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string kind;
    ss >> kind;
    if (kind == "model") {
      if (!(ss >> m.name_)) fail("expected 'model NAME'");
    } else if (kind == "bias") {
      if (!(ss >> m.bias_)) fail("expected 'bias NUMBER'");
    } else if (kind == "feature") {
      Feature f;
      std::string transform;
      if (!(ss >> f.name >> transform >> f.mean >> f.scale >> f.weight)) {
        fail("expected 'feature NAME TRANSFORM MEAN SCALE WEIGHT'");
      }
      if (transform != "log1p" && transform != "identity") {
        fail("unknown transform '" + transform + "'");
      }
      if (!(f.scale > 0)) fail("scale must be > 0");
      f.log1p = transform == "log1p";
      m.features_.push_back(std::move(f));
    } else {
      fail("unknown line kind '" + kind + "'");
    }
  }
  if (m.features_.empty()) fail("no features");
  return m;
}

int LogisticModel::IndexOf(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < features_.size(); ++i) {
    if (features_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

LogisticModel LogisticModel::Perturbed(double weight_scale,
                                       double bias_shift) const {
  LogisticModel m = *this;
  m.bias_ += bias_shift;
  for (Feature& f : m.features_) f.weight *= weight_scale;
  return m;
}

double LogisticModel::Score(const double* values) const noexcept {
  double z = bias_;
  for (std::size_t i = 0; i < features_.size(); ++i) {
    const Feature& f = features_[i];
    double x = values[i];
    if (std::isnan(x)) continue;  // missing: imputed with the mean
    if (f.log1p) x = std::log1p(std::fmax(x, 0.0));
    z += f.weight * (x - f.mean) / f.scale;
  }
  return 1.0 / (1.0 + std::exp(-z));
}

}  // namespace mlmon_demo
