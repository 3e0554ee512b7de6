#pragma once
// wall_ms: the checker's wall clock, ms since the epoch: the clock
// deliver-at times and the workloads' delivery times are in.

#include <cstdint>

namespace actormq::checker {

int64_t wall_ms();

}  // namespace actormq::checker
