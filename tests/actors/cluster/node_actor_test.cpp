// NODE actor across real CAF nodes: two actor systems in this process, each
// with its own middleman on 127.0.0.1.

#include <catch2/catch.hpp>

#include "support/cluster_fixture.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace actormq::test;
using namespace std::chrono_literals;

TEST_CASE("node_info and ping are answered across nodes", "[cluster]") {
  test_node b({.broker_id = 2});
  test_node a({.broker_id = 1});
  caf::scoped_actor self{a.sys()};
  // The blocking handshake is fine on a test thread (never in an actor).
  auto remote = a.sys().middleman().remote_actor<node_actor>(loopback, b.port);
  REQUIRE(remote);
  auto info = ask<node_info>(self, *remote, node_info_atom::value);
  REQUIRE(info);
  CHECK(info->broker_id == 2);
  CHECK(info->cluster_id == "c1");
  CHECK(info->rpc_address == "127.0.0.1:9002");
  CHECK(info->incarnation != 0);
  auto local = ask<node_info>(self, a.node, node_info_atom::value);
  REQUIRE(local);
  CHECK(local->incarnation != info->incarnation);
  CHECK(ask<pong_atom>(self, *remote, ping_atom::value));
}

TEST_CASE("partition_stats fan-out reads the topic registry of the other node", "[cluster]") {
  temp_dir dir;
  test_node b({.broker_id = 2, .data_dir = dir.path()});
  auto orders = b.create_topic("orders", 2);
  {
    caf::scoped_actor self{b.sys()};
    auto r = ask<produce_reply>(self, orders.partitions.at(1), produce_atom::value,
                                make_produce({"a", "b", "c"}));
    REQUIRE(r);
  }
  test_node a({.broker_id = 1});
  caf::scoped_actor self{a.sys()};
  caf::anon_send(a.peers, set_peers_atom::value, std::vector<peer_address>{b.address()});
  REQUIRE(wait_for_state(a.sys(), a.peers, 2, peer_state::up));

  std::vector<topic_partition> tps{{"orders", 1}, {"orders", 0}, {"orders", 5}, {"nosuch", 0}};
  auto stats = ask<std::vector<partition_stats>>(self, a.peers, partition_stats_atom::value,
                                                 int32_t{2}, tps, caf::timespan{5s});
  REQUIRE(stats);
  REQUIRE(stats->size() == 4);
  const auto& s = *stats;
  CHECK(s[0].topic == "orders");
  CHECK(s[0].partition == 1);
  CHECK(s[0].error == errc::none);
  CHECK(s[0].log_start_offset == 0);
  CHECK(s[0].high_watermark == 3);
  CHECK(s[0].size_bytes > 0);
  CHECK(s[1].error == errc::none);
  CHECK(s[1].high_watermark == 0);
  CHECK(s[2].error == errc::unknown_partition);
  CHECK(s[2].high_watermark == -1);
  CHECK(s[3].topic == "nosuch");
  CHECK(s[3].error == errc::unknown_topic);
  CHECK_FALSE(s[3].error_text.empty());

  auto none =
      ask<std::vector<partition_stats>>(self, a.peers, partition_stats_atom::value, int32_t{2},
                                        std::vector<topic_partition>{}, caf::timespan{5s});
  REQUIRE(none);
  CHECK(none->empty());
  auto stranger = ask<std::vector<partition_stats>>(self, a.peers, partition_stats_atom::value,
                                                    int32_t{7}, tps, caf::timespan{5s});
  CHECK(code_of(stranger) == errc::invalid_request);
}

TEST_CASE("a node of another cluster is refused at the handshake in both directions", "[cluster]") {
  test_node x({.broker_id = 2, .cluster_id = "other"});
  test_node a({.broker_id = 1, .cluster_id = "c1"});
  caf::anon_send(a.peers, set_peers_atom::value, std::vector<peer_address>{x.address()});
  REQUIRE(wait_for_state(a.sys(), a.peers, 2, peer_state::down));
  auto s = status_of(a.sys(), a.peers, 2);
  REQUIRE(s);
  CHECK(s->last_error.find("incompatible_application_ids") != std::string::npos);
  CHECK(s->incarnation == 0);

  // The other cluster's broker cannot reach ours either: CAF checks the
  // application identifiers on the connecting side, and its own are "other".
  auto from_x = x.sys().middleman().remote_actor<node_actor>(loopback, a.port);
  REQUIRE_FALSE(from_x);
  CHECK(from_x.error() == caf::sec::incompatible_application_ids);
  caf::anon_send(x.peers, set_peers_atom::value, std::vector<peer_address>{a.address()});
  REQUIRE(wait_for_state(x.sys(), x.peers, 1, peer_state::down));

  // Still refused after a few retries, and nothing was forwarded to it.
  caf::scoped_actor self{a.sys()};
  auto stats =
      ask<std::vector<partition_stats>>(self, a.peers, partition_stats_atom::value, int32_t{2},
                                        std::vector<topic_partition>{}, caf::timespan{1s});
  CHECK(code_of(stats) == errc::shutting_down);
  CHECK(text_of(stats.error()).find("unavailable") != std::string::npos);
}

TEST_CASE("a produce forwarded through the peers reaches the partition of the other node",
          "[cluster]") {
  temp_dir dir;
  test_node b({.broker_id = 2, .data_dir = dir.path()});
  auto orders = b.create_topic("orders", 2);
  test_node a({.broker_id = 1});
  caf::anon_send(a.peers, set_peers_atom::value, std::vector<peer_address>{b.address()});
  REQUIRE(wait_for_state(a.sys(), a.peers, 2, peer_state::up));
  caf::scoped_actor self{a.sys()};
  auto node = ask<node_actor>(self, a.peers, node_atom::value, int32_t{2});
  REQUIRE(node);
  auto batch = make_produce({"x", "y"});
  remote_produce req{{"orders", 1}, *batch.batches, static_cast<uint8_t>(acks_level::fsync)};
  auto r = ask<remote_produce_reply>(self, *node, produce_atom::value, req);
  REQUIRE(r);
  CHECK(r->base_offset == 0);
  CHECK(r->last_offset == 1);
  // Written to b's partition: its offsets moved.
  caf::scoped_actor local{b.sys()};
  auto o = ask<partition_offsets>(local, orders.partitions.at(1), offsets_atom::value);
  REQUIRE(o);
  CHECK(o->high_watermark == 2);
  // Unknown names and a bad acks level come back as errors.
  remote_produce bad = req;
  bad.target = {"nosuch", 0};
  CHECK(code_of(ask<remote_produce_reply>(self, *node, produce_atom::value, bad)) ==
        errc::unknown_topic);
  bad.target = {"orders", 7};
  CHECK(code_of(ask<remote_produce_reply>(self, *node, produce_atom::value, bad)) ==
        errc::unknown_partition);
  bad = req;
  bad.acks = 9;
  CHECK(code_of(ask<remote_produce_reply>(self, *node, produce_atom::value, bad)) ==
        errc::invalid_request);
}
