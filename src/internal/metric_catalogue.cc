#include "metric_catalogue.h"

#include <utility>

namespace mlmon {
namespace internal {

static_assert(CatalogueProblem().empty(),
              "a row of kMetricCatalogue is malformed: the catalogue test "
              "names it (MetricCatalogueTest.EveryRowIsWellFormed)");

namespace {

std::string Name(const MetricDef& d) { return std::string(d.name); }
std::string Help(const MetricDef& d) { return std::string(d.help); }

}  // namespace

Family<Counter>& AddFamily(Registry& registry, const MetricOf<Counter>& m) {
  return registry.AddCounter(Name(m.def), Help(m.def), m.def.labels.ToVector());
}

Family<Gauge>& AddFamily(Registry& registry, const MetricOf<Gauge>& m) {
  return registry.AddGauge(Name(m.def), Help(m.def), m.def.labels.ToVector());
}

Family<UpDownGauge>& AddFamily(Registry& registry,
                               const MetricOf<UpDownGauge>& m) {
  return registry.AddUpDownGauge(Name(m.def), Help(m.def),
                                 m.def.labels.ToVector());
}

Family<Histogram>& AddFamily(Registry& registry, const MetricOf<Histogram>& m,
                             std::vector<double> upper_bounds) {
  return registry.AddHistogram(Name(m.def), Help(m.def),
                               m.def.labels.ToVector(),
                               std::move(upper_bounds));
}

Family<Histogram>& AddFamily(Registry& registry, const MetricOf<Histogram>& m) {
  return registry.AddHistogram(Name(m.def), Help(m.def),
                               m.def.labels.ToVector());
}

}  // namespace internal
}  // namespace mlmon
