#pragma once
// The broker process's own samples (process_cpu_seconds_total,
// process_resident_memory_bytes, process_open_fds, ...), read from /proc
// the way Prometheus client libraries do. A few small reads per call.

#include <vector>

#include "actors/inspect/actor_report.h"

namespace actormq {

void add_process_metrics(std::vector<metric_sample>& out);

}  // namespace actormq
