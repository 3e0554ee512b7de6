#pragma once
// replica_tracker: a leader's knowledge of its followers (Kafka's rules).
// Plain logic, no CAF: the PARTITION actor feeds it each follower fetch and
// asks it for the high watermark and for in-sync-set changes to propose.
//
//  - A follower's log end is the offset it last fetched at.
//  - A follower is caught up when a fetch reached the leader's log end as it
//    was at that moment, or reached the log end the leader had when it
//    answered the follower's previous fetch (then it was caught up as of that
//    previous fetch). A follower in the in-sync set that has not been caught
//    up for `lag` leaves it (shrink).
//  - A follower outside the in-sync set rejoins once its log end reaches the
//    high watermark and the start of the current leader epoch (expand).
//  - High watermark = the smallest log end over the in-sync set, the leader
//    included; a follower whose log end is not known yet (new leader) holds
//    it back. It never moves backwards on a leader.
//
// In-sync-set changes take effect only through set_isr(), once the control
// plane has committed them.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace actormq {

class replica_tracker {
 public:
  using clock = std::chrono::steady_clock;

  /// Starts leading: every follower's log end unknown, and each counts as
  /// caught up now (Kafka gives a new leader's followers a full lag period).
  /// hw is the high watermark the leader starts from (its checkpoint).
  void reset(int32_t self, const std::vector<int32_t>& replicas, std::vector<int32_t> isr,
             int64_t hw, clock::time_point now);
  /// The committed in-sync set (after a write, or a controller change).
  void set_isr(std::vector<int32_t> isr);
  /// The controller changed the replica list within the term (an internal
  /// topic grown to its replication factor): a new follower starts unknown
  /// and caught up now, as at reset(); one no longer listed is forgotten.
  /// Followers kept keep what is known of them.
  void set_replicas(const std::vector<int32_t>& replicas, clock::time_point now);
  /// A follower fetched at fetch_offset while the leader's log ended at
  /// leader_end.
  void on_fetch(int32_t replica, int64_t fetch_offset, int64_t leader_end, clock::time_point now);
  /// Recomputes the high watermark for the leader's log end; returns it.
  int64_t update_high_watermark(int64_t leader_end);
  int64_t high_watermark() const { return hw_; }
  /// The in-sync set without the followers not caught up for `lag`, or
  /// nullopt when none lags.
  std::optional<std::vector<int32_t>> shrunk(clock::time_point now, clock::duration lag) const;
  /// The in-sync set with `replica` added, when it is a replica outside the
  /// set whose log end reached the high watermark and epoch_start.
  std::optional<std::vector<int32_t>> expanded(int32_t replica, int64_t epoch_start) const;
  const std::vector<int32_t>& isr() const { return isr_; }
  bool in_isr(int32_t replica) const;
  /// A follower's log end (-1 when not known).
  int64_t log_end_of(int32_t replica) const;

 private:
  struct follower {
    int64_t log_end = -1;
    clock::time_point last_caught_up{};
    clock::time_point last_fetch{};
    int64_t leader_end_at_last_fetch = -1;
  };

  int32_t self_ = -1;
  std::vector<int32_t> isr_;
  std::map<int32_t, follower> followers_;
  int64_t hw_ = 0;
};

}  // namespace actormq
