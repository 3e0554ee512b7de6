#pragma once
// The etcd client's named spdlog logger ("etcd").

#include <spdlog/spdlog.h>

namespace actormq::etcd {

spdlog::logger& etcd_log();

}  // namespace actormq::etcd
