#pragma once
// Connecting a workload's client while the cluster may be in the middle of
// a fault: another try every 200 ms.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>

#include "actormq/client/consumer.h"

namespace actormq::checker {

/// Calls make() (a client's create) until it gives a client, stopping is
/// set or `attempts` tries were made (0: no bound). The client, or null
/// with the last error in why.
template <class Make>
auto connect_client(Make make, const std::atomic<bool>& stopping, int attempts, std::string& why)
    -> std::remove_reference_t<decltype(*make())> {
  for (int attempt = 0; (attempts == 0 || attempt < attempts) && !stopping; ++attempt) {
    auto made = make();
    if (made) return std::move(*made);
    why = made.err().to_string();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return nullptr;
}

/// A consumer of cfg subscribed to topic, tried the same way.
std::unique_ptr<client::consumer> connect_consumer(const client::consumer_config& cfg,
                                                   const std::string& topic,
                                                   const std::atomic<bool>& stopping, int attempts,
                                                   std::string& why);

}  // namespace actormq::checker
