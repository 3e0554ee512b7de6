#include "actors/logger.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace actormq {

spdlog::logger& actor_log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    if (auto existing = spdlog::get("actors")) return existing;
    return spdlog::stderr_color_mt("actors");
  }();
  return *logger;
}

}  // namespace actormq
