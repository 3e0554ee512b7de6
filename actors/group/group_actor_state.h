#pragma once
// State of a GROUP actor: the membership state machine, the group's
// committed offsets (written to its __consumer_offsets partition) and a
// cache of partition counts. Handlers in group_actor.cpp call one method
// each.

#include <caf/all.hpp>

#include <memory>
#include <optional>

#include "actors/group/group_actor.h"
#include "actors/inspect/counted_actor.h"

namespace actormq {

/// The GROUP actor's timer: session expiry, metadata and lag checks.
inline constexpr auto group_tick = std::chrono::milliseconds(250);

class group_actor_state {
 public:
  using self_ptr = inspected_pointer<group_actor, group_actor_state>;
  static constexpr const char* name = "group";

  caf::error init(self_ptr self, std::string group, group_seed seed,
                  const coordinator_settings& cs);

  caf::result<group::join_result> join(group::join_request req, const std::string& strategy);
  caf::result<group::heartbeat_result> heartbeat(const std::string& member, int32_t generation);
  caf::result<bool> leave(const std::string& member);
  caf::result<bool> commit(const std::string& member, int32_t generation,
                           const std::vector<committed_offset>& offsets);
  std::vector<committed_offset> committed(const std::vector<group::topic_partition>& tps) const;
  caf::result<group_info> describe();
  caf::result<produce_reply> snapshot();
  /// delete_atom: tombstones for every committed offset, then quit.
  caf::result<bool> remove();
  /// list_atom: members or committed offsets (pending ones included).
  bool listed() const {
    return !deleting_ && (!membership_->empty() || !offsets_.empty() || !pending_.empty());
  }
  void tick();
  /// The actor inspector's part (group_inspect.cpp): completes r once the
  /// high watermarks of the group's committed and assigned partitions are
  /// in, within a bound shorter than the inspector's; a partition whose
  /// watermark did not come has lag -1. Never fails.
  caf::result<actor_report> inspect(actor_report r);
  /// The lag alert's check (lag_watch.h): the offsets of the group's
  /// committed and assigned partitions, then the verdict; an alert raised
  /// or cleared is logged, counted and given to the alert hook.
  void check_lag();

 private:
  using offsets_map = std::map<std::pair<std::string, int32_t>, group::offset_value>;
  /// Fresh partition counts (from the registry alone, or the cluster's),
  /// then k; a count change rebalances.
  void with_metadata(std::function<void()> k);
  void apply_metadata(group::topic_metadata meta);
  caf::error reset_membership(const std::string& protocol);
  static int64_t now_ms();
  /// describe() and inspect(): the offsets of each partition of interest,
  /// from its leader (here, or a peer's NODE in a cluster); k is called
  /// once per index, with high_watermark -1 when a peer's partition is
  /// offline or its broker did not answer.
  using offsets_fn = std::function<void(size_t, int64_t log_start, int64_t high_watermark)>;
  /// The bounds of one such round.
  struct offsets_round {
    /// Each request (here: the registry lookup, then the partition).
    caf::timespan timeout = std::chrono::seconds(10);
    /// How long a peer waits for its partitions' stats (< timeout).
    caf::timespan peer_wait = std::chrono::seconds(5);
    /// The high watermark reported for a partition here whose offsets could
    /// not be had (describe() has always shown 0; inspect() asks for -1).
    int64_t failed_here_hw = 0;
  };
  /// Every partition of tps, each from its leader (alone: all here).
  void offsets_of(const std::vector<group::topic_partition>& tps, const offsets_round& round,
                  offsets_fn k);
  void offsets_here(const std::vector<group::topic_partition>& tps,
                    const std::vector<size_t>& which, const offsets_round& round, offsets_fn k);
  void offsets_at(int32_t broker, const std::vector<group::topic_partition>& tps,
                  const std::vector<size_t>& which, const offsets_round& round, offsets_fn k);
  /// inspect(): state_json, summary and metrics, given the log start and
  /// high watermark (-1: unknown) of each partition of tps.
  void fill_inspect(actor_report& r, const std::vector<group::topic_partition>& tps,
                    const std::vector<std::pair<int64_t, int64_t>>& marks) const;
  std::string who() const { return "group " + group_; }
  /// The partitions the group has committed or been assigned, sorted.
  std::vector<group::topic_partition> partitions_of_interest() const;
  void announce_lag(const group::lag_verdict& v);

  self_ptr self_ = nullptr;
  std::string group_;
  topic_registry_actor registry_;
  std::shared_ptr<const group::topic_counts> cluster_topics_;  ///< null alone
  std::shared_ptr<const cluster::leader_table> leaders_;       ///< null alone
  peers_actor peers_;
  int32_t broker_id_ = -1;
  group::group_config config_;
  group::topic_metadata topics_;
  std::optional<group::group_membership> membership_;
  /// Durable commits: written and acknowledged by the state partition.
  offsets_map offsets_;
  /// Commits sent but not acknowledged yet (the latest per key).
  offsets_map pending_;
  partition_actor log_;
  acks_level acks_ = acks_level::fsync;
  int ticks_ = 0;
  group::lag_watch lag_watch_;
  int lag_check_ticks_ = 20;
  bool lag_checking_ = false;  ///< a check's offsets are on their way
  std::shared_ptr<retry::alert_hook> alerts_;
  /// A delete is writing its tombstones: joins and commits are refused.
  bool deleting_ = false;
  /// The error joins and commits get while deleting_.
  caf::error deleting_error() const;
  /// A failed write to the state partition as the caller sees it:
  /// not_leader becomes not_coordinator (find the coordinator again).
  caf::error state_write_error(caf::error e) const;
  /// Durable offsets overlaid with the commits in flight.
  offsets_map live_offsets() const;
};

/// Spawns the GROUP actor of one group (the coordinator's child).
group_actor spawn_group_actor(caf::actor_system& sys, std::string name, group_seed seed,
                              const coordinator_settings& cs);

/// Maps a group-module error to the broker's caf::error.
caf::error from_group(std::error_code ec, const std::string& what);

}  // namespace actormq
