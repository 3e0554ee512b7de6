#pragma once
// The produce quota of one topic as every session of this broker sees it:
// the rates of its topic_config, shared through topic_handle so that an
// alter (topic_registry_state::set_quota) reaches sessions that cached the
// handle without a lookup, and the counters of what the sessions held back
// (reported by the TOPIC REGISTRY as actormq_topic_produce_throttled_total
// and actormq_topic_produce_throttle_seconds_total).
//
// Written by the registry and read by sessions on other CAF threads:
// relaxed atomics, each value on its own (a rate pair changing between two
// reads costs one request the old limit of one of them).

#include <atomic>
#include <chrono>
#include <cstdint>

namespace actormq {

class topic_quota {
 public:
  topic_quota(int64_t byte_rate, int64_t message_rate) { set(byte_rate, message_rate); }

  /// Bytes and messages per second per producer session; 0 = unlimited.
  void set(int64_t byte_rate, int64_t message_rate) {
    byte_rate_.store(byte_rate, std::memory_order_relaxed);
    message_rate_.store(message_rate, std::memory_order_relaxed);
  }
  int64_t byte_rate() const { return byte_rate_.load(std::memory_order_relaxed); }
  int64_t message_rate() const { return message_rate_.load(std::memory_order_relaxed); }
  bool limited() const { return byte_rate() > 0 || message_rate() > 0; }

  /// A session held one produce request for `held` before passing it on.
  void on_throttled(std::chrono::microseconds held) {
    throttled_.fetch_add(1, std::memory_order_relaxed);
    held_us_.fetch_add(static_cast<uint64_t>(held.count()), std::memory_order_relaxed);
  }
  uint64_t throttled() const { return throttled_.load(std::memory_order_relaxed); }
  double held_seconds() const {
    return static_cast<double>(held_us_.load(std::memory_order_relaxed)) / 1e6;
  }

 private:
  std::atomic<int64_t> byte_rate_{0};
  std::atomic<int64_t> message_rate_{0};
  std::atomic<uint64_t> throttled_{0};
  std::atomic<uint64_t> held_us_{0};
};

}  // namespace actormq
