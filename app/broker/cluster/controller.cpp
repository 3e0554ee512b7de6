#include "app/broker/cluster/controller.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "actors/cluster/leader_election.h"
#include "actors/cluster/replica_assignor.h"
#include "actors/delay/delay_schedule_record.h"
#include "actors/errc.h"
#include "actors/group/group_actor.h"
#include "actors/txn/txn_state_record.h"
#include "app/broker/cluster/control_plane.h"
#include "app/broker/logger.h"

namespace actormq::broker {

namespace {
// etcd refuses a txn of more than 128 operations (--max-txn-ops).
constexpr size_t max_ops_per_txn = 100;

/// A topic's config as stored in etcd, with the revision that guards a
/// write of it.
struct stored_topic {
  topic_config config;
  etcd::revision mod_revision;
};

/// The answer to a get of topic name's key: cluster_unavailable,
/// unknown_topic or internal (malformed) when it holds no config.
caf::expected<stored_topic> stored_config(const etcd::result<etcd::range_result>& r,
                                          const std::string& name) {
  if (!r) return make_error(errc::cluster_unavailable, "etcd: " + r.err().to_string());
  if (r->kvs.empty()) {
    return make_error(errc::unknown_topic, fmt::format("no topic named '{}'", name));
  }
  const auto& seen = r->kvs.front();
  auto cfg = topic_config::decode(seen.value);
  if (!cfg) return make_error(errc::internal, "the config of topic '" + name + "' is malformed");
  return stored_topic{*cfg, seen.mod_revision};
}
}  // namespace

kj::Promise<caf::error> controller::fenced(std::vector<etcd::compare> extra,
                                           std::vector<etcd::txn_op> ops, caf::error refused) {
  if (!cp_.is_controller()) {
    return make_error(errc::not_controller, "this broker is not the controller");
  }
  auto controller_key = cp_.view().keys().controller();
  auto fence = cp_.fence();
  extra.insert(extra.begin(),
               etcd::compare::create_revision_is(controller_key, etcd::compare::op::equal, fence));
  // The failure branch reads the controller key, to tell a lost fence from
  // one of the caller's own conditions.
  return cp_.etcd()
      .txn(std::move(extra), std::move(ops), {etcd::txn_op::get(controller_key)})
      .then([fence, refused = std::move(refused)](etcd::result<etcd::txn_result> r) -> caf::error {
        if (!r) return make_error(errc::cluster_unavailable, "etcd: " + r.err().to_string());
        if (r->succeeded) return {};
        bool fence_holds = !r->responses.empty() && !r->responses[0].range.kvs.empty() &&
                           r->responses[0].range.kvs[0].create_revision == fence;
        if (!fence_holds) return make_error(errc::not_controller, "fenced write refused");
        return refused;
      });
}

kj::Promise<caf::error> controller::create_topic(std::string name, topic_config cfg,
                                                 bool internal) {
  if (!cp_.up()) {
    return make_error(errc::cluster_unavailable, "the control plane (etcd) is unreachable");
  }
  if (auto why = invalid_topic_name(name, internal)) return make_error(errc::invalid_topic, *why);
  auto& view = cp_.view();
  if (view.topics().count(name)) {
    return make_error(errc::topic_exists, fmt::format("topic '{}' exists", name));
  }
  auto live = view.live_brokers();
  auto replicas =
      cluster::replica_assignor::assign(name, cfg.partitions, cfg.replication_factor,
                                        std::vector<cluster::broker_id>(live.begin(), live.end()));
  if (replicas.empty()) {
    return make_error(errc::not_enough_replicas,
                      fmt::format("replication factor {} needs {} live brokers; {} are live",
                                  cfg.replication_factor, cfg.replication_factor, live.size()));
  }
  auto& keys = view.keys();
  // The topic key goes in the last txn: a topic that is visible has all its
  // partition states.
  std::vector<std::vector<etcd::txn_op>> batches(1);
  for (uint32_t p = 0; p < cfg.partitions; ++p) {
    cluster::partition_state s;
    s.replicas = replicas[p];
    s.leader = s.replicas.front();
    s.isr = s.replicas;  // every replica is empty, so every one is in sync
    if (batches.back().size() >= max_ops_per_txn) batches.emplace_back();
    batches.back().push_back(etcd::txn_op::put(keys.partition(name, p), s.encode()));
  }
  batches.back().push_back(etcd::txn_op::put(keys.topic(name), cfg.encode()));
  auto topic_key = keys.topic(name);
  kj::Promise<caf::error> chain = caf::error{};
  for (auto& ops : batches) {
    chain = chain.then([this, name, topic_key,
                        ops = std::move(ops)](caf::error e) mutable -> kj::Promise<caf::error> {
      if (e) return kj::mv(e);
      return fenced({etcd::compare::absent(topic_key)}, std::move(ops),
                    make_error(errc::topic_exists, "topic '" + name + "' exists"));
    });
  }
  // A refused compare (not_controller) is the fence or a concurrent create.
  return chain.then([name, cfg](caf::error e) {
    if (!e) {
      broker_log().info("controller: created topic {} ({} partitions, replication factor {})", name,
                        cfg.partitions, cfg.replication_factor);
    }
    return e;
  });
}

kj::Promise<caf::error> controller::delete_topic(std::string name) {
  if (!cp_.up()) {
    return make_error(errc::cluster_unavailable, "the control plane (etcd) is unreachable");
  }
  auto& keys = cp_.view().keys();
  if (!cp_.view().topics().count(name)) {
    return make_error(errc::unknown_topic, fmt::format("no topic named '{}'", name));
  }
  // The topic key first: brokers stop serving it before its partitions go.
  std::vector<etcd::txn_op> ops{etcd::txn_op::erase(keys.topic(name)),
                                etcd::txn_op::erase_prefix(keys.partitions_of(name))};
  return fenced({}, std::move(ops)).then([name](caf::error e) {
    if (!e) broker_log().info("controller: deleted topic {}", name);
    return e;
  });
}

kj::Promise<caf::error> controller::add_partitions(std::string name, uint32_t total) {
  if (!cp_.up()) {
    return make_error(errc::cluster_unavailable, "the control plane (etcd) is unreachable");
  }
  if (!cp_.is_controller()) {
    return make_error(errc::not_controller, "this broker is not the controller");
  }
  auto topic_key = cp_.view().keys().topic(name);
  // The stored config, not the view's: its mod revision guards the write.
  return cp_.etcd().get(topic_key).then([this, name, total,
                                         topic_key](etcd::result<etcd::range_result> r)
                                            -> kj::Promise<caf::error> {
    auto stored = stored_config(r, name);
    if (!stored) return stored.error();
    auto* cfg = &stored->config;
    if (total <= cfg->partitions || total > 10000) {
      return make_error(errc::invalid_topic,
                        fmt::format("topic '{}' has {} partitions; the new count must be larger "
                                    "(at most 10000)",
                                    name, cfg->partitions));
    }
    auto live = cp_.view().live_brokers();
    // Placing all `total` partitions and keeping the new ones continues the
    // topic's round robin where its existing partitions end.
    auto replicas = cluster::replica_assignor::assign(
        name, total, cfg->replication_factor,
        std::vector<cluster::broker_id>(live.begin(), live.end()));
    if (replicas.empty()) {
      return make_error(errc::not_enough_replicas,
                        fmt::format("replication factor {} needs {} live brokers; {} are live",
                                    cfg->replication_factor, cfg->replication_factor, live.size()));
    }
    auto& keys = cp_.view().keys();
    uint32_t old = cfg->partitions;
    std::vector<std::vector<etcd::txn_op>> batches(1);
    for (uint32_t p = old; p < total; ++p) {
      cluster::partition_state s;
      s.replicas = replicas[p];
      s.leader = s.replicas.front();
      s.isr = {s.leader};
      if (batches.back().size() >= max_ops_per_txn) batches.emplace_back();
      batches.back().push_back(etcd::txn_op::put(keys.partition(name, p), s.encode()));
    }
    cfg->partitions = total;
    batches.back().push_back(etcd::txn_op::put(topic_key, cfg->encode()));
    auto guard =
        etcd::compare::mod_revision_is(topic_key, etcd::compare::op::equal, stored->mod_revision);
    kj::Promise<caf::error> chain = caf::error{};
    for (auto& ops : batches) {
      chain = chain.then([this, name, guard,
                          ops = std::move(ops)](caf::error e) mutable -> kj::Promise<caf::error> {
        if (e) return kj::mv(e);
        return fenced({guard}, std::move(ops),
                      make_error(errc::busy, "topic '" + name +
                                                 "' changed while partitions were added; try "
                                                 "again"));
      });
    }
    return chain.then([name, old, total](caf::error e) {
      if (!e)
        broker_log().info("controller: topic {} has {} partitions (was {})", name, total, old);
      return e;
    });
  });
}

kj::Promise<caf::error> controller::set_quota(std::string name, int64_t byte_rate,
                                              int64_t message_rate) {
  if (!cp_.up()) {
    return make_error(errc::cluster_unavailable, "the control plane (etcd) is unreachable");
  }
  if (!cp_.is_controller()) {
    return make_error(errc::not_controller, "this broker is not the controller");
  }
  if (byte_rate < -1 || message_rate < -1) {
    return make_error(errc::invalid_topic,
                      "a produce quota is a rate >= 0 (0 = unlimited), or -1 to keep it");
  }
  auto topic_key = cp_.view().keys().topic(name);
  return cp_.etcd().get(topic_key).then(
      [this, name, byte_rate, message_rate,
       topic_key](etcd::result<etcd::range_result> r) -> kj::Promise<caf::error> {
        auto stored = stored_config(r, name);
        if (!stored) return stored.error();
        auto* cfg = &stored->config;
        if (byte_rate >= 0) cfg->producer_byte_rate = byte_rate;
        if (message_rate >= 0) cfg->producer_message_rate = message_rate;
        auto guard = etcd::compare::mod_revision_is(topic_key, etcd::compare::op::equal,
                                                    stored->mod_revision);
        auto rates = std::make_pair(cfg->producer_byte_rate, cfg->producer_message_rate);
        return fenced({guard}, {etcd::txn_op::put(topic_key, cfg->encode())},
                      make_error(errc::busy,
                                 "topic '" + name + "' changed while its quota was set; try again"))
            .then([name, rates](caf::error e) {
              if (!e) {
                broker_log().info(
                    "controller: topic {} produce quota {} bytes/s, {} messages/s per producer",
                    name, rates.first, rates.second);
              }
              return e;
            });
      });
}

std::vector<controller::internal_topic> controller::internal_topics(const cluster_config& c) {
  // The coordinators' state topics: created once, replicated like any topic.
  return {
      {group::offsets_topic, c.offsets_partitions},
      {txn::state_topic, c.txn_state_partitions},
      {delay::schedule_topic, c.delay_schedule_partitions},
  };
}

void controller::ensure_internal_topics() {
  auto& view = cp_.view();
  const auto& c = cp_.cluster_settings();
  auto live = static_cast<uint32_t>(view.live_brokers().size());
  if (live == 0) return;
  for (const auto& [topic, partitions] : internal_topics(c)) {
    if (creating_internal_.count(topic) || view.topics().count(topic)) continue;
    auto rf = std::min(c.internal_replication_factor, live);
    if (live < c.internal_replication_factor) {
      auto waited = cp_.timer().now() - office_since_;
      auto wait = c.internal_topic_wait_ms * kj::MILLISECONDS;
      if (waited < wait) {
        if (!internal_timer_) {
          internal_timer_ = true;
          auto t = cp_.timer().afterDelay(wait - waited).then([this]() {
            internal_timer_ = false;
            reconcile();
          });
          t.detach([this](kj::Exception&&) { internal_timer_ = false; });
        }
        return;
      }
      broker_log().warn(
          "controller: creating {} with {} replica(s): only {} broker(s) are live, fewer than "
          "internal_replication_factor {}",
          topic, rf, live, c.internal_replication_factor);
    }
    creating_internal_.insert(topic);
    auto done =
        create_topic(topic, offsets_topic_config(partitions, rf), true)
            .then([this, topic = topic](caf::error e) {
              creating_internal_.erase(topic);
              if (e && code_of(e) != errc::topic_exists) {
                broker_log().warn("controller: cannot create {}: {}; retrying", topic, text_of(e));
                return cp_.timer().afterDelay(500 * kj::MILLISECONDS).then([this]() {
                  reconcile();
                });
              }
              return kj::Promise<void>(kj::READY_NOW);
            });
    done.detach([this, topic = topic](kj::Exception&&) { creating_internal_.erase(topic); });
  }
}

void controller::reconcile() {
  if (!cp_.is_controller()) {
    in_office_ = false;
    return;
  }
  if (!in_office_) {
    in_office_ = true;
    office_since_ = cp_.timer().now();
  }
  ensure_internal_topics();
  if (reconciling_) {
    again_ = true;
    return;
  }
  reconciling_ = true;
  again_ = false;
  // The round is a task of nobody: it ends by itself (every etcd call is
  // bounded) and clears reconciling_.
  auto round = reconcile_round().then([this](bool retry) -> kj::Promise<void> {
    reconciling_ = false;
    if (again_) {
      reconcile();
    } else if (retry) {
      // etcd did not take the writes: try again a little later (a refused
      // connection fails at once, so no delay would spin).
      return cp_.timer().afterDelay(500 * kj::MILLISECONDS).then([this]() { reconcile(); });
    }
    return kj::READY_NOW;
  });
  round.detach([this](kj::Exception&& e) {
    reconciling_ = false;
    broker_log().error("controller: reconcile failed: {}", e.getDescription().cStr());
  });
}

std::vector<cluster::broker_id> controller::grow_internal(
    const std::string& topic, uint32_t partition, cluster::partition_state& next,
    const std::set<cluster::broker_id>& live) const {
  const auto& c = cp_.cluster_settings();
  auto internal = internal_topics(c);
  if (std::none_of(internal.begin(), internal.end(),
                   [&](const internal_topic& t) { return t.name == topic; })) {
    return {};
  }
  auto target = std::min<size_t>(c.internal_replication_factor, live.size());
  if (next.replicas.size() >= target) return {};
  auto grown = cluster::replica_assignor::grow(
      topic, partition, next.replicas, static_cast<uint32_t>(target),
      std::vector<cluster::broker_id>(live.begin(), live.end()));
  std::vector<cluster::broker_id> added(grown.begin() + next.replicas.size(), grown.end());
  next.replicas = std::move(grown);
  return added;
}

std::vector<controller::write_batch> controller::plan_round() const {
  auto& view = cp_.view();
  auto live = view.live_brokers();
  const auto target =
      std::min<size_t>(cp_.cluster_settings().internal_replication_factor, live.size());
  std::vector<write_batch> batches(1);
  for (auto& [key, state] : view.partitions()) {
    auto elected = cluster::leader_election::on_live_brokers(state, live);
    auto next = elected ? *elected : state;
    auto added = grow_internal(key.first, key.second, next, live);
    if (!elected && added.empty()) continue;
    if (elected) {
      broker_log().info("controller: {}-{} leader {} -> {} (epoch {}), isr [{}]", key.first,
                        key.second, state.leader, next.leader, next.leader_epoch,
                        fmt::join(next.isr, ","));
    }
    if (batches.back().ops.size() >= max_ops_per_txn) batches.emplace_back();
    auto& b = batches.back();
    if (!added.empty()) {
      b.grown.push_back(fmt::format("controller: {}-{} gets replica{} {} (now {} of {})", key.first,
                                    key.second, added.size() > 1 ? "s" : "", fmt::join(added, ","),
                                    next.replicas.size(), target));
    }
    // Each put compares the key's mod revision with the state it was
    // computed from: a leader's in-sync-set change written meanwhile is
    // never overwritten, nor is this write by the leader's (the loser
    // retries on its next round).
    auto pkey = view.keys().partition(key.first, key.second);
    b.compares.push_back(etcd::compare::mod_revision_is(pkey, etcd::compare::op::equal,
                                                        etcd::revision{state.revision}));
    b.ops.push_back(etcd::txn_op::put(pkey, next.encode()));
  }
  if (batches.back().ops.empty()) batches.pop_back();
  return batches;
}

kj::Promise<bool> controller::reconcile_round() {
  auto batches = plan_round();
  if (batches.empty()) return false;
  kj::Promise<caf::error> chain = caf::error{};
  for (auto& b : batches) {
    chain = chain.then([this, b = std::move(b)](caf::error e) mutable -> kj::Promise<caf::error> {
      if (e) return kj::mv(e);
      return fenced(std::move(b.compares), std::move(b.ops),
                    make_error(errc::stale_leader_epoch, "a partition state changed meanwhile"))
          .then([grown = std::move(b.grown)](caf::error written) {
            if (!written) {
              for (const auto& line : grown) broker_log().info("{}", line);
            }
            return written;
          });
    });
  }
  return chain.then([this](caf::error e) {
    if (!e) return false;
    auto code = code_of(e);
    // A state changed under the round: the watch brings it, and the next
    // round starts from it.
    if (code == errc::stale_leader_epoch) {
      broker_log().info("controller: a reconcile round raced a partition update; again");
      return cp_.is_controller();
    }
    broker_log().warn("controller: reconcile round not written: {}", text_of(e));
    return cp_.is_controller() && code == errc::cluster_unavailable;
  });
}

}  // namespace actormq::broker
