#pragma once
// State of a PARTITION actor: the log, idempotent-producer table, fsync
// waiters (group commit) and parked long-poll waits. Handlers in
// partition_actor.cpp unpack a message and call one method here.

#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "actors/inspect/counted_actor.h"
#include "actors/partition/partition_actor.h"
#include "actors/partition/producer_state_table.h"
#include "actors/partition/replica_tracker.h"
#include "actors/state/armed_timer.h"
#include "storage/leader_epoch_cache.h"
#include "storage/log.h"

namespace actormq {

class partition_state {
 public:
  using self_ptr = inspected_pointer<partition_actor, partition_state>;

  partition_state() = default;
  ~partition_state();

  void init(self_ptr self, partition_settings settings, std::shared_ptr<storage::log> log,
            caf::actor flusher);

  caf::result<produce_reply> produce(produce_request& req);
  caf::result<fetch_reply> fetch(const fetch_request& req) const;
  caf::result<fetch_reply> fetch_wait(const fetch_request& req, caf::timespan max_wait);
  /// Answers the parked fetches with this park_token now.
  void unpark(uint64_t token);
  partition_offsets offsets() const;
  caf::result<int64_t> offset_for_time(int64_t ts) const;
  caf::result<int64_t> delete_records(int64_t before);
  /// The tick timer fired: runs tick() when it is the latest timer armed,
  /// then arms the next.
  void on_tick(uint64_t id);
  void tick();
  void on_flushed(int64_t up_to, const caf::error& err);
  /// The wait timer fired: answers every parked fetch past its deadline.
  void on_wait_expired(uint64_t timer);

  // Replication (partition_replication.cpp; docs/replication.md).
  caf::result<replica_fetch_reply> replica_fetch(const replica_fetch_request& req,
                                                 caf::timespan max_wait);
  caf::result<epoch_end> end_of_epoch(int32_t leader_epoch, int32_t epoch) const;
  caf::result<bool> lead(const leadership& l);
  caf::result<replica_position> follow(int32_t leader_epoch, int32_t leader);
  caf::result<int64_t> replica_append(int32_t leader_epoch, replica_fetch_reply& r);
  caf::result<replica_position> truncate_to_leader(int32_t leader_epoch, int32_t asked_epoch,
                                                   const epoch_end& answer);

  /// The actor inspector's part (partition_inspect.cpp).
  void inspect(actor_report& r) const;

  static constexpr const char* name = "partition";

 private:
  struct fsync_waiter {
    int64_t last_offset;
    produce_reply reply;
    caf::typed_response_promise<produce_reply> promise;
  };
  /// A dead-letter-oldest produce, answered once the log start reaches start.
  struct trim_waiter {
    int64_t start;
    produce_reply reply;
    acks_level acks;
    caf::typed_response_promise<produce_reply> promise;
  };

  enum class role : uint8_t { leader, follower };
  /// A produce with acks=all, answered once the high watermark passes it.
  struct replicated_waiter {
    int64_t last_offset;
    produce_reply reply;
    caf::typed_response_promise<produce_reply> promise;
  };
  /// A follower's pull at the log end, answered on the next append.
  struct parked_replica_fetch {
    std::chrono::steady_clock::time_point deadline;
    replica_fetch_request request;
    caf::typed_response_promise<replica_fetch_reply> promise;
  };
  /// What consumers may read up to: the high watermark (replicated), or
  /// the log end (a lone broker's partition).
  int64_t readable_end() const;
  bool leads() const { return !settings_.replicated || role_ == role::leader; }
  caf::error not_leader_error() const;
  /// Replicated: opens the leader-epoch cache and the high-watermark
  /// checkpoint (init); writes the checkpoint (housekeeping, close).
  void init_replication();
  void checkpoint_high_watermark();
  /// Recomputes the high watermark from the tracker; answers the acks=all
  /// produces and wakes the consumers it passed.
  void advance_high_watermark();
  /// A leader's housekeeping: in-sync-set shrink.
  void replication_tick();
  void propose_isr(std::vector<int32_t> isr, const char* why);
  caf::expected<replica_fetch_reply> replica_read(const replica_fetch_request& req) const;
  void wake_replica_fetches();
  void expire_replica_fetches(std::chrono::steady_clock::time_point now);
  /// Leaving leadership: acks=all produces and parked pulls get not_leader.
  void drop_leader_waiters(const caf::error& why);
  replica_position position() const;
  /// Truncates the log (and the epoch cache and producer table with it) to
  /// at most `to`, a follower's KIP-101 step.
  caf::error truncate_log(storage::offset to, const std::string& why);
  int64_t current_epoch_start() const;

  void rebuild_producer_state();
  void write_producer_snapshot();
  void request_flush();
  /// When a write error left the log unusable (storage::log::failed()):
  /// logs why, answers the fsync waiters with err and stops this actor. The
  /// topic registry restarts the partition, whose reopen runs recovery
  /// (docs/reliability.md, "Injected disk faults"). True if it stopped.
  bool stop_if_log_failed(const caf::error& err);
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
  /// Idempotent batches answered as a duplicate of one already stored (a
  /// producer's resend after a lost reply), since the actor started.
  uint64_t duplicate_batches_ = 0;
  /// Idempotent batches refused for a sequence gap (an earlier batch of the
  /// producer not stored yet), since the actor started.
  uint64_t out_of_order_batches_ = 0;
  std::vector<fsync_waiter> fsync_waiters_;
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
  /// Arms the tick timer for when tick() next has something to do: a
  /// time-based flush falling due, a retry, a leader's follower check,
  /// housekeeping; idle_tick_interval from now at the latest. A timer armed
  /// for earlier stays (later ones are ignored when they fire).
  void arm_tick();
  /// How often a leader looks for followers lagging past the replica lag.
  caf::timespan follower_check_interval() const;
  armed_timer timer_;
  bool flush_in_flight_ = false;
  storage::sync_ticket flush_ticket_;  ///< what the sync in flight vouches for
  /// Set when the log failed: every later produce gets it until the actor
  /// is gone (it is stopping).
  caf::error flush_failure_;
  caf::timestamp last_housekeeping_{};
  std::optional<caf::timestamp> unflushed_since_;
  int64_t snapshot_covered_ = -1;
  std::vector<trim_waiter> trim_waiters_;
  bool trim_in_flight_ = false;
  std::string trim_error_;  ///< why the last trim failed; empty after a success
  caf::timestamp last_full_warning_{};
  uint64_t refused_since_warning_ = 0;

  // Replication state (settings_.replicated only).
  role role_ = role::follower;
  int32_t leader_epoch_ = -1;
  int32_t leader_id_ = -1;
  leadership leadership_;
  replica_tracker tracker_;
  int64_t hw_ = 0;
  int64_t hw_checkpointed_ = -1;
  std::optional<storage::leader_epoch_cache> epochs_;
  std::vector<replicated_waiter> replicated_waiters_;
  std::vector<parked_replica_fetch> parked_replica_fetches_;
  bool isr_write_in_flight_ = false;
};

}  // namespace actormq
