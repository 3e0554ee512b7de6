#pragma once
// Shared helpers of the integration tests against a real cluster (etcd and
// brokers, support/cluster_process.h) through the client library.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

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

}  // namespace actormq::test
