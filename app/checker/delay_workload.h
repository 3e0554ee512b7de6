#pragma once
// delay_workload: delayed messages for the kill-delay-owner scenario.
//
// start() plans `messages` delayed messages, each a unique value ("d<i>")
// for partition i % partitions of the target topic, due at a time drawn
// uniformly (seeded) from the window [start + lead, start + lead + window).
// The producers send them in due order, so all are scheduled early in the
// run and most are pending at once; about level_percent of them use a
// broker delay level instead (the longest default level, 1s 5s 10s 30s 1m
// 2m, that lands inside the window at send time). Only the acknowledged
// deliver-at counts (a level's is the broker's: the delivery report carries
// it). A delayed send is at-least-once (client/producer.h: a retry after a
// lost reply may schedule it twice), so the producers never retry: an
// acknowledged value was sent once and must be delivered exactly once; a
// failed send is "maybe" (delivered at most once).
//
// Readers, for the whole run:
//  - an observer: one consumer of a group of its own that commits nothing,
//    so a commit never holds it up; when it first read each value (wall
//    clock) is the value's delivery time. Records carry their producer's
//    timestamp, not a log-append time, so this read time is the closest
//    measure of "readable" there is: it includes the fetch long-poll wake
//    and the client's decode (a few ms).
//  - a consumer group that commits (group_workload), for "no committed
//    offset goes back" and "the group gets every message".
//
// Lateness (delay_lateness) compares the observer's time with the
// acknowledged deliver-at. Every wait is bounded. Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "group_workload.h"
#include "wall_clock.h"

namespace actormq::checker {

struct delay_workload_settings {
  std::string bootstrap;  ///< "a,b,c"
  std::string topic;
  uint32_t partitions = 1;
  int64_t messages = 3000;
  /// The window of due times starts this long after start().
  std::chrono::milliseconds lead{4000};
  std::chrono::milliseconds window{15000};
  int level_percent = 10;
  int producers = 2;
  uint64_t seed = 1;
  /// Sends in flight per producer.
  int64_t max_outstanding = 2000;
  uint32_t request_timeout_ms = 10000;
  std::string group = "checked-delay-group";
};

/// One planned delayed message and what became of it.
struct delayed_message {
  enum class state { unsent, in_flight, acked, maybe };
  std::string value;
  uint32_t partition = 0;
  state st = state::unsent;
  /// Planned due time until acknowledged, then the acknowledged one.
  int64_t deliver_at_ms = 0;
  std::optional<uint8_t> level;
  int64_t acked_ms = -1;  ///< when the acknowledgement came (wall clock)
  /// Acknowledged as delivered at once or after its due time had passed:
  /// its lateness says nothing about the scheduler.
  bool sent_late = false;
  int64_t seen_ms = -1;  ///< the observer's first read (wall clock)
};

class delay_workload {
 public:
  explicit delay_workload(delay_workload_settings s);
  /// stop() if running.
  ~delay_workload();
  delay_workload(const delay_workload&) = delete;
  delay_workload& operator=(const delay_workload&) = delete;

  /// Plans the messages, starts the producers, the observer and the group.
  void start();
  /// Waits (bounded by the request timeout past the last send) for the
  /// producers to finish; true when every send was answered.
  bool wait_sent(std::chrono::milliseconds bound);
  /// Stops the observer and the group (each consumer leaves it).
  void stop();

  int64_t window_start_ms() const { return window_start_ms_; }
  int64_t window_end_ms() const { return window_start_ms_ + settings_.window.count(); }
  int64_t acked() const { return acked_; }
  int64_t maybe() const { return maybe_; }
  /// Acknowledged and not read by the observer yet.
  int64_t pending() const;
  /// Whether the observer read every acknowledged value.
  bool all_seen() const;
  /// The observer's first read of a message for partition p due at or
  /// after from_ms (when deliveries to p resumed after a fault at from_ms).
  std::optional<int64_t> first_seen_due_from(uint32_t p, int64_t from_ms) const;
  /// Values the observer read that were never planned.
  int64_t foreign() const { return foreign_; }

  std::vector<delayed_message> messages() const;
  group_workload& group() { return *group_; }
  /// Producers or the observer that could not be created, one sentence each.
  std::vector<std::string> errors() const;

 private:
  void produce(int index);
  void observe();
  void error(std::string why);

  delay_workload_settings settings_;
  int64_t window_start_ms_ = 0;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> producers_;
  std::thread observer_;
  std::unique_ptr<group_workload> group_;
  mutable std::mutex mu_;
  std::vector<delayed_message> msgs_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::string> errors_;
  std::atomic<int64_t> acked_{0};
  std::atomic<int64_t> maybe_{0};
  std::atomic<int64_t> foreign_{0};
  std::atomic<int> producers_done_{0};
};

/// One fault of kill-delay-owner: when (wall clock) and how long until
/// deliveries resumed on every partition it touched.
struct delay_fault {
  int64_t killed_ms = 0;
  int64_t failover_ms = 0;
};

struct lateness_stats {
  int64_t count = 0;
  int64_t p50 = 0;
  int64_t p99 = 0;
  int64_t max = 0;
};

/// The verdict over the messages, the final read's count per value and the
/// faults (plain logic).
struct delay_verdict {
  int64_t acked = 0;
  int64_t maybe = 0;
  int64_t delivered = 0;        ///< acknowledged values in the final read
  int64_t maybe_delivered = 0;  ///< failed sends whose value is there (once)
  int64_t missing = 0;          ///< acknowledged, not in the final read
  int64_t duplicates = 0;       ///< values stored more than once
  int64_t early = 0;            ///< read before deliver-at - tolerance
  int64_t sent_late = 0;        ///< acknowledged after their due time
  int64_t unseen = 0;           ///< in the final read, never read by the observer
  /// Due within [kill - steady_bound, kill + failover] of a fault.
  lateness_stats during;
  lateness_stats rest;  ///< every other acknowledged, observed message
  lateness_stats all;
  /// The first few problems, one sentence each.
  std::vector<std::string> problems;
};

delay_verdict delay_lateness(const std::vector<delayed_message>& msgs,
                             const std::map<std::string, int>& final_counts,
                             const std::vector<delay_fault>& faults, int64_t steady_bound_ms,
                             int64_t early_tolerance_ms);

/// Nearest-rank p50, p99 and the max of unsorted values (zeros when empty).
lateness_stats lateness_of(std::vector<int64_t> v);

}  // namespace actormq::checker
