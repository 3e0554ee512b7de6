#pragma once
// The storage module's named spdlog logger ("storage").

#include <spdlog/spdlog.h>

namespace actormq::storage {

/// The "storage" logger; created on first use, registered with spdlog so the
/// application can set its level and sinks.
spdlog::logger& logger();

}  // namespace actormq::storage
