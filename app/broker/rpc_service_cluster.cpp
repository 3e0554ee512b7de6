// The Broker capability's cluster calls (schema/actormq.capnp, "cluster"):
// metadata and findCoordinator. A single broker answers as a cluster of one.
#include <fmt/format.h>

#include "actors/cluster/replica_assignor.h"
#include "actors/group/offset_record.h"
#include "actors/txn/txn_state_record.h"
#include "app/broker/actor_call.h"
#include "app/broker/cluster/control_plane.h"
#include "app/broker/cluster/controller.h"
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

void fill_cluster_partition(rpc::PartitionMetadata::Builder b, uint32_t p,
                            const cluster::partition_state& s) {
  b.setPartition(p);
  b.setLeader(s.leader);
  b.setLeaderEpoch(s.leader_epoch);
  auto r = b.initReplicas(static_cast<unsigned>(s.replicas.size()));
  for (unsigned i = 0; i < r.size(); ++i) r.set(i, s.replicas[i]);
  auto isr = b.initIsr(static_cast<unsigned>(s.isr.size()));
  for (unsigned i = 0; i < isr.size(); ++i) isr.set(i, s.isr[i]);
}

rpc::PeerLink link_of(peer_state s) {
  switch (s) {
    case peer_state::up:
      return rpc::PeerLink::UP;
    case peer_state::connecting:
      return rpc::PeerLink::CONNECTING;
    case peer_state::down:
      return rpc::PeerLink::DOWN;
  }
  return rpc::PeerLink::UNKNOWN;
}

/// links: the PEERS actor's answer, or null when it did not answer in time
/// (every other broker's link is then unknown).
void fill_cluster_metadata(rpc::ClusterMetadata::Builder m, const control_plane& cp,
                           const std::vector<std::string>& wanted,
                           const std::vector<peer_status>* links) {
  auto& view = cp.view();
  m.setClusterId(cp.cluster_id());
  m.setBrokerId(cp.self());
  m.setControllerId(view.controller());
  m.setControlPlaneUp(cp.up());
  std::map<cluster::broker_id, const peer_status*> link_by_id;
  if (links != nullptr) {
    for (auto& st : *links) link_by_id[st.broker_id] = &st;
  }
  auto brokers = m.initBrokers(static_cast<unsigned>(view.brokers().size()));
  unsigned i = 0;
  for (auto& [id, reg] : view.brokers()) {
    brokers[i].setId(id);
    brokers[i].setAddress(reg.rpc_address);
    brokers[i].setAlive(true);
    if (id == cp.self()) {
      brokers[i].setLink(rpc::PeerLink::SELF);
    } else if (auto it = link_by_id.find(id); it != link_by_id.end()) {
      brokers[i].setLink(link_of(it->second->state));
      brokers[i].setLinkSinceMs(it->second->since_ms);
      brokers[i].setLinkError(it->second->last_error);
    }
    ++i;
  }
  std::vector<std::string> names = wanted;
  if (names.empty()) {
    for (auto& [n, _] : view.topics()) names.push_back(n);
  }
  auto topics = m.initTopics(static_cast<unsigned>(names.size()));
  for (size_t t = 0; t < names.size(); ++t) {
    auto tb = topics[static_cast<unsigned>(t)];
    tb.setName(names[t]);
    auto it = view.topics().find(names[t]);
    if (it == view.topics().end()) {
      set_error(tb.initError(), errc::unknown_topic, "no topic named '" + names[t] + "'");
      continue;
    }
    tb.setReplicationFactor(it->second.replication_factor);
    auto ps = tb.initPartitions(it->second.partitions);
    for (uint32_t p = 0; p < it->second.partitions; ++p) {
      if (auto* s = view.partition(names[t], p)) {
        fill_cluster_partition(ps[p], p, *s);
      } else {
        ps[p].setPartition(p);
        ps[p].setLeader(cluster::no_broker);
      }
    }
  }
}

/// The live leader of partition p of an internal state topic (no_broker
/// while the topic does not exist yet or the partition has no leader).
cluster::broker_id state_leader_of(const cluster::cluster_view& view, const char* topic,
                                   uint32_t p) {
  auto* s = view.partition(topic, p);
  if (s == nullptr || s->leader < 0 || view.broker(s->leader) == nullptr) return cluster::no_broker;
  return s->leader;
}

/// Partitions of an internal state topic (0: not created yet).
uint32_t state_partitions(const cluster::cluster_view& view, const char* topic) {
  auto t = view.topics().find(topic);
  return t == view.topics().end() ? 0 : t->second.partitions;
}

/// A group's coordinator: the leader of the partition of __consumer_offsets
/// that holds the group's state.
cluster::broker_id coordinator_of(const cluster::cluster_view& view, const std::string& group) {
  auto n = state_partitions(view, group::offsets_topic);
  if (n == 0) return cluster::no_broker;
  return state_leader_of(view, group::offsets_topic, group::state_partition_of(group, n));
}

}  // namespace

