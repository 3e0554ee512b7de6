#include "storage/logger.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace actormq::storage {

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    if (auto existing = spdlog::get("storage")) return existing;
    auto l = spdlog::stderr_color_mt("storage");
    return l;
  }();
  return *logger;
}

}  // namespace actormq::storage
