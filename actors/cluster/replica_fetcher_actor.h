#pragma once
// The REPLICA FETCHER actor: one per partition this broker follows, for one
// leader and leader epoch (the replica manager replaces it when either
// changes). It tells the local PARTITION actor to follow, finds the
// leader's NODE actor through PEERS, truncates the local log where the
// leader's history diverged (KIP-101: "where did my latest epoch end?"),
// then pulls batches in a loop and hands each answer to the partition,
// which appends it byte for byte. Pulling is the flow control: one pull in
// flight, the next one only after the append. A lost or late CAF message
// costs one timed-out pull and a retry, never correctness.

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include "actors/atoms.h"
#include "actors/cluster/peers_actor.h"
#include "actors/inspect/actor_report.h"
#include "actors/partition/partition_actor.h"

namespace actormq {

using replica_fetcher_actor = caf::typed_actor<
    /// The actor inspector's report of this actor (docs/inspector.md).
    caf::replies_to<inspect_atom>::with<actor_report>,
    /// Own step: (re)start from the follow/truncate phase (after an error
    /// that may mean the histories diverged) or just pull again.
    caf::reacts_to<retry_atom, bool>,
    /// Own timer while a request is out: one past its deadline fails (and
    /// is retried). Requests go without CAF timeouts, which cost its clock
    /// thread a wake per request (request_deadlines.h).
    caf::reacts_to<tick_atom>>;

struct replica_fetcher_settings {
  std::string topic;
  int32_t partition = 0;
  int32_t self = -1;    ///< this broker
  int32_t leader = -1;  ///< the broker to pull from
  int32_t leader_epoch = 0;
  partition_actor local;  ///< this broker's replica
  peers_actor peers;
  uint32_t max_bytes = 1 << 20;
  /// How long the leader parks a pull at its log end.
  caf::timespan max_wait = std::chrono::milliseconds(500);
  /// Bound of each request beyond the park time.
  caf::timespan request_timeout = std::chrono::seconds(3);
  /// How often deadlines are checked while a request is out (a request
  /// fails at most this long after its deadline).
  caf::timespan deadline_check = std::chrono::milliseconds(250);
  caf::timespan backoff_min = std::chrono::milliseconds(50);
  caf::timespan backoff_max = std::chrono::seconds(1);
};

replica_fetcher_actor spawn_replica_fetcher(caf::actor_system& sys,
                                            replica_fetcher_settings settings);

}  // namespace actormq