void fill_redirect(rpc::Error::Builder b, const redirect& r) {
  set_error(b, r.code, r.text);
  b.setLeaderId(r.leader_id);
  b.setLeaderAddress(r.leader_address);
}

std::optional<redirect> rpc_service::not_led_here(const std::string& topic,
                                                  uint32_t partition) const {
  if (ctx_.cluster == nullptr) return std::nullopt;
  auto& cp = *ctx_.cluster;
  auto& view = cp.view();
  auto t = view.topics().find(topic);
  if (t == view.topics().end()) {
    return redirect{errc::unknown_topic, fmt::format("no topic named '{}'", topic)};
  }
  auto* s = view.partition(topic, partition);
  if (s == nullptr || partition >= t->second.partitions) {
    return redirect{errc::unknown_partition,
                    fmt::format("topic '{}' has no partition {}", topic, partition)};
  }
  if (s->leader == cp.self()) return std::nullopt;
  if (s->leader == cluster::no_broker) {
    return redirect{
        errc::not_leader,
        fmt::format("{}-{} has no leader: no in-sync replica is alive", topic, partition)};
  }
  auto* reg = view.broker(s->leader);
  return redirect{errc::not_leader,
                  fmt::format("broker {} does not lead {}-{}; broker {} does (epoch {})", cp.self(),
                              topic, partition, s->leader, s->leader_epoch),
                  s->leader, reg ? reg->rpc_address : std::string()};
}

kj::Promise<std::optional<redirect>> rpc_service::through_controller(
    std::function<kj::Promise<caf::error>(controller&)> duty) {
  auto& cp = *ctx_.cluster;
  if (!cp.is_controller()) {
    auto id = cp.view().controller();
    auto* reg = cp.view().broker(id);
    return std::optional<redirect>(
        redirect{errc::not_controller,
                 id == cluster::no_broker
                     ? std::string("the cluster has no controller right now")
                     : fmt::format("broker {} is not the controller; broker {} is", cp.self(), id),
                 id, reg ? reg->rpc_address : std::string()});
  }
  return duty(cp.duties()).then([&cp](caf::error e) -> std::optional<redirect> {
    if (!e) return std::nullopt;
    redirect r{code_of(e), text_of(e)};
    if (r.code == errc::not_controller) {
      r.leader_id = cp.view().controller();
      if (auto* reg = cp.view().broker(r.leader_id)) r.leader_address = reg->rpc_address;
    }
    return r;
  });
}

kj::Promise<void> rpc_service::describe_cluster_topic(const std::string& name,
                                                      rpc::TopicInfo::Builder out,
                                                      rpc::Error::Builder err) {
  auto& view = ctx_.cluster->view();
  auto t = view.topics().find(name);
  if (t == view.topics().end()) {
    set_error(err, errc::unknown_topic, fmt::format("no topic named '{}'", name));
    return kj::READY_NOW;
  }
  auto cfg = t->second;
  // Which partitions each leader is asked for.
  std::map<cluster::broker_id, std::vector<topic_partition>> by_leader;
  for (uint32_t p = 0; p < cfg.partitions; ++p) {
    auto* s = view.partition(name, p);
    if (s != nullptr && s->leader != cluster::no_broker) {
      by_leader[s->leader].push_back({name, static_cast<int32_t>(p)});
    }
  }
  constexpr auto timeout = std::chrono::seconds(2);
  kj::Vector<kj::Promise<std::vector<partition_stats>>> asks;
  for (auto& [leader, tps] : by_leader) {
    auto answered = [](caf::expected<std::vector<partition_stats>> r) {
      return r ? std::move(*r) : std::vector<partition_stats>{};
    };
    if (leader == ctx_.cluster->self()) {
      asks.add(ask<std::vector<partition_stats>>(*ctx_.system, ctx_.node, timeout,
                                                 partition_stats_atom::value, tps)
                   .then(answered));
    } else {
      caf::timespan bound = timeout;
      asks.add(ask<std::vector<partition_stats>>(*ctx_.system, ctx_.peers,
                                                 timeout + std::chrono::seconds(1),
                                                 partition_stats_atom::value, leader, tps, bound)
                   .then(answered));
    }
  }
  return kj::joinPromises(asks.releaseAsArray())
      .then([out, name, cfg](kj::Array<std::vector<partition_stats>> answers) mutable {
        topic_description d;
        d.name = name;
        d.config = cfg;
        d.partitions.assign(cfg.partitions, partition_offsets{-1, -1, 0, -1});
        for (auto& list : answers) {
          for (auto& st : list) {
            if (st.error != errc::none || st.partition < 0 ||
                static_cast<uint32_t>(st.partition) >= cfg.partitions)
              continue;
            d.partitions[static_cast<size_t>(st.partition)] =
                partition_offsets{st.log_start_offset, st.high_watermark, st.size_bytes, -1};
          }
        }
        fill_topic(out, d);
      });
}

