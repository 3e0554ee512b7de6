#pragma once
// Renders samples in the Prometheus text exposition format 0.0.4: one
// "# HELP" and "# TYPE" line per family (from metric_catalog.h), then its
// samples, families sorted by name. Label values are escaped (\\, \", \n).

#include <string>
#include <vector>

#include "actors/inspect/actor_report.h"

namespace actormq {

std::string prometheus_text(const std::vector<metric_sample>& samples);

/// A sample value as Prometheus writes it: integers without exponent,
/// +Inf, -Inf, NaN.
std::string prometheus_value(double v);

}  // namespace actormq
