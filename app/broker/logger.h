#pragma once
// The broker application's named spdlog logger ("broker").

#include <spdlog/spdlog.h>

namespace actormq::broker {

spdlog::logger& broker_log();

}  // namespace actormq::broker
