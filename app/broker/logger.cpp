#include "app/broker/logger.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace actormq::broker {

spdlog::logger& broker_log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    if (auto existing = spdlog::get("broker")) return existing;
    return spdlog::stderr_color_mt("broker");
  }();
  return *logger;
}

}  // namespace actormq::broker
