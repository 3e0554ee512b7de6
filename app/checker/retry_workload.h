#pragma once
// retry_workload: nacks, retries and dead letters for the kill-retry-owner
// scenario (docs/retries-and-dead-letters.md).
//
// start() plans `messages` values for a topic T of their own, each with a
// header x-id of its own ("x<i>") and its plan in the value:
//
//   r<k>-<i>  nacked on its first k deliveries (k in 0..2), then acked;
//   d-<i>     nacked on every delivery: the broker retries it max_retries
//             times, and the nack of delivery max_retries + 1 dead-letters
//             it to T.G.dlq (reason max_retries, its own headers kept);
//
// about dead_percent of them d, the rest r with k uniform (seeded). One
// producer (acks=all, idempotent) sends them in order, value i to partition
// i % partitions, one every window / messages, as far as the scenario has
// released them (release(): each fault round releases its share, so every
// round has values in flight however long the round before it took).
//
// One consumer of group G reads T and T.G.retry all along (the client's
// retry_topics) and settles each delivery by the plan and its delivery
// number (amq-delivery-count): ack (processed; the consumer commits after
// each poll) or nack. A nack that fails (the coordinator moving) may or may
// not be stored, so the partition is fetched again from that message, as
// tests/app/cluster_retry_test.cpp does: it comes back with the same
// delivery number and is nacked again. A nack stored whose reply was lost
// is thus stored twice, and the value runs two retry chains: at-least-once,
// counted, not a failure. Every delivery is recorded (value, delivery
// number, wall-clock time, outcome). An offset_sampler watches G's
// committed offsets on T and T.G.retry.
//
// The verdict (retry_verdict_of, plain logic) over the acknowledged sends:
// each r<k> was acked by the consumer at least once, and only after
// deliveries 1..k of it had been nacked; each d is in T.G.dlq (the whole
// topic read back) with its own x-id, reason max_retries, group G, original
// topic T and max_retries + 1 deliveries; no r is dead-lettered; no value
// is delivered with a number past max_retries + 1; nothing unplanned shows
// up (phantom). Duplicates (a delivery number seen twice, an r acked twice,
// a d dead-lettered twice) are counted and reported.
//
// Every wait is bounded. Thread-safe.

#include <actormq/client/dead_letters.h>
#include <actormq/client/result.h>

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

#include "offset_sampler.h"

namespace actormq::checker {

struct retry_workload_settings {
  std::string bootstrap;  ///< "a,b,c"
  std::string topic;
  uint32_t partitions = 2;
  std::string group = "checked-retry-group";
  int64_t messages = 2000;
  /// All of them take this long to send (once released).
  std::chrono::milliseconds window{20000};
  int dead_percent = 20;
  /// The brokers' [retry] max_retries: a d value has max_retries + 1
  /// deliveries.
  uint32_t max_retries = 3;
  uint64_t seed = 1;
  uint32_t request_timeout_ms = 5000;
};

/// How a delivery was settled.
enum class retry_outcome {
  acked,        ///< processed: committed past after the poll
  nacked,       ///< nack() returned ok: stored for retry or dead-lettered
  nack_failed,  ///< nack() failed: fetched again from it
};

struct retry_delivery {
  uint32_t number = 1;  ///< amq-delivery-count (1: the first delivery)
  int64_t at_ms = 0;    ///< wall clock
  retry_outcome outcome = retry_outcome::acked;
};

/// One planned value and what became of it.
struct retry_message {
  enum class state { unsent, in_flight, acked, maybe };
  std::string value;
  std::string x_id;
  uint32_t partition = 0;
  bool dead = false;   ///< d: nacked on every delivery
  uint32_t nacks = 0;  ///< r<k>: k
  state st = state::unsent;
  std::vector<retry_delivery> deliveries;  ///< in the order the consumer got them
};

struct retry_verdict {
  int64_t acked = 0;             ///< values whose send was acknowledged
  int64_t maybe = 0;             ///< sends that failed or never went (may be stored)
  int64_t retried_ok = 0;        ///< acknowledged r<k> acked by the consumer after k nacks
  int64_t never_acked = 0;       ///< acknowledged r<k> the consumer never acked
  int64_t acked_early = 0;       ///< acknowledged r<k> acked before deliveries 1..k were nacked
  int64_t dead = 0;              ///< acknowledged d in the DLQ with their own x-id
  int64_t not_dead = 0;          ///< acknowledged d not in the DLQ (with their x-id)
  int64_t bad_dead_letters = 0;  ///< dead letters whose headers are not the expected ones
  int64_t wrongly_dead = 0;      ///< r values in the DLQ
  int64_t past_max = 0;          ///< deliveries numbered past max_retries + 1
  int64_t phantom = 0;           ///< values delivered or dead-lettered that were never planned
  int64_t deliveries = 0;
  int64_t nacks = 0;
  int64_t nacks_failed = 0;
  /// Values with a delivery number they had had already (a nack stored twice
  /// or a fetch again after a failed nack / a rebalance), and those deliveries.
  int64_t duplicated_values = 0;
  int64_t duplicate_deliveries = 0;
  int64_t acked_twice = 0;   ///< r values acked by the consumer more than once
  int64_t dead_twice = 0;    ///< d values dead-lettered more than once
  int64_t dead_letters = 0;  ///< records in the DLQ
  /// The first few problems, one sentence each.
  std::vector<std::string> problems;
  bool ok() const {
    return never_acked == 0 && acked_early == 0 && not_dead == 0 && bad_dead_letters == 0 &&
           wrongly_dead == 0 && past_max == 0 && phantom == 0;
  }
};

/// The verdict over the planned messages, the values delivered that were
/// never planned (with their count) and the whole DLQ.
retry_verdict retry_verdict_of(const std::vector<retry_message>& msgs,
                               const std::map<std::string, int64_t>& foreign,
                               const std::vector<client::dead_letter>& dead_letters,
                               const std::string& topic, const std::string& group,
                               uint32_t max_retries);

class retry_workload {
 public:
  explicit retry_workload(retry_workload_settings s);
  /// stop() if running.
  ~retry_workload();
  retry_workload(const retry_workload&) = delete;
  retry_workload& operator=(const retry_workload&) = delete;

