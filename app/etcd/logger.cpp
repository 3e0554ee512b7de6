#include "app/etcd/logger.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace actormq::etcd {

spdlog::logger& etcd_log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    if (auto existing = spdlog::get("etcd")) return existing;
    return spdlog::stderr_color_mt("etcd");
  }();
  return *logger;
}

}  // namespace actormq::etcd
