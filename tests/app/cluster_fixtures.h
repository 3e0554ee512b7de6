#pragma once
// Shared helpers of the integration tests against a real cluster (etcd and
// brokers, support/cluster_process.h) through the client library.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "actors/group/offset_record.h"
#include "fixtures.h"
#include "support/cluster_process.h"

namespace actormq::test {

/// Starts n brokers and waits until one of them reports all n and a
/// controller; returns that metadata.
inline client::cluster_metadata require_formed(cluster_process& c, int n) {
  INFO(c.error());
  REQUIRE(c.start(n));
  client::cluster_metadata m;
  REQUIRE(eventually(
      [&] {
        auto adm = client::admin::create(connection_to(c.broker(0)));
        if (!adm) return false;
        auto r = (*adm)->metadata({});
        if (!r || r->controller_id < 0 || r->brokers.size() != static_cast<size_t>(n)) {
          return false;
        }
        m = *r;
        return true;
      },
      std::chrono::seconds(20)));
  return m;
}

/// A broker index that is not the controller.
inline size_t not_controller(const client::cluster_metadata& m) {
  return m.controller_id == 0 ? 1 : 0;
}

/// Waits until every partition of topic has a leader, as seen through adm.
inline client::topic_metadata require_led(client::admin& adm, const std::string& topic,
                                          size_t partitions) {
  client::topic_metadata t;
  REQUIRE(eventually([&] {
    auto m = adm.metadata({topic});
    if (!m || m->topics.size() != 1 || m->topics[0].err) return false;
    t = m->topics[0];
    if (t.partitions.size() != partitions) return false;
    for (const auto& p : t.partitions) {
      if (p.leader < 0) return false;
    }
    return true;
  }));
  return t;
}

/// A bootstrap list naming the running ones of the first n brokers, so a
/// client survives the loss of any of them.
inline client::connection_config bootstrap(cluster_process& c, size_t n) {
  auto cc = connection_to(c.broker(0));
  cc.broker.clear();
  for (size_t i = 0; i < n; ++i) {
    if (!c.broker(i).running()) continue;
    if (!cc.broker.empty()) cc.broker += ",";
    cc.broker += c.broker(i).address();
  }
  return cc;
}

/// Every value of topic, read from its earliest offset by a fresh group
/// through the first three brokers, until count are read or bound passes.
inline std::vector<std::string> read_values(cluster_process& c, const std::string& topic,
                                            size_t count, std::chrono::seconds bound) {
  client::consumer_config cc;
  cc.connection = bootstrap(c, 3);
  cc.group_id = "verify-" + topic + "-" + std::to_string(count);
  cc.auto_offset_reset = client::offset_reset::earliest;
  cc.fetch_max_wait_ms = 200;
  cc.retry_topics = false;
  auto consumer = client::consumer::create(cc);
  REQUIRE(consumer);
  REQUIRE((*consumer)->subscribe({topic}));
  std::vector<std::string> seen;
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (seen.size() < count && std::chrono::steady_clock::now() < deadline) {
    auto r = (*consumer)->poll(std::chrono::milliseconds(200));
    if (!r) continue;
    for (const auto& m : *r) seen.push_back(m.value.value_or(""));
  }
  (void)(*consumer)->close();
  return seen;
}

/// The broker leading the partition of an internal state topic
/// (__consumer_offsets, __transaction_state) that holds name's state:
/// fnv1a32(name) % partitions (group::state_partition_of). Waits (bounded)
/// until the topic exists and that partition has a leader.
inline int32_t state_leader_of(client::admin& adm, const std::string& topic,
                               const std::string& name) {
  int32_t leader = -1;
  REQUIRE(eventually(
      [&] {
        auto m = adm.metadata({topic}, true);
        if (!m || m->topics.size() != 1 || m->topics[0].err) return false;
        const auto& t = m->topics[0];
        if (t.partitions.empty()) return false;
        auto p = group::state_partition_of(name, static_cast<uint32_t>(t.partitions.size()));
        leader = t.partitions[p].leader;
        return leader >= 0;
      },
      std::chrono::seconds(20)));
  return leader;
}

}  // namespace actormq::test
