#pragma once
// Every metric ActorMQ exposes on /metrics: name, Prometheus type and help
// text, in one table (metric_catalog.cpp) that docs/inspector.md lists too.
// A sample whose family is not in the catalog is still rendered, as
// "untyped"; a unit test checks that every family the broker emits is here.

#include <string_view>
#include <vector>

namespace actormq {

struct metric_family {
  std::string_view name;
  std::string_view type;  ///< counter, gauge or histogram
  std::string_view help;
};

/// The whole catalog, sorted by name.
const std::vector<metric_family>& metric_catalog();

/// The family of a sample name (name_bucket, name_sum and name_count belong
/// to histogram name); null when the catalog lacks it.
const metric_family* find_metric_family(std::string_view sample_name);

}  // namespace actormq
