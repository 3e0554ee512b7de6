#pragma once
// Helpers for cluster tests: several actor systems in one test process, each
// with its own middleman on 127.0.0.1 and an ephemeral (or given) port, a
// NODE actor published there, a PEERS actor and optionally a topic registry.
//
// CAF 0.17's ~actor_system waits for every actor: test_node::shutdown()
// closes the port and sends exits to everything it spawned first. Every wait
// is bounded.

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "actors/cluster/cluster_node.h"
#include "actors/cluster/node_actor.h"
#include "actors/cluster/peers_actor.h"
#include "support/actor_fixture.h"

namespace actormq::test {

inline constexpr const char* loopback = "127.0.0.1";

/// An actor system configured as a cluster node.
struct cluster_system_config : test_system_config {
  explicit cluster_system_config(const cluster_settings& s) { configure_middleman(*this, s); }
};

/// What a test_node is made of.
struct test_node_options {
  int32_t broker_id = 1;
  std::string cluster_id = "c1";
  uint16_t port = 0;  ///< 0: ephemeral
  /// Data dir of a topic registry on this node; none: the node has no registry.
  std::optional<std::filesystem::path> data_dir{};
  cluster_settings timings{};  ///< cluster_id is taken from above
  caf::timespan connect_timeout = std::chrono::seconds(2);
};

/// One broker's cluster side without the network RPC: actor system with
/// middleman, published NODE actor, PEERS actor, optional topic registry.
class test_node {
 public:
  explicit test_node(test_node_options o)
      : options_(std::move(o)), cfg_(settings_of(options_)), sys_(cfg_) {
    node_settings ns;
    ns.broker_id = options_.broker_id;
    ns.cluster_id = options_.cluster_id;
    ns.rpc_address = std::string(loopback) + ":" + std::to_string(9000 + options_.broker_id);
    if (options_.data_dir) {
      registry_settings rs;
      rs.data_dir = *options_.data_dir;
      rs.flushers = 1;
      auto reg = spawn_topic_registry(sys_, std::move(rs));
      REQUIRE(reg);
      registry = *reg;
      ns.registry = registry;
    }
    node = spawn_node(sys_, std::move(ns));
    auto bound = publish_node(sys_, node, loopback, options_.port);
    REQUIRE(bound);
    port = *bound;
    peers_settings ps;
    ps.broker_id = options_.broker_id;
    ps.cluster_id = options_.cluster_id;
    ps.connect_timeout = options_.connect_timeout;
    peers = spawn_peers(sys_, std::move(ps));
  }
  ~test_node() { shutdown(); }
  test_node(const test_node&) = delete;
  test_node& operator=(const test_node&) = delete;

  caf::actor_system& sys() { return sys_; }
  int32_t id() const { return options_.broker_id; }
  peer_address address() const { return {options_.broker_id, loopback, port}; }

  /// Creates a topic in this node's registry (the test fails otherwise).
  topic_handle create_topic(const std::string& name, uint32_t partitions) {
    caf::scoped_actor self{sys_};
    topic_config cfg;
    cfg.partitions = partitions;
    auto h = ask<topic_handle>(self, registry, create_atom::value, name, cfg);
    REQUIRE(h);
    return *h;
  }

  /// Closes the port, stops every actor spawned here and waits for them;
  /// the actor system itself ends with the test_node.
  void shutdown() {
    if (stopped_) return;
    stopped_ = true;
    unpublish_node(sys_, node, port);
    caf::anon_send_exit(peers, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    if (registry) caf::anon_send(registry, close_atom::value);
    sys_.await_all_actors_done();
  }

  node_actor node;
  peers_actor peers;
  topic_registry_actor registry;
  uint16_t port = 0;

 private:
  static cluster_settings settings_of(const test_node_options& o) {
    auto s = o.timings;
    s.cluster_id = o.cluster_id;
    return s;
  }

  test_node_options options_;
  cluster_system_config cfg_;
  caf::actor_system sys_;
  bool stopped_ = false;
};

/// The status of one peer as the PEERS actor reports it (none: not a peer).
inline std::optional<peer_status> status_of(caf::actor_system& sys, const peers_actor& peers,
                                            int32_t broker_id) {
  caf::scoped_actor self{sys};
  auto all = ask<std::vector<peer_status>>(self, peers, peers_atom::value);
  REQUIRE(all);
  for (auto& s : *all) {
    if (s.broker_id == broker_id) return s;
  }
  return std::nullopt;
}

/// Waits (bounded) until peers reports broker_id in state; the time it
/// took, or nothing when the deadline passed first.
inline std::optional<std::chrono::milliseconds> wait_for_state(
    caf::actor_system& sys, const peers_actor& peers, int32_t broker_id, peer_state state,
    std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  auto start = std::chrono::steady_clock::now();
  auto reached = poll_until(
      [&] {
        auto s = status_of(sys, peers, broker_id);
        return s && s->state == state;
      },
      deadline, std::chrono::milliseconds(5));
  if (!reached) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

}  // namespace actormq::test
