#include "cluster_router.h"

#include <charconv>

#include "connection_impl.h"

namespace actormq::client::detail {

namespace {
using steady = std::chrono::steady_clock;

peer_link link_from_rpc(rpc::PeerLink l) {
  switch (l) {
    case rpc::PeerLink::SELF:
      return peer_link::self;
    case rpc::PeerLink::UP:
      return peer_link::up;
    case rpc::PeerLink::CONNECTING:
      return peer_link::connecting;
    case rpc::PeerLink::DOWN:
      return peer_link::down;
    default:
      return peer_link::unknown;
  }
}
}  // namespace

leader_hint hint_from_rpc(rpc::Error::Reader e) {
  leader_hint h;
  h.id = e.getLeaderId();
  h.address = e.getLeaderAddress();
  return h;
}

cluster_metadata metadata_from_rpc(rpc::ClusterMetadata::Reader m) {
  cluster_metadata out;
  out.cluster_id = m.getClusterId();
  out.broker_id = m.getBrokerId();
  out.controller_id = m.getControllerId();
  out.control_plane_up = m.getControlPlaneUp();
  for (auto b : m.getBrokers()) {
    broker_node n;
    n.id = b.getId();
    n.address = b.getAddress();
    n.alive = b.getAlive();
    n.link = link_from_rpc(b.getLink());
    n.link_since_ms = b.getLinkSinceMs();
    n.link_error = b.getLinkError();
    out.brokers.push_back(std::move(n));
  }
  for (auto t : m.getTopics()) {
    topic_metadata tm;
    tm.name = t.getName();
    tm.err = error_from_rpc(t.getError());
    tm.replication_factor = t.getReplicationFactor();
    for (auto p : t.getPartitions()) {
      partition_metadata pm;
      pm.partition = p.getPartition();
      pm.leader = p.getLeader();
      pm.leader_epoch = p.getLeaderEpoch();
      for (auto r : p.getReplicas()) pm.replicas.push_back(r);
      for (auto r : p.getIsr()) pm.isr.push_back(r);
      tm.partitions.push_back(std::move(pm));
    }
    out.topics.push_back(std::move(tm));
  }
  return out;
}

cluster_router::cluster_router(connection_impl& conn)
    : conn_(conn),
      cache_(
          std::chrono::milliseconds(std::max<uint32_t>(conn.config().metadata_refresh_min_ms, 1))) {
}

result<cluster_metadata> cluster_router::fetch_metadata(const std::vector<std::string>& topics) {
  std::lock_guard rl(refresh_mu_);
  {
    std::lock_guard lk(mu_);
    cache_.note_attempt(steady::now());
  }
  auto* c = &conn_;
  auto r = conn_.call_sync<cluster_metadata>([topics, c](rpc::Broker::Client& b) {
    auto req = b.metadataRequest();
    auto list = req.initTopics(static_cast<unsigned>(topics.size()));
    for (unsigned i = 0; i < topics.size(); ++i) list.set(i, topics[i]);
    return req.send().then([c](auto&& resp) {
      auto m = metadata_from_rpc(resp.getMetadata());
      // The answering broker may advertise an address we cannot use as
      // given (e.g. 0.0.0.0): requests for it go where we reached it.
      if (auto* self = m.find_broker(m.broker_id)) {
        c->add_alias(self->address, c->bootstrap_address());
      }
      return m;
    });
  });
  if (!r) return r.err();
  std::lock_guard lk(mu_);
  cache_.update(*r, steady::now());
  return r;
}

result<void> cluster_router::refresh_locked(const std::vector<std::string>& topics) {
  auto r = fetch_metadata(topics);
  if (!r) return r.err();
  return {};
}

result<void> cluster_router::refresh(std::chrono::milliseconds max_age, bool force) {
  std::vector<std::string> topics;
  {
    std::lock_guard lk(mu_);
    auto now = steady::now();
    if (!cache_.refresh_allowed(now)) return {};
    if (!force && !cache_.refresh_due(now, max_age)) return {};
    topics = cache_.topics();
  }
  return refresh_locked(topics);
}

std::optional<uint32_t> cluster_router::cached_partition_count(const std::string& topic) {
  std::lock_guard lk(mu_);
  cache_.track(topic);
  auto n = cache_.partition_count(topic);
  if (!n || *n == 0) return std::nullopt;
  return n;
}

result<uint32_t> cluster_router::partition_count(const std::string& topic,
                                                 std::chrono::milliseconds max_age) {
  bool known = false;
  {
    std::lock_guard lk(mu_);
    cache_.track(topic);
    known = cache_.partition_count(topic).has_value();
  }
  // A topic not known to exist is asked about at once (it may have been
  // created since); a known one only when its data is due.
  auto r = known ? refresh(max_age) : refresh_locked({topic});
  std::lock_guard lk(mu_);
  if (auto n = cache_.partition_count(topic)) {
    // Keeps serving a stale count while the broker is away.
    if (*n == 0) return result<uint32_t>(errc::protocol_error, "topic has no partitions");
    return *n;
  }
  if (auto e = cache_.topic_error(topic)) return *e;
  if (!r) return r.err();
  return result<uint32_t>(errc::protocol_error, "no metadata for topic '" + topic + "'");
}

result<std::string> cluster_router::leader_address(const topic_partition& tp,
                                                   std::chrono::milliseconds max_age) {
  track(tp.topic);
  auto r = refresh(max_age);
  auto route_of = [&] {
    std::lock_guard lk(mu_);
    return cache_.leader_of(tp);
  };
  auto rt = route_of();
  // A partition past the cached count may have been added since (topic
  // alter): ask once before saying it does not exist.
  if (rt.st == partition_route::status::unknown ||
      rt.st == partition_route::status::unknown_partition) {
    if (auto f = fetch_metadata({tp.topic}); !f) return f.err();
    rt = route_of();
  }
  auto name = tp.topic + "-" + std::to_string(tp.partition);
  switch (rt.st) {
    case partition_route::status::leader:
      return rt.address;
    case partition_route::status::offline:
      return result<std::string>(errc::broker_unreachable, name + " has no leader now");
    case partition_route::status::unknown_topic:
      return rt.err;
    case partition_route::status::unknown_partition:
      return result<std::string>(errc::unknown_partition, "no partition " + name);
    case partition_route::status::unknown:
      break;
  }
  if (!r) return r.err();
  return result<std::string>(errc::protocol_error, "no leader known for " + name);
}

result<std::string> cluster_router::controller_address() {
  {
    std::lock_guard lk(mu_);
    if (auto c = cache_.controller()) return c->address;
  }
  auto r = fetch_metadata({});
  if (!r) return r.err();
  std::lock_guard lk(mu_);
  if (auto c = cache_.controller()) return c->address;
  return result<std::string>(errc::broker_unreachable, "the cluster has no controller now");
}

namespace {

/// Cache keys of transaction coordinators: never a group name (which cannot
/// hold a control character). Ids of one partition share their entry.
std::string txn_key(const std::string& group, const std::string& id) {
  if (id.empty()) return std::string("\x01t") + group;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(id.data(), id.data() + id.size(), v);
  if (ec != std::errc() || p != id.data() + id.size()) return std::string("\x01i") + id;
  return std::string("\x01p") + std::to_string(v >> 48);
}

}  // namespace

result<std::string> cluster_router::coordinator(const std::string& group) {
  return find_coordinator(group, group, false, {});
}

result<std::string> cluster_router::txn_coordinator(const std::string& group,
                                                    const std::string& id) {
  return find_coordinator(txn_key(group, id), group, true, id);
}

std::optional<std::string> cluster_router::cached_txn_coordinator(const std::string& group) const {
  std::lock_guard lk(mu_);
  if (auto it = coordinators_.find(txn_key(group, {})); it != coordinators_.end()) {
    return it->second;
  }
  return std::nullopt;
}

void cluster_router::forget_txn_coordinator(const std::string& group, const std::string& id) {
  std::lock_guard lk(mu_);
  coordinators_.erase(txn_key(group, id));
}

result<std::string> cluster_router::find_coordinator(const std::string& key,
                                                     const std::string& group, bool transaction,
                                                     const std::string& id) {
  {
    std::lock_guard lk(mu_);
    if (auto it = coordinators_.find(key); it != coordinators_.end()) return it->second;
  }
  using R = std::pair<std::string, error>;
  auto* c = &conn_;
  auto r = conn_.call_sync<R>([group, transaction, id, c](rpc::Broker::Client& b) {
    auto req = b.findCoordinatorRequest();
    req.setGroup(group);
    if (transaction) {
      req.setKind(rpc::CoordinatorKind::TRANSACTION);
      req.setTxnId(id);
    }
    return req.send().then([c](auto&& resp) {
      auto err = error_from_rpc(resp.getError());
      std::string address = resp.getAddress();
      // The bootstrap broker names itself: reuse its session.
      if (!err && address.empty()) address = c->bootstrap_address();
      return R{address, err};
    });
  });
  if (!r) return r.err();
  if (r->second) return r->second;
  std::lock_guard lk(mu_);
  coordinators_[key] = r->first;
  return r->first;
}

partition_route cluster_router::route(const topic_partition& tp) const {
  std::lock_guard lk(mu_);
  return cache_.leader_of(tp);
}

void cluster_router::track(const std::string& topic) {
  std::lock_guard lk(mu_);
  cache_.track(topic);
}

void cluster_router::apply_leader_hint(const topic_partition& tp, const leader_hint& h) {
  std::lock_guard lk(mu_);
  cache_.apply_leader_hint(tp, h.id, h.address);
}

void cluster_router::invalidate(const std::string& topic) {
  std::lock_guard lk(mu_);
  cache_.invalidate(topic);
}

void cluster_router::invalidate_all() {
  std::lock_guard lk(mu_);
  cache_.invalidate_all();
}

bool cluster_router::refresh_due(std::chrono::milliseconds max_age) const {
  std::lock_guard lk(mu_);
  return cache_.refresh_due(steady::now(), max_age);
}

void cluster_router::forget_coordinator(const std::string& group) {
  std::lock_guard lk(mu_);
  coordinators_.erase(group);
}

void cluster_router::apply_controller_hint(const leader_hint& h) {
  std::lock_guard lk(mu_);
  cache_.apply_controller_hint(h.id, h.address);
}

kj::Promise<rpc::Broker::Client> cluster_router::coordinator_client(const std::string& group) {
  {
    std::lock_guard lk(mu_);
    if (auto it = coordinators_.find(group); it != coordinators_.end()) {
      return conn_.broker_at(it->second);
    }
  }
  return conn_.broker().then([this, group](rpc::Broker::Client b) {
    auto req = b.findCoordinatorRequest();
    req.setGroup(group);
    return req.send().then([this, group](auto&& resp) -> kj::Promise<rpc::Broker::Client> {
      auto err = error_from_rpc(resp.getError());
      if (err) {
        return KJ_EXCEPTION(FAILED, "actormq: findCoordinator failed", err.to_string().c_str());
      }
      std::string address = resp.getAddress();
      if (address.empty()) address = conn_.bootstrap_address();
      {
        std::lock_guard lk(mu_);
        coordinators_[group] = address;
      }
      return conn_.broker_at(address);
    });
  });
}

}  // namespace actormq::client::detail
