#include "wall_clock.h"

#include <chrono>

namespace actormq::checker {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace actormq::checker
