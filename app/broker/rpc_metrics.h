#pragma once
// Counters and latency histograms of the RPC layer, shared by every
// connection of one broker. Written on the KJ thread (rpc_service's
// dispatchCall and produce), read by the INSPECTOR on a CAF thread:
// relaxed atomics, no lock on the request path.

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "actors/inspect/actor_report.h"
#include "actors/inspect/latency_histogram.h"

namespace actormq::broker {

class rpc_metrics {
 public:
  static constexpr size_t max_methods = 64;

  /// One call of method (the Broker interface's ordinal) answered after d;
  /// failed: it ended in an exception.
  void on_call(uint16_t method, std::chrono::nanoseconds d, bool failed);
  /// A produce call's batches as received (messages counted from their
  /// headers; malformed ones are counted as far as they parse).
  void on_produce(std::span<const uint8_t> batches);
  void connection_opened() { connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() { connections_.fetch_sub(1, std::memory_order_relaxed); }
  /// Connections ended by the broker's bounds (broker_server).
  void connection_refused() { refused_.fetch_add(1, std::memory_order_relaxed); }
  void connection_evicted() { evicted_.fetch_add(1, std::memory_order_relaxed); }
  void connection_idle_closed() { idle_closed_.fetch_add(1, std::memory_order_relaxed); }
  /// A connection's reading paused (connection_flow) / read again or closed.
  void connection_paused() {
    paused_.fetch_add(1, std::memory_order_relaxed);
    pauses_.fetch_add(1, std::memory_order_relaxed);
  }
  void connection_unpaused() { paused_.fetch_sub(1, std::memory_order_relaxed); }

  /// Every sample: actormq_rpc_requests_total{method}, ..._errors_total,
  /// actormq_produce_* and actormq_fetch_*, actormq_connections,
  /// actormq_connections_closed_total{reason=refused|evicted|idle},
  /// actormq_connections_paused, actormq_connection_pauses_total.
  void samples(std::vector<metric_sample>& out) const;

 private:
  std::array<std::atomic<uint64_t>, max_methods> calls_{};
  std::array<std::atomic<uint64_t>, max_methods> errors_{};
  std::atomic<uint64_t> produce_bytes_{0};
  std::atomic<uint64_t> produce_messages_{0};
  std::atomic<int64_t> connections_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> evicted_{0};
  std::atomic<uint64_t> idle_closed_{0};
  std::atomic<int64_t> paused_{0};
  std::atomic<uint64_t> pauses_{0};
  latency_histogram produce_latency_;
  latency_histogram fetch_latency_;
};

}  // namespace actormq::broker
