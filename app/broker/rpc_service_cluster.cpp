// The Broker capability's cluster calls (schema/actormq.capnp, "cluster"):
// metadata and findCoordinator. A single broker answers as a cluster of one.
#include "app/broker/rpc_helpers.h"
#include "app/broker/rpc_service.h"

namespace actormq::broker {

namespace {

/// A single broker's own id in metadata answers.
constexpr int32_t single_broker_id = 0;

void fill_single_partition(rpc::PartitionMetadata::Builder b, uint32_t p) {
  b.setPartition(p);
  b.setLeader(single_broker_id);
  b.setLeaderEpoch(0);
  b.initReplicas(1).set(0, single_broker_id);
  b.initIsr(1).set(0, single_broker_id);
}

}  // namespace

kj::Promise<void> rpc_service::metadata(MetadataContext ctx) {
  std::vector<std::string> wanted;
  for (auto t : ctx.getParams().getTopics()) wanted.push_back(text(t));
  return call<std::vector<topic_description>>(
             session_,
             [](session_state& s, done_fn<std::vector<topic_description>> d) { s.list_topics(d); })
      .then([this, ctx,
             wanted = std::move(wanted)](caf::expected<std::vector<topic_description>> r) mutable {
        if (!r) KJ_FAIL_REQUIRE("listing topics failed", text_of(r.error()));
        auto m = ctx.getResults().initMetadata();
        m.setClusterId("");
        m.setBrokerId(single_broker_id);
        m.setControllerId(single_broker_id);
        m.setControlPlaneUp(true);
        auto brokers = m.initBrokers(1);
        brokers[0].setId(single_broker_id);
        brokers[0].setAddress(ctx_.broker_id);
        brokers[0].setAlive(true);
        std::map<std::string, const topic_description*> by_name;
        for (auto& t : *r) by_name[t.name] = &t;
        std::vector<std::string> names = wanted;
        if (names.empty()) {
          for (auto& [n, _] : by_name) names.push_back(n);
        }
        auto topics = m.initTopics(static_cast<unsigned>(names.size()));
        for (size_t i = 0; i < names.size(); ++i) {
          auto tb = topics[static_cast<unsigned>(i)];
          tb.setName(names[i]);
          auto it = by_name.find(names[i]);
          if (it == by_name.end()) {
            set_error(tb.initError(), errc::unknown_topic, "no topic named '" + names[i] + "'");
            continue;
          }
          tb.setReplicationFactor(1);
          auto n = static_cast<unsigned>(it->second->partitions.size());
          auto ps = tb.initPartitions(n);
          for (unsigned p = 0; p < n; ++p) fill_single_partition(ps[p], p);
        }
      });
}

kj::Promise<void> rpc_service::findCoordinator(FindCoordinatorContext ctx) {
  auto r = ctx.getResults();
  r.setBrokerId(single_broker_id);
  r.setAddress(ctx_.broker_id);
  return kj::READY_NOW;
}

}  // namespace actormq::broker