kj::Promise<void> rpc_service::metadata(MetadataContext ctx) {
  std::vector<std::string> wanted;
  for (auto t : ctx.getParams().getTopics()) wanted.push_back(text(t));
  if (ctx_.cluster != nullptr) {
    // The links come from the PEERS actor; the view is read when its answer
    // is there, so both are as fresh as possible. A silent PEERS costs at
    // most the bound and leaves the links unknown.
    constexpr auto peers_bound = std::chrono::milliseconds(500);
    return ask<std::vector<peer_status>>(*ctx_.system, ctx_.peers, peers_bound, peers_atom::value)
        .then([this, ctx,
               wanted = std::move(wanted)](caf::expected<std::vector<peer_status>> links) mutable {
          fill_cluster_metadata(ctx.getResults().initMetadata(), *ctx_.cluster, wanted,
                                links ? &*links : nullptr);
        });
  }
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
        brokers[0].setLink(rpc::PeerLink::SELF);
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

std::optional<redirect> rpc_service::not_coordinated_here(const std::string& group) const {
  if (ctx_.cluster == nullptr) return std::nullopt;
  auto at = coordinator_of(ctx_.cluster->view(), group);
  if (at == ctx_.cluster->self()) return std::nullopt;
  if (at == cluster::no_broker) {
    return redirect{errc::cluster_unavailable,
                    fmt::format("group '{}' has no coordinator yet ({} is being created or its "
                                "partition's leader elected)",
                                group, group::offsets_topic)};
  }
  auto* reg = ctx_.cluster->view().broker(at);
  return redirect{errc::not_coordinator,
                  fmt::format("broker {} does not coordinate group '{}'; broker {} does",
                              ctx_.cluster->self(), group, at),
                  at, reg ? reg->rpc_address : std::string()};
}

std::optional<uint32_t> rpc_service::txn_partition(const std::string& group,
                                                   const std::optional<uint64_t>& id) const {
  if (id) return txn::txn_partition_of(*id);
  if (ctx_.cluster == nullptr) return 0;
  auto n = state_partitions(ctx_.cluster->view(), txn::state_topic);
  if (n == 0) return std::nullopt;
  return group::state_partition_of(group, n);
}

std::optional<redirect> rpc_service::not_txn_coordinated_here(
    const std::string& group, const std::optional<uint64_t>& id) const {
  if (ctx_.cluster == nullptr) return std::nullopt;
  auto& view = ctx_.cluster->view();
  auto p = txn_partition(group, id);
  auto at = p ? state_leader_of(view, txn::state_topic, *p) : cluster::no_broker;
  if (at == ctx_.cluster->self()) return std::nullopt;
  if (at == cluster::no_broker) {
    return redirect{errc::cluster_unavailable,
                    fmt::format("no transaction coordinator yet ({} is being created or its "
                                "partition's leader elected)",
                                txn::state_topic)};
  }
  auto* reg = view.broker(at);
  return redirect{errc::not_coordinator,
                  fmt::format("broker {} does not coordinate these transactions ({}-{}); broker "
                              "{} does",
                              ctx_.cluster->self(), txn::state_topic, *p, at),
                  at, reg ? reg->rpc_address : std::string()};
}

kj::Promise<void> rpc_service::findCoordinator(FindCoordinatorContext ctx) {
  auto r = ctx.getResults();
  auto params = ctx.getParams();
  if (ctx_.cluster != nullptr) {
    auto& view = ctx_.cluster->view();
    cluster::broker_id at = cluster::no_broker;
    const char* topic = group::offsets_topic;
    if (params.getKind() == rpc::CoordinatorKind::TRANSACTION) {
      topic = txn::state_topic;
      std::optional<uint64_t> id;
      if (params.hasTxnId() && params.getTxnId().size() > 0) {
        uint64_t v = 0;
        if (!parse_txn_id(text(params.getTxnId()), v)) {
          set_error(r.initError(), errc::unknown_transaction,
                    fmt::format("'{}' is not a transaction id", text(params.getTxnId())));
          return kj::READY_NOW;
        }
        id = v;
      }
      auto p = txn_partition(text(params.getGroup()), id);
      if (p) at = state_leader_of(view, txn::state_topic, *p);
    } else {
      at = coordinator_of(view, text(params.getGroup()));
    }
    if (at == cluster::no_broker) {
      set_error(r.initError(), errc::cluster_unavailable,
                fmt::format("no coordinator yet ({} is being created or its partition's leader "
                            "elected)",
                            topic));
      return kj::READY_NOW;
    }
    r.setBrokerId(at);
    r.setAddress(view.broker(at)->rpc_address);
    return kj::READY_NOW;
  }
  r.setBrokerId(single_broker_id);
  r.setAddress(ctx_.broker_id);
  return kj::READY_NOW;
}

}  // namespace actormq::broker
