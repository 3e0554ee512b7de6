#include "actors/cluster/peers_state.h"

#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>

#include <set>

#include "actors/logger.h"

namespace actormq {

namespace {

peer_table::time_point now() {
  return peer_table::clock::now();
}

int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ms_text(caf::timespan t) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t).count()) + " ms";
}

}  // namespace

caf::error broker_unavailable(int32_t broker_id, const std::string& why) {
  return make_error(errc::shutting_down,
                    "broker " + std::to_string(broker_id) + " unavailable: " + why);
}

void peers_state::init(self_ptr self, peers_settings settings) {
  self_ = self;
  settings_ = std::move(settings);
  table_.emplace(settings_.broker_id, settings_.backoff);
}

void peers_state::set_peers(const std::vector<peer_address>& peers) {
  auto changes = table_->set_desired(peers, now());
  for (auto id : changes.forget) forget(id);
  for (const auto& a : changes.start) connect(a);
  if (!changes.forget.empty() || !changes.start.empty()) {
    actor_log().info("peers of {}: {} peers, {} new or moved, {} removed or moved",
                     settings_.broker_id, table_->snapshot(now(), 0).size(), changes.start.size(),
                     changes.forget.size());
  }
}

std::vector<peer_status> peers_state::status() const {
  return table_->snapshot(now(), wall_now_ms());
}

caf::result<node_actor> peers_state::node_of(int32_t broker_id) const {
  return up_node(broker_id);
}

caf::result<std::vector<partition_stats>> peers_state::stats_from(int32_t broker_id,
                                                                  std::vector<topic_partition> tps,
                                                                  caf::timespan timeout) {
  auto node = up_node(broker_id);
  if (!node) return std::move(node.error());
  auto rp = self_->make_response_promise<std::vector<partition_stats>>();
  self_->request(*node, timeout, partition_stats_atom::value, std::move(tps))
      .then([rp](std::vector<partition_stats>& xs) mutable { rp.deliver(std::move(xs)); },
            [rp, broker_id, timeout](caf::error& err) mutable {
              if (err == caf::sec::request_timeout) {
                rp.deliver(make_error(errc::timeout, "broker " + std::to_string(broker_id) +
                                                         " did not answer partition_stats within " +
                                                         ms_text(timeout)));
              } else if (err == caf::sec::request_receiver_down) {
                rp.deliver(broker_unavailable(broker_id, "connection lost"));
              } else {
                rp.deliver(std::move(err));
              }
            });
  return rp;
}

void peers_state::on_retry(int32_t broker_id, uint64_t token) {
  if (auto a = table_->retry_due(broker_id, token)) connect(*a);
}

void peers_state::on_down(const caf::down_msg& dm) {
  for (auto i = nodes_.begin(); i != nodes_.end(); ++i) {
    if (i->second.address() != dm.source) continue;
    auto id = i->first;
    nodes_.erase(i);
    auto why = self_->system().render(dm.reason);
    actor_log().warn("peers of {}: broker {} lost ({})", settings_.broker_id, id, why);
    if (auto r = table_->connection_lost(id, "connection lost: " + why, now())) arm(*r);
    return;
  }
}

void peers_state::connect(peer_table::attempt a) {
  auto address = table_->address_of(a.broker_id);
  if (!address) return;
  // The middleman actor does what remote_actor() does, but answers as a
  // message: the handshake never blocks this actor's thread. A late answer
  // after the timeout is dropped by CAF; its token would be stale anyway.
  auto mm = self_->system().middleman().actor_handle();
  self_
      ->request(mm, settings_.connect_timeout, caf::connect_atom::value, address->host,
                address->port)
      .then(
          [this, a](const caf::node_id&, caf::strong_actor_ptr& ptr,
                    const std::set<std::string>& ifs) {
            if (!ptr) return attempt_failed(a, "no actor published at the cluster port");
            if (!self_->system().assignable<node_actor>(ifs)) {
              return attempt_failed(a,
                                    "the published actor is not a NODE actor of this build "
                                    "(different message types announced)");
            }
            check_identity(a, caf::actor_cast<node_actor>(std::move(ptr)));
          },
          [this, a](caf::error& err) {
            // cannot_connect_to_node: the middleman's TCP connect failed at
            // once (refused; a timeout is request_timeout).
            attempt_failed(a, "connect: " + self_->system().render(err),
                           err == caf::sec::cannot_connect_to_node);
          });
}

void peers_state::check_identity(peer_table::attempt a, node_actor node) {
  self_->request(node, settings_.connect_timeout, node_info_atom::value)
      .then(
          [this, a, node](const node_info& info) {
            if (info.cluster_id != settings_.cluster_id) {
              return attempt_failed(a, "belongs to cluster '" + info.cluster_id + "'");
            }
            if (info.broker_id != a.broker_id) {
              return attempt_failed(a, "is broker " + std::to_string(info.broker_id));
            }
            auto before = table_->incarnation_of(a.broker_id);
            if (!table_->attempt_succeeded(a.broker_id, a.token, info.incarnation, now())) return;
            self_->monitor(node);
            nodes_[a.broker_id] = node;
            actor_log().info("peers of {}: broker {} up, incarnation {:016x}{}",
                             settings_.broker_id, a.broker_id, info.incarnation,
                             before != 0 && before != info.incarnation ? " (restarted)" : "");
          },
          [this, a](caf::error& err) {
            attempt_failed(a, "node_info: " + self_->system().render(err));
          });
}

void peers_state::attempt_failed(peer_table::attempt a, std::string why, bool refused) {
  auto was = table_->state_of(a.broker_id);
  auto r = table_->attempt_failed(a.broker_id, a.token, why, now(), refused);
  if (!r) return;
  if (r->gone_incarnation != 0) {
    actor_log().warn(
        "peers of {}: broker {} (incarnation {:016x}) is gone: its connection closed and its "
        "cluster port refuses connections",
        settings_.broker_id, a.broker_id, r->gone_incarnation);
    if (settings_.on_gone) settings_.on_gone(a.broker_id, r->gone_incarnation);
  }
  // One warning when a peer goes down; retries that fail again are debug.
  auto level = was == peer_state::down ? spdlog::level::debug : spdlog::level::warn;
  actor_log().log(level, "peers of {}: broker {} unreachable ({}), retry in {} ms",
                  settings_.broker_id, a.broker_id, why, r->delay.count());
  arm(*r);
}

void peers_state::arm(const peer_table::retry& r) {
  self_->delayed_send(self_, r.delay, retry_atom::value, r.broker_id, r.token);
}

void peers_state::forget(int32_t broker_id) {
  auto i = nodes_.find(broker_id);
  if (i == nodes_.end()) return;
  self_->demonitor(i->second.address());
  nodes_.erase(i);
}

caf::expected<node_actor> peers_state::up_node(int32_t broker_id) const {
  auto state = table_->state_of(broker_id);
  if (!state) {
    return make_error(errc::invalid_request,
                      "broker " + std::to_string(broker_id) + " is not a peer");
  }
  auto i = nodes_.find(broker_id);
  if (i == nodes_.end()) {
    auto s = table_->snapshot(now(), wall_now_ms());
    std::string why = to_string(*state);
    for (const auto& p : s) {
      if (p.broker_id == broker_id && !p.last_error.empty()) why += ": " + p.last_error;
    }
    return broker_unavailable(broker_id, why);
  }
  return i->second;
}

}  // namespace actormq