  /// Plans the values, starts the producer, the consumer and the sampler.
  /// Nothing is sent before release().
  void start();
  /// Lets the producer send values [0, upto).
  void release(int64_t upto);
  /// The consumer has subscribed (or failed to: errors()).
  bool ready() const { return ready_; }
  /// Waits (bounded) for the producer to finish; true when every send was
  /// answered.
  bool wait_sent(std::chrono::milliseconds bound);
  /// Stops the producer, the consumer (it commits and leaves the group)
  /// and the sampler.
  void stop();

  const retry_workload_settings& settings() const { return settings_; }
  std::string retry_topic() const;
  std::string dlq_topic() const;

  int64_t acked() const { return acked_; }
  /// Nacks answered ok, failed.
  int64_t nacks_ok() const { return nacks_ok_; }
  int64_t nacks_failed() const { return nacks_failed_; }
  int64_t consumer_acks() const { return consumer_acks_; }
  int64_t commits_ok() const { return commits_ok_; }
  int64_t commits_failed() const { return commits_failed_; }
  /// Values whose last delivery was nacked ok with a retry due (number <=
  /// max_retries) and that have not come back yet.
  int64_t pending_retries() const;
  /// The first time (wall clock, ms) a value nacked ok at or after from_ms
  /// came back: the first retry stored since then that was delivered.
  std::optional<int64_t> first_retry_nacked_since(int64_t from_ms) const;
  /// Whether every acknowledged r value was acked by the consumer and every
  /// acknowledged d value's dead-lettering nack (of delivery max_retries +
  /// 1) answered ok.
  bool settled() const;
  /// Acknowledged values not settled yet, and the first of them.
  int64_t unsettled(std::string& first) const;

  /// The whole DLQ, from offset 0 to its end.
  client::result<std::vector<client::dead_letter>> read_dead_letters() const;

  std::vector<retry_message> messages() const;
  std::map<std::string, int64_t> foreign() const;
  /// Why nacks failed: the error text and how often.
  std::map<std::string, int64_t> nack_failures() const;
  const offset_sampler& sampler() const { return *sampler_; }
  /// A producer or consumer that could not be created, one sentence each.
  std::vector<std::string> errors() const;

 private:
  void produce();
  void consume();
  void error(std::string why);
  bool settled_locked(const retry_message& m) const;

  retry_workload_settings settings_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> sent_{false};
  std::atomic<bool> ready_{false};
  std::atomic<int64_t> released_{0};
  std::thread producer_;
  std::thread consumer_;
  std::unique_ptr<offset_sampler> sampler_;
  mutable std::mutex mu_;
  std::vector<retry_message> msgs_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, int64_t> foreign_;
  std::map<std::string, int64_t> nack_failures_;
  std::vector<std::string> errors_;
  std::atomic<int64_t> acked_{0};
  std::atomic<int64_t> nacks_ok_{0};
  std::atomic<int64_t> nacks_failed_{0};
  std::atomic<int64_t> consumer_acks_{0};
  std::atomic<int64_t> commits_ok_{0};
  std::atomic<int64_t> commits_failed_{0};
};

}  // namespace actormq::checker
