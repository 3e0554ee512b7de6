#pragma once
// The three kinds of run of actormq-perf. Each is bounded by a message count
// and by common_options::seconds, prints one result line and returns the exit
// status (0 ok, 1 the run could not be set up or lost messages).

#include <cstdint>
#include <optional>
#include <string>

#include "actormq/client/config.h"
#include "actormq/client/types.h"
#include "report.h"

namespace actormq::perf {

/// "none", "leader", "fsync"; nullopt for anything else.
std::optional<client::acks> acks_from_string(const std::string& s);

/// produce: N producers (one connection each) send `count` records in total
/// as fast as allowed (or at `rate`); time = first send -> last ack (flush).
struct produce_options {
  uint32_t producers = 1;
  size_t size = 100;
  uint64_t count = 1000000;
  size_t batch_bytes = 1u << 20;
  uint32_t linger_ms = 5;
  std::string acks = "leader";  ///< none, leader, fsync
  uint32_t max_in_flight = 5;   ///< full batches in flight per partition (the client's default)
  bool idempotent = true;
  double rate = 0;      ///< msgs/s over all producers, 0 = unthrottled
  uint64_t window = 0;  ///< records un-acked per producer, 0 = buffer_memory only
  /// The producer's buffer_memory (the client's default).
  size_t buffer_memory = client::producer_config{}.buffer_memory;
};
int run_produce(const common_options& o, const produce_options& p);

/// consume: one group member reads `count` stored records from the earliest
/// offset; the copying fetch path, or the zero-copy stream with `stream`.
struct consume_options {
  uint64_t count = 1000000;
  bool stream = false;
  size_t max_poll_records = 1000;
  uint32_t fetch_max_bytes = 1u << 20;  ///< per partition per fetch
  std::string group;                    ///< default: a fresh name per run
  bool commit = true;                   ///< commit_sync once at the end
};
int run_consume(const common_options& o, const consume_options& c);

/// latency: a producer sends `size`-byte records at a fixed `rate`; a consumer
/// on another connection in this process measures publish -> consume.
/// Payload bytes 0-7: CLOCK_MONOTONIC send time, 8-15: scheduled send time
/// (both host-endian uint64 ns, as peerbench); p*_us = now - send, co_* = now -
/// scheduled (coordinated-omission corrected), send_lag_* = send - scheduled.
struct latency_options {
  size_t size = 1024;
  double rate = 10000;
  uint32_t linger_ms = 0;
  std::string acks = "leader";
  uint32_t max_in_flight = 5;  ///< the client's default; a batch not full goes alone
  uint32_t fetch_max_wait_ms = 100;
  bool stream = false;
};
int run_latency(const common_options& o, const latency_options& l);

}  // namespace actormq::perf
