#pragma once
// The PEERS actor: this broker's view of the other brokers. The control
// plane tells it the desired set (set_peers_atom); it connects to each peer's
// published NODE actor, monitors it, reconnects with backoff when the
// connection is lost, and forwards requests to peers with a bound.
//
// Connecting never blocks a scheduler thread: instead of the blocking
// middleman().remote_actor(), it sends the same connect request to the
// middleman actor asynchronously with a timeout and checks the interface
// itself (see peers_state::connect). A peer is up once its node_info says
// it is the expected broker of our cluster.
//
// Failure detection is CAF's: a closed connection at once, a frozen peer
// after middleman.connection-timeout (configure_middleman sets it). A peer
// whose connection closed and whose port then refuses the first reconnect
// has lost its process (crash, SIGKILL): on_gone reports it once, and the
// broker revokes that peer's etcd lease instead of waiting out its TTL
// (docs/cluster.md, "Failure detection timings").

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "actors/atoms.h"
#include "actors/cluster/node_actor.h"
#include "actors/cluster/peer_table.h"
#include "actors/cluster/types.h"
#include "actors/inspect/actor_report.h"

namespace actormq {

using peers_actor = caf::typed_actor<
    /// The actor inspector's report of this actor (docs/inspector.md).
    caf::replies_to<inspect_atom>::with<actor_report>,
    /// The desired set of other brokers, sent whenever membership changes.
    /// New peers are connected, removed ones forgotten (demonitored), a peer
    /// whose host or port changed is reconnected; this broker's own id is
    /// ignored. No reply: the control plane may anon_send it.
    caf::reacts_to<set_peers_atom, std::vector<peer_address>>,
    /// The status of every peer, sorted by broker id.
    caf::replies_to<peers_atom>::with<std::vector<peer_status>>,
    /// The NODE actor of an up peer, for components that talk to it directly
    /// (always with a finite timeout: a request to a lost node never fails
    /// by itself). invalid_request when the id is not a peer, shutting_down
    /// ("broker unavailable") when it is not up.
    caf::replies_to<node_atom, int32_t>::with<node_actor>,
    /// partition_stats from the given broker, waited for at most timeout:
    /// invalid_request (not a peer), shutting_down (not up: broker
    /// unavailable, answered at once) or timeout (no answer in time).
    caf::replies_to<partition_stats_atom, int32_t, std::vector<topic_partition>,
                    caf::timespan>::with<std::vector<partition_stats>>,
    /// Own timer: try the peer again (the token of peer_table::retry).
    caf::reacts_to<retry_atom, int32_t, uint64_t>>;

struct peers_settings {
  int32_t broker_id = -1;    ///< this broker (ignored in the desired set)
  std::string cluster_id{};  ///< a peer answering with another cluster id is refused
  /// Bound of one connection attempt: TCP connect plus CAF handshake, and
  /// then the node_info request, each.
  caf::timespan connect_timeout = std::chrono::seconds(2);
  backoff_policy backoff{};
  /// Called on the PEERS actor's thread, once per lost connection, with a
  /// peer's id and incarnation when its process is gone (see above). Must
  /// not block; may be empty.
  std::function<void(int32_t broker_id, uint64_t incarnation)> on_gone{};
};

/// Spawns the peers actor with an empty desired set. Needs a loaded
/// middleman (configure_middleman) in sys.
peers_actor spawn_peers(caf::actor_system& sys, peers_settings settings);

/// The error of a request to a peer that is known but not up. errc has no
/// "broker unavailable" code yet: shutting_down with the reason as text.
// TODO(cluster): a dedicated code once the schema's ErrorCode gains one.
caf::error broker_unavailable(int32_t broker_id, const std::string& why);

}  // namespace actormq
