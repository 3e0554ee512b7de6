#pragma once
// State of a PARTITION actor: the log, idempotent-producer table, fsync
// waiters (group commit) and parked long-poll waits. Handlers in
// partition_actor.cpp unpack a message and call one method here.

#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "actors/partition/partition_actor.h"
#include "actors/partition/producer_state_table.h"
#include "storage/log.h"

namespace actormq {

class partition_state {
 public:
  using self_ptr = partition_actor::stateful_pointer<partition_state>;

  partition_state() = default;
  ~partition_state();

  void init(self_ptr self, partition_settings settings, std::shared_ptr<storage::log> log,
            caf::actor flusher);

  caf::result<produce_reply> produce(produce_request& req);
  caf::result<fetch_reply> fetch(const fetch_request& req) const;
  caf::result<bool> wait(int64_t offset, caf::timespan max_wait);
  caf::result<fetch_reply> fetch_wait(const fetch_request& req, caf::timespan max_wait);
  partition_offsets offsets() const;
  caf::result<int64_t> offset_for_time(int64_t ts) const;
  void tick();
  void on_flushed(int64_t up_to, const caf::error& err);
  /// The wait timer fired: answers false to every wait past its deadline.
  void on_wait_expired(uint64_t timer);

  static constexpr const char* name = "partition";

 private:
  struct fsync_waiter {
    int64_t last_offset;
    produce_reply reply;
    caf::typed_response_promise<produce_reply> promise;
  };
  struct parked_wait {
    std::chrono::steady_clock::time_point deadline;
    int64_t offset;
    caf::typed_response_promise<bool> promise;
  };
  /// A dead-letter-oldest produce, answered once the log start reaches start.
  struct trim_waiter {
    int64_t start;
    produce_reply reply;
    acks_level acks;
    caf::typed_response_promise<produce_reply> promise;
  };

  void rebuild_producer_state();
  void write_producer_snapshot();
  void request_flush();
  void wake_waiters();
  bool flush_due() const;
  std::string who() const;
  /// Messages in the log: high watermark - log start.
  int64_t message_count() const;
  /// The error of a produce of n records that the bound refuses, if any.
  caf::error check_bound(int64_t n);
  /// Dead-letter-oldest: moves the oldest messages over the bound to the
  /// dead-letter partition, then the log start past them; one step in flight.
  void trim();
  void trim_failed(std::string why);
  void answer_trim_waiters();
  void answer(produce_reply reply, acks_level acks, caf::typed_response_promise<produce_reply> rp);

  self_ptr self_ = nullptr;
  partition_settings settings_;
  std::shared_ptr<storage::log> log_;
  caf::actor flusher_;
  producer_state_table producers_;
  std::vector<fsync_waiter> fsync_waiters_;
  std::vector<parked_wait> parked_;
  /// When the one pending wait timer fires (if any). One timer serves all
  /// parked waits: CAF's clock wakes its thread for every timer set, which
  /// was a context switch per long poll.
  struct parked_fetch {
    std::chrono::steady_clock::time_point deadline;
    fetch_request request;
    caf::typed_response_promise<fetch_reply> promise;
  };
  std::vector<parked_fetch> parked_fetches_;
  caf::expected<fetch_reply> read(const fetch_request& req) const;
  void answer_fetch(parked_fetch& f);
  std::optional<std::chrono::steady_clock::time_point> wait_timer_;
  uint64_t wait_timer_id_ = 0;
  void arm_wait_timer(std::chrono::steady_clock::time_point deadline);
  bool flush_in_flight_ = false;
  caf::error flush_failure_;
  caf::timestamp last_housekeeping_{};
  std::optional<caf::timestamp> unflushed_since_;
  int64_t snapshot_covered_ = -1;
  std::vector<trim_waiter> trim_waiters_;
  bool trim_in_flight_ = false;
  std::string trim_error_;  ///< why the last trim failed; empty after a success
  caf::timestamp last_full_warning_{};
  uint64_t refused_since_warning_ = 0;
};

}  // namespace actormq
