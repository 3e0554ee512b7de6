#include "actors/group/group_actor_state.h"

#include <fmt/format.h>

#include "actors/errc.h"
#include "actors/group/lag.h"
#include "actors/logger.h"
#include "storage/record_batch_builder.h"

namespace actormq {

namespace {
/// Bound of one commit's write (acks=all waits for the in-sync replicas).
constexpr auto commit_timeout = std::chrono::seconds(10);
/// Longest metadata string a commit may carry.
constexpr size_t max_metadata_bytes = 4096;
}  // namespace

caf::error from_group(std::error_code ec, const std::string& what) {
  std::string text = what + ": " + ec.message();
  if (ec.category() == group::error_category()) {
    switch (static_cast<group::errc>(ec.value())) {
      case group::errc::unknown_member:
        return make_error(errc::unknown_member, text);
      case group::errc::stale_generation:
        return make_error(errc::stale_generation, text);
      default:
        return make_error(errc::invalid_request, text);
    }
  }
  return from_storage(ec, what);
}

int64_t group_actor_state::now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

caf::error group_actor_state::init(self_ptr self, std::string group, group_seed seed,
                                   const coordinator_settings& cs) {
  self_ = self;
  group_ = std::move(group);
  registry_ = cs.registry;
  cluster_topics_ = cs.cluster_topics;
  leaders_ = cs.leaders;
  peers_ = cs.peers;
  broker_id_ = cs.broker_id;
  config_.group_id = group_;
  config_.min_session_timeout_ms = cs.min_session_timeout_ms;
  config_.max_session_timeout_ms = cs.max_session_timeout_ms;
  config_.member_id_salt =
      std::to_string(caf::make_timestamp().time_since_epoch().count() / 1000000);
  offsets_ = std::move(seed.offsets);
  log_ = std::move(seed.log);
  acks_ = seed.acks;
  lag_watch_ = group::lag_watch(cs.lag_alerts.for_group(group_));
  lag_check_ticks_ =
      static_cast<int>(std::max<int64_t>(1, cs.lag_alerts.check_interval / group_tick));
  alerts_ = cs.alerts;
  return reset_membership(config_.protocol);
}

caf::error group_actor_state::reset_membership(const std::string& protocol) {
  auto cfg = config_;
  cfg.protocol = protocol;
  auto m = group::group_membership::create(cfg, topics_);
  if (!m) return from_group(m.error(), "strategy " + protocol);
  config_ = cfg;
  membership_.emplace(std::move(*m));
  return {};
}

void group_actor_state::apply_metadata(group::topic_metadata meta) {
  if (meta == topics_) return;
  topics_ = std::move(meta);
  if (membership_->update_topics(topics_)) {
    actor_log().info("{}: partition counts changed; generation {}", who(),
                     membership_->generation()());
  }
}

void group_actor_state::with_metadata(std::function<void()> k) {
  if (cluster_topics_) {
    // The cluster's topics, wherever their partitions live.
    if (auto counts = cluster_topics_->get()) apply_metadata(std::move(*counts));
    k();
    return;
  }
  self_->request(registry_, std::chrono::seconds(10), list_atom::value)
      .then(
          [this, k](std::vector<topic_handle>& hs) {
            group::topic_metadata meta;
            for (const auto& h : hs) meta[h.name] = static_cast<int32_t>(h.partitions.size());
            apply_metadata(std::move(meta));
            k();
          },
          [this, k](caf::error& e) {
            actor_log().warn("{}: topic metadata unavailable: {}", who(), text_of(e));
            k();
          });
}

caf::result<group::join_result> group_actor_state::join(group::join_request req,
                                                        const std::string& strategy) {
  if (deleting_) return deleting_error();
  auto rp = self_->make_response_promise<group::join_result>();
  with_metadata([this, rp, req = std::move(req), strategy]() mutable {
    if (deleting_) {
      rp.deliver(deleting_error());
      return;
    }
    if (membership_->empty() && !strategy.empty() && strategy != config_.protocol) {
      if (auto err = reset_membership(strategy)) {
        rp.deliver(err);
        return;
      }
    }
    auto r = membership_->join(std::move(req), now_ms());
    if (!r) {
      rp.deliver(from_group(r.error(), who() + ": join"));
      return;
    }
    actor_log().info("{}: member {} joined; generation {}", who(), r->id,
                     r->assignment.generation());
    rp.deliver(std::move(*r));
  });
  return rp;
}

caf::result<group::heartbeat_result> group_actor_state::heartbeat(const std::string& member,
                                                                  int32_t generation) {
  auto r = membership_->heartbeat(member, group::generation_id(generation), now_ms());
  if (!r) return from_group(r.error(), who() + ": heartbeat");
  return std::move(*r);
}

caf::result<bool> group_actor_state::leave(const std::string& member) {
  if (auto st = membership_->leave(member); !st) return from_group(st.error(), who() + ": leave");
  actor_log().info("{}: member {} left; generation {}", who(), member, membership_->generation()());
  return true;
}

caf::result<bool> group_actor_state::commit(const std::string& member, int32_t generation,
                                            const std::vector<committed_offset>& offsets) {
  // A standalone commit (no member id, generation -1: an admin tool, the
  // RETRY actor's re-drive cursor) is taken only while the group has no
  // members, as Kafka does.
  const bool standalone = member.empty() && generation < 0;
  if (deleting_) return deleting_error();
  std::vector<group::topic_partition> owned;
  if (standalone) {
    if (!membership_->empty()) {
      return make_error(errc::unknown_member,
                        who() + ": the group has members; only they commit its offsets");
    }
  } else {
    if (auto st = membership_->authorize_commit(member, group::generation_id(generation)); !st) {
      return from_group(st.error(), who() + ": commit");
    }
    auto a = membership_->assignment(member);
    if (!a) return from_group(a.error(), who() + ": commit");
    owned = *a;
  }
  storage::record_batch_builder batch;
  auto now = storage::system_now();
  std::vector<std::pair<std::pair<std::string, int32_t>, group::offset_value>> applied;
  for (const auto& o : offsets) {
    group::topic_partition tp{o.topic, o.partition};
    if (!standalone && !std::binary_search(owned.begin(), owned.end(), tp)) {
      return make_error(errc::not_assigned, fmt::format("{}: {}-{} is not assigned to member {}",
                                                        who(), o.topic, o.partition, member));
    }
    if (o.offset < 0 || o.metadata.size() > max_metadata_bytes) {
      return make_error(errc::invalid_request,
                        fmt::format("{}: {}-{}: offset {} or metadata of {} bytes out of range",
                                    who(), o.topic, o.partition, o.offset, o.metadata.size()));
    }
    group::offset_value v{o.offset, now.value(), o.metadata};
    group::add_offset_record(batch, {group_, o.topic, o.partition}, v, now);
    applied.push_back({{o.topic, o.partition}, std::move(v)});
  }
  if (batch.empty()) return true;
  for (const auto& [k, v] : applied) pending_[k] = v;
  auto settle = [this](const decltype(applied)& done) {
    for (const auto& [k, v] : done) {
      if (auto it = pending_.find(k); it != pending_.end() && it->second == v) pending_.erase(it);
    }
  };
  // Visible to fetchOffsets once the state partition acknowledged it.
  auto rp = self_->make_response_promise<bool>();
  self_
      ->request(log_, commit_timeout, produce_atom::value,
                produce_request{std::make_shared<std::string>(batch.build()), acks_})
      .then(
          [this, rp, applied, settle](produce_reply&) mutable {
            settle(applied);
            for (auto& [k, v] : applied) offsets_[k] = std::move(v);
            rp.deliver(true);
          },
          [this, rp, applied, settle](caf::error& e) mutable {
            settle(applied);
            rp.deliver(state_write_error(std::move(e)));
          });
  return rp;
}

caf::error group_actor_state::state_write_error(caf::error e) const {
  if (code_of(e) != errc::not_leader) return e;
  return make_error(errc::not_coordinator,
                    who() + ": this broker no longer leads the group's state");
}

group_actor_state::offsets_map group_actor_state::live_offsets() const {
  auto live = offsets_;
  for (const auto& [k, v] : pending_) live[k] = v;
  return live;
}

caf::error group_actor_state::deleting_error() const {
  return make_error(errc::not_coordinator, who() + " is being deleted; ask again");
}

caf::result<bool> group_actor_state::remove() {
  if (deleting_) return make_error(errc::invalid_request, who() + " is being deleted already");
  if (!membership_->empty()) {
    return make_error(errc::group_not_empty,
                      fmt::format("{} has {} live member(s); stop its consumers first", who(),
                                  membership_->size()));
  }
  // Every key with a durable or an in-flight commit gets a tombstone.
  auto keys = live_offsets();
  if (keys.empty()) {
    self_->quit();
    return make_error(errc::unknown_group,
                      who() + " has neither members nor committed offsets: nothing to delete");
  }
  storage::record_batch_builder batch;
  auto now = storage::system_now();
  for (const auto& [key, value] : keys) {
    const auto& [topic, partition] = key;
    batch.add(group::encode_offset_key({group_, topic, partition}), std::nullopt, now);
  }
  deleting_ = true;
  auto rp = self_->make_response_promise<bool>();
  self_
      ->request(log_, commit_timeout, produce_atom::value,
                produce_request{std::make_shared<std::string>(batch.build()), acks_})
      .then(
          [this, rp, n = keys.size()](produce_reply&) mutable {
            actor_log().info("{}: deleted ({} committed offsets forgotten)", who(), n);
            offsets_.clear();
            pending_.clear();
            rp.deliver(true);
            self_->quit();
          },
          [this, rp](caf::error& e) mutable {
            // Not deleted: the tombstones may or may not be stored, and a
            // retry writes them again. The group serves on meanwhile.
            deleting_ = false;
            rp.deliver(state_write_error(std::move(e)));
          });
  return rp;
}

std::vector<committed_offset> group_actor_state::committed(
    const std::vector<group::topic_partition>& tps) const {
  std::vector<committed_offset> out;
  for (const auto& tp : tps) {
    auto it = offsets_.find({tp.topic, tp.partition});
    if (it == offsets_.end()) {
      out.push_back({tp.topic, tp.partition, -1, ""});
    } else {
      out.push_back({tp.topic, tp.partition, it->second.offset, it->second.metadata});
    }
  }
  return out;
}

caf::result<group_info> group_actor_state::describe() {
  auto rp = self_->make_response_promise<group_info>();
  auto info = std::make_shared<group_info>();
  info->membership = membership_->describe();
  // Partitions of interest: subscribed topics and committed ones.
  std::set<std::string> topics;
  for (const auto& m : info->membership.members) topics.insert(m.topics.begin(), m.topics.end());
  for (const auto& [k, v] : offsets_) topics.insert(k.first);
  auto owner = std::make_shared<std::map<group::topic_partition, std::string>>();
  for (const auto& m : info->membership.members) {
    for (const auto& tp : m.assigned) (*owner)[tp] = m.id;
  }
  auto answer = [this, rp, info, owner](std::vector<group::topic_partition> tps,
                                        std::function<void(offsets_fn)> ask) mutable {
    info->partitions.resize(tps.size());
    if (tps.empty()) return rp.deliver(std::move(*info)), void();
    auto pending = std::make_shared<size_t>(tps.size());
    auto all = std::make_shared<std::vector<group::topic_partition>>(std::move(tps));
    ask([this, rp, info, owner, pending, all](size_t i, int64_t start, int64_t hw) mutable {
      const auto& tp = (*all)[i];
      std::optional<storage::offset> committed;
      if (auto it = offsets_.find({tp.topic, tp.partition}); it != offsets_.end()) {
        committed = storage::offset(it->second.offset);
      }
      auto lag = group::compute_lag(tp, committed, storage::offset(start), storage::offset(hw));
      auto o = owner->find(tp);
      info->partitions[i] = {tp.topic, tp.partition, committed ? (*committed)() : -1,
                             hw,       lag.lag,      o == owner->end() ? std::string{} : o->second};
      if (--*pending == 0) rp.deliver(std::move(*info));
    });
  };
  if (!cluster_topics_ || !leaders_) {
    // Alone: every partition is here.
    self_->request(registry_, std::chrono::seconds(10), list_atom::value)
        .then(
            [this, topics, answer](std::vector<topic_handle>& hs) mutable {
              std::vector<group::topic_partition> tps;
              for (const auto& h : hs) {
                if (!topics.count(h.name)) continue;
                for (size_t p = 0; p < h.partitions.size(); ++p) {
                  tps.push_back({h.name, static_cast<int32_t>(p)});
                }
              }
              answer(tps, [this, tps](offsets_fn k) { offsets_of(tps, {}, k); });
            },
            [rp](caf::error& e) mutable { rp.deliver(e); });
    return rp;
  }
  // In a cluster: each partition's offsets from its leader, wherever it is.
  std::vector<group::topic_partition> tps;
  auto counts = cluster_topics_->get().value_or(group::topic_metadata{});
  for (const auto& t : topics) {
    auto it = counts.find(t);
    if (it == counts.end()) continue;
    for (int32_t p = 0; p < it->second; ++p) tps.push_back({t, p});
  }
  answer(tps, [this, tps](offsets_fn k) { offsets_of(tps, {}, k); });
  return rp;
}

void group_actor_state::offsets_of(const std::vector<group::topic_partition>& tps,
                                   const offsets_round& round, offsets_fn k) {
  if (!cluster_topics_ || !leaders_) {
    // Alone: every partition is here.
    std::vector<size_t> which(tps.size());
    for (size_t i = 0; i < which.size(); ++i) which[i] = i;
    offsets_here(tps, which, round, std::move(k));
    return;
  }
  std::map<int32_t, std::vector<size_t>> by_leader;
  for (size_t i = 0; i < tps.size(); ++i) {
    by_leader[leaders_->leader(tps[i].topic, static_cast<uint32_t>(tps[i].partition))].push_back(i);
  }
  for (const auto& [leader, which] : by_leader) {
    if (leader == broker_id_) {
      offsets_here(tps, which, round, k);
    } else if (leader == cluster::no_broker) {
      for (auto i : which) k(i, 0, -1);  // offline: no high watermark to compare
    } else {
      offsets_at(leader, tps, which, round, k);
    }
  }
}

void group_actor_state::offsets_here(const std::vector<group::topic_partition>& tps,
                                     const std::vector<size_t>& which, const offsets_round& round,
                                     offsets_fn k) {
  const auto failed = round.failed_here_hw;
  for (auto i : which) {
    auto tp = tps[i];
    self_->request(registry_, round.timeout, lookup_atom::value, tp.topic)
        .then(
            [this, tp, i, k, failed, timeout = round.timeout](topic_handle& h) {
              if (tp.partition < 0 || static_cast<size_t>(tp.partition) >= h.partitions.size()) {
                return k(i, 0, failed);
              }
              self_
                  ->request(h.partitions[static_cast<size_t>(tp.partition)], timeout,
                            offsets_atom::value)
                  .then(
                      [i, k](partition_offsets& o) { k(i, o.log_start_offset, o.high_watermark); },
                      [i, k, failed](caf::error&) { k(i, 0, failed); });
            },
            [i, k, failed](caf::error&) { k(i, 0, failed); });
  }
}

void group_actor_state::offsets_at(int32_t broker, const std::vector<group::topic_partition>& tps,
                                   const std::vector<size_t>& which, const offsets_round& round,
                                   offsets_fn k) {
  std::vector<topic_partition> ask;
  for (auto i : which) ask.push_back(tps[i]);
  self_->request(peers_, round.timeout, partition_stats_atom::value, broker, ask, round.peer_wait)
      .then(
          [which, k](std::vector<partition_stats>& st) {
            for (size_t j = 0; j < which.size(); ++j) {
              if (j < st.size() && st[j].error == errc::none) {
                k(which[j], st[j].log_start_offset, st[j].high_watermark);
              } else {
                k(which[j], 0, -1);
              }
            }
          },
          [which, k](caf::error&) {
            for (auto i : which) k(i, 0, -1);  // its broker is down or slow
          });
}

caf::result<produce_reply> group_actor_state::snapshot() {
  // Rewritten after the tombstones in flight, the offsets would come back;
  // the coordinator abandons this compaction and tries again later.
  if (deleting_) return make_error(errc::busy, who() + " is being deleted");
  auto live = live_offsets();
  if (live.empty()) return produce_reply{};
  storage::record_batch_builder batch;
  auto now = storage::system_now();
  for (const auto& [k, v] : live) {
    group::add_offset_record(batch, {group_, k.first, k.second}, v, now);
  }
  auto rp = self_->make_response_promise<produce_reply>();
  self_
      ->request(log_, commit_timeout, produce_atom::value,
                produce_request{std::make_shared<std::string>(batch.build()), acks_})
      .then([rp](produce_reply& r) mutable { rp.deliver(r); },
            [rp](caf::error& e) mutable { rp.deliver(e); });
  return rp;
}

void group_actor_state::tick() {
  auto gone = membership_->expire(now_ms());
  for (const auto& id : gone) {
    actor_log().info(
        "{}: member {} expired (no heartbeat within its session timeout); "
        "generation {}",
        who(), id, membership_->generation()());
  }
  // Partition counts every 5 s; every 500 ms while a member waits for a
  // topic this broker does not know yet (just created elsewhere, say).
  ++ticks_;
  // The lag check runs for a group without members too: a group whose
  // consumers are all gone is the one falling behind.
  if (lag_watch_.thresholds().enabled() && ticks_ % lag_check_ticks_ == 0) check_lag();
  if (membership_->empty()) return;
  if (ticks_ % 20 == 0 || (ticks_ % 2 == 0 && membership_->has_unknown_topics())) {
    with_metadata([] {});
  }
}

}  // namespace actormq
