#pragma once
// eventually(): polls a condition until it holds or a bound passes, for
// what another thread or process does asynchronously. Every wait is
// bounded; the result says whether the condition was met.

#include <chrono>
#include <functional>
#include <thread>

namespace actormq::test {

/// Polls pred() every 20 ms until it is true or the time is up; returns pred().
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

}  // namespace actormq::test
