#pragma once
// Turning a broker's actor system into a cluster node: middleman settings,
// the types that cross nodes, and publishing the NODE actor.
//
// Order: configure_middleman(cfg, ...) on the config, construct the
// actor_system, spawn_node + publish_node, spawn_peers, then send set_peers
// whenever membership changes. Shutdown: unpublish_node, exit the peers and
// node actors, then let the actor_system go (CAF 0.17's ~actor_system waits
// for every actor, and a published actor is alive until it is told to exit).

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include "actors/cluster/node_actor.h"

namespace actormq {

struct cluster_settings {
  /// Brokers refuse the handshake with a node of another cluster id
  /// (middleman.app-identifiers = {"actormq:" + cluster_id}).
  std::string cluster_id{};
  /// Every node sends a heartbeat this often on each connection
  /// (middleman.heartbeat-interval; CAF 0.17 default 0 = none).
  caf::timespan heartbeat_interval = std::chrono::milliseconds(200);
  /// A connection silent this long is closed and its actors reported down
  /// (middleman.connection-timeout; CAF 0.17 default 0 = never, so a frozen
  /// peer would never be detected). Must exceed heartbeat_interval on every
  /// node, or idle connections are cut.
  caf::timespan connection_timeout = std::chrono::seconds(1);
};

/// Registers the message types that cross nodes under fixed names: node_info,
/// partition_stats, topic_partition (and std::vector of each). Every broker
/// and every test system must call it: a typed remote_actor checks that both
/// sides announce the same types.
void add_cluster_message_types(caf::actor_system_config& cfg);

/// Loads the middleman, sets the heartbeat, the connection timeout and the
/// application identifier, and adds the cluster message types. Call before
/// the actor_system is constructed.
void configure_middleman(caf::actor_system_config& cfg, const cluster_settings& settings);

/// The application identifier of a cluster, "actormq:<cluster_id>".
std::string app_identifier(const std::string& cluster_id);

/// Publishes node on host:port (port 0: an ephemeral port; the address is
/// reused so a restarted broker gets its port back). Returns the bound port.
caf::expected<uint16_t> publish_node(caf::actor_system& sys, const node_actor& node,
                                     const std::string& host, uint16_t port);

/// Closes the port of publish_node; connections already made stay open.
caf::error unpublish_node(caf::actor_system& sys, const node_actor& node, uint16_t port);

}  // namespace actormq
