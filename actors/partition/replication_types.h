#pragma once
// Messages of partition replication (docs/replication.md). A follower's
// REPLICA FETCHER pulls stored batches from the leader's PARTITION actor
// through the leader broker's NODE actor; the types marked "crosses nodes"
// travel over CAF's middleman and are announced by add_cluster_message_types
// (actors/cluster/cluster_node.h) under the same name on every broker.

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace actormq {

/// One entry of a partition's leader-epoch cache: the first offset written
/// under that leader epoch (crosses nodes).
struct epoch_entry {
  int32_t epoch = -1;
  int64_t start_offset = -1;
  bool operator==(const epoch_entry&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, epoch_entry& x) {
  return f(caf::meta::type_name("epoch_entry"), x.epoch, x.start_offset);
}

/// A follower's pull (crosses nodes). The fetch offset is also the
/// follower's log end: the leader learns each follower's progress from it.
struct replica_fetch_request {
  int32_t replica_id = -1;    ///< the follower broker
  int32_t leader_epoch = -1;  ///< the epoch the follower follows; the leader refuses another
  int64_t fetch_offset = 0;
  uint32_t max_bytes = 1 << 20;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replica_fetch_request& x) {
  return f(caf::meta::type_name("replica_fetch_request"), x.replica_id, x.leader_epoch,
           x.fetch_offset, x.max_bytes);
}

/// The leader's answer (crosses nodes): whole stored batches from the fetch
/// offset, byte for byte as in the leader's log (base offsets included), or
/// none when the follower is at the leader's log end and the wait elapsed.
struct replica_fetch_reply {
  std::string batches;
  int64_t high_watermark = 0;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  /// The leader's epoch entries that start at or below the end of the
  /// batches, from the one covering the fetch offset: the follower assigns
  /// them to its own cache, so both agree on where each epoch began.
  std::vector<epoch_entry> epochs;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replica_fetch_reply& x) {
  return f(caf::meta::type_name("replica_fetch_reply"), x.batches, x.high_watermark,
           x.log_start_offset, x.log_end_offset, x.epochs);
}

/// Where an epoch ended in the leader's log (crosses nodes; KIP-101's
/// OffsetsForLeaderEpoch answer): the largest epoch <= the one asked and
/// the offset after its last record; epoch -1 and offset -1 when the
/// leader knows no such epoch.
struct epoch_end {
  int32_t epoch = -1;
  int64_t end_offset = -1;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, epoch_end& x) {
  return f(caf::meta::type_name("epoch_end"), x.epoch, x.end_offset);
}

/// What a partition on this broker is told when it leads (local only): sent
/// by the broker's REPLICA MANAGER on every change of the partition's state
/// in the control plane, also when only the in-sync set or revision moved.
struct leadership {
  int32_t self = -1;  ///< this broker's id
  int32_t leader_epoch = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  /// etcd's mod revision of the partition's state: an in-sync-set change
  /// is written only if the state is still this one.
  int64_t revision = 0;
  /// acks=all is refused while fewer replicas are in sync (at most the
  /// replication factor).
  int32_t min_insync_replicas = 1;
  /// A follower that has not caught up with the log end for this long
  /// leaves the in-sync set.
  caf::timespan replica_lag = std::chrono::seconds(10);
};

/// A follower's position (local only): its log end and latest leader epoch,
/// and the next question of its truncation check (KIP-101/KIP-279): when
/// ask_epoch >= 0 the fetcher asks the leader where that epoch ended and
/// hands the answer back (truncate_atom); -1: pull from log_end_offset.
struct replica_position {
  int64_t log_end_offset = 0;
  int32_t latest_epoch = -1;
  int64_t high_watermark = 0;
  int32_t ask_epoch = -1;
};

}  // namespace actormq

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::leadership)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::replica_position)
