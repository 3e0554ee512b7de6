#include "app/broker/cluster/replica_manager.h"

#include <fmt/format.h>

#include "actors/cluster/partition_state.h"
#include "actors/errc.h"
#include "app/broker/actor_call.h"
#include "app/broker/cluster/control_plane.h"
#include "app/broker/logger.h"

namespace actormq::broker {

namespace {
constexpr std::chrono::seconds registry_timeout{10};
constexpr auto sync_interval = 1 * kj::SECONDS;
}  // namespace

replica_manager::replica_manager(control_plane& cp, caf::actor_system& sys,
                                 topic_registry_actor registry, peers_actor peers, settings s)
    : cp_(cp), sys_(sys), registry_(std::move(registry)), peers_(std::move(peers)), settings_(s) {}

replica_manager::~replica_manager() {
  stop();
}

void replica_manager::stop() {
  for (auto& [k, r] : replicas_) stop_fetcher(r);
  replicas_.clear();
}

void replica_manager::stop_fetcher(replica& r) {
  if (r.fetcher) caf::anon_send_exit(r.fetcher, caf::exit_reason::user_shutdown);
  r.fetcher = nullptr;
}

kj::Promise<void> replica_manager::run() {
  return cp_.timer().afterDelay(sync_interval).then([this]() {
    sync();
    return run();
  });
}

void replica_manager::sync() {
  // One registry listing per round: it also tells which partition actors
  // were restarted (a new handle).
  if (listing_) return;
  listing_ = true;
  ask<std::vector<topic_handle>>(sys_, registry_, registry_timeout, list_atom::value)
      .then([this](caf::expected<std::vector<topic_handle>> handles) {
        listing_ = false;
        if (!handles) {
          broker_log().warn("replication: cannot list local topics: {}", text_of(handles.error()));
          return;
        }
        std::set<key> seen;
        for (auto& h : *handles) {
          if (!h.config.replicated) continue;
          apply(h.name, h);
          for (uint32_t p = 0; p < h.partitions.size(); ++p) seen.insert({h.name, p});
        }
        for (auto it = replicas_.begin(); it != replicas_.end();) {
          if (seen.count(it->first)) {
            ++it;
          } else {
            stop_fetcher(it->second);
            if (role_ && it->second.leading) {
              role_(it->first.first, it->first.second, 0, false, it->second.epoch,
                    it->second.actor);
            }
            it = replicas_.erase(it);
          }
        }
      })
      .detach([this](kj::Exception&& e) {
        listing_ = false;
        broker_log().error("replication: sync failed: {}", e.getDescription().cStr());
      });
}

void replica_manager::apply(const std::string& topic, const topic_handle& h) {
  for (uint32_t p = 0; p < h.partitions.size(); ++p) {
    auto& r = replicas_[{topic, p}];
    const bool was_leading = r.leading;
    const int32_t was_epoch = r.epoch;
    const partition_actor was_actor = r.actor;
    configure(topic, p, r, h.partitions[p]);
    if (role_ && (r.leading != was_leading ||
                  (r.leading && (r.epoch != was_epoch || r.actor != was_actor)))) {
      role_(topic, p, static_cast<uint32_t>(h.partitions.size()), r.leading, r.epoch, r.actor);
    }
  }
}

void replica_manager::configure(const std::string& topic, uint32_t p, replica& r,
                                const partition_actor& actor) {
  auto& view = cp_.view();
  const auto self = cp_.self();
  auto cfg_it = view.topics().find(topic);
  auto* s = view.partition(topic, p);
  const bool restarted = r.actor != actor;
  if (restarted) {
    auto fenced = r.fenced_revision;
    r = replica{};
    r.actor = actor;
    r.fenced_revision = fenced;
  }
  if (s == nullptr || !s->has_replica(self)) {
    // Not a replica here (or not in the view yet): offline, serves nothing.
    if (r.leading || r.fetcher || restarted) {
      stop_fetcher(r);
      r.leading = false;
      int32_t epoch = s ? s->leader_epoch : std::max(r.epoch, 0);
      caf::anon_send(r.actor, follow_atom::value, epoch, int32_t{-1});
      r.epoch = epoch;
      r.leader = -1;
    }
    return;
  }
  if (s->leader == self && s->revision <= r.fenced_revision) {
    // Led by this broker before its lease expired, per a state the
    // controller has replaced by now (the watch has not said so yet).
    return;
  }
  if (s->leader == self) {
    stop_fetcher(r);
    if (r.leading && r.epoch == s->leader_epoch && r.revision == s->revision) return;
    leadership l;
    l.self = self;
    l.leader_epoch = s->leader_epoch;
    l.replicas = s->replicas;
    l.isr = s->isr;
    l.revision = s->revision;
    l.replica_lag = settings_.replica_lag;
    l.min_insync_replicas = cfg_it != view.topics().end()
                                ? static_cast<int32_t>(cfg_it->second.effective_min_insync())
                                : 1;
    caf::anon_send(r.actor, lead_atom::value, l);
    r.leading = true;
    r.leader = self;
    r.epoch = s->leader_epoch;
    r.revision = s->revision;
    return;
  }
  // Following (or offline when there is no leader).
  if (!r.leading && r.leader == s->leader && r.epoch == s->leader_epoch &&
      (r.fetcher || s->leader < 0)) {
    return;
  }
  stop_fetcher(r);
  r.leading = false;
  r.leader = s->leader;
  r.epoch = s->leader_epoch;
  r.revision = s->revision;
  if (s->leader < 0) {
    caf::anon_send(r.actor, follow_atom::value, s->leader_epoch, int32_t{-1});
    return;
  }
  replica_fetcher_settings fs;
  fs.topic = topic;
  fs.partition = static_cast<int32_t>(p);
  fs.self = self;
  fs.leader = s->leader;
  fs.leader_epoch = s->leader_epoch;
  fs.local = r.actor;
  fs.peers = peers_;
  fs.max_bytes = settings_.fetch_max_bytes;
  fs.max_wait = settings_.fetch_wait;
  r.fetcher = spawn_replica_fetcher(sys_, fs);
  enlist(settings_.directory, r.fetcher, "fetcher/" + topic + "/" + std::to_string(p),
         "replica_fetcher");
}

void replica_manager::step_down_all() {
  size_t n = 0;
  for (auto& [k, r] : replicas_) {
    if (!r.leading) continue;
    caf::anon_send(r.actor, follow_atom::value, r.epoch, int32_t{-1});
    r.leading = false;
    r.leader = -1;
    r.fenced_revision = r.revision;
    ++n;
    if (role_) role_(k.first, k.second, 0, false, r.epoch, r.actor);
  }
  if (n > 0) {
    broker_log().warn("replication: this broker's lease expired; stepped down from {} partitions",
                      n);
  }
}

kj::Promise<caf::expected<int64_t>> replica_manager::write_isr(isr_change change) {
  auto& view = cp_.view();
  auto* s = view.partition(change.topic, change.partition);
  const auto self = cp_.self();
  if (s == nullptr || s->leader != self || s->leader_epoch != change.leader_epoch ||
      s->revision != change.revision) {
    return caf::expected<int64_t>(make_error(
        errc::stale_leader_epoch,
        fmt::format("{}-{}: the partition's state changed (this broker's view: leader {}, epoch "
                    "{}, revision {})",
                    change.topic, change.partition, s ? s->leader : -1, s ? s->leader_epoch : -1,
                    s ? s->revision : -1)));
  }
  if (!cp_.up()) {
    return caf::expected<int64_t>(
        make_error(errc::cluster_unavailable, "the control plane (etcd) is unreachable"));
  }
  auto next = *s;
  next.isr = change.isr;
  auto key = view.keys().partition(change.topic, change.partition);
  std::vector<etcd::compare> compares{
      etcd::compare::mod_revision_is(key, etcd::compare::op::equal, etcd::revision{s->revision})};
  return cp_.etcd()
      .txn(std::move(compares), {etcd::txn_op::put(key, next.encode())}, {})
      .then([change](etcd::result<etcd::txn_result> r) -> caf::expected<int64_t> {
        if (!r) return make_error(errc::cluster_unavailable, "etcd: " + r.err().to_string());
        if (!r->succeeded) {
          return make_error(errc::stale_leader_epoch,
                            fmt::format("{}-{}: the partition's state changed in etcd",
                                        change.topic, change.partition));
        }
        return r->header_revision.value();
      });
}

}  // namespace actormq::broker
