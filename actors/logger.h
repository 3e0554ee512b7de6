#pragma once
// The actors module's named spdlog logger ("actors"). Lines start with who
// speaks: "partition orders/3: ...", "group g1: ...".

#include <spdlog/spdlog.h>

namespace actormq {

spdlog::logger& actor_log();

}  // namespace actormq
