#include "cluster_metadata_cache.h"

#include <algorithm>

namespace actormq::client::detail {

void cluster_metadata_cache::update(const cluster_metadata& m, clock::time_point now) {
  cluster_.cluster_id = m.cluster_id;
  cluster_.broker_id = m.broker_id;
  cluster_.controller_id = m.controller_id;
  cluster_.control_plane_up = m.control_plane_up;
  cluster_.brokers = m.brokers;
  have_cluster_ = true;
  all_stale_ = false;
  fetched_ = now;
  for (const auto& t : m.topics) {
    auto& e = topics_[t.name];
    e.stale = false;
    e.fetched = now;
    if (t.err) {
      e.md.reset();
      e.missing = t.err;
      continue;
    }
    e.missing = {};
    if (!e.md) {
      e.md = t;
      continue;
    }
    // Keep a partition's newer view (higher epoch, or a hint taken since).
    std::map<uint32_t, partition_metadata> old;
    for (auto& p : e.md->partitions) old[p.partition] = std::move(p);
    e.md = t;
    for (auto& p : e.md->partitions) {
      auto it = old.find(p.partition);
      if (it != old.end() && it->second.leader_epoch > p.leader_epoch) p = it->second;
    }
  }
}

partition_route cluster_metadata_cache::leader_of(const topic_partition& tp) const {
  partition_route r;
  auto it = topics_.find(tp.topic);
  if (it == topics_.end()) return r;
  const auto& e = it->second;
  if (!e.md) {
    if (e.missing) {
      r.st = partition_route::status::unknown_topic;
      r.err = e.missing;
    }
    return r;
  }
  auto p =
      std::find_if(e.md->partitions.begin(), e.md->partitions.end(),
                   [&tp](const partition_metadata& pm) { return pm.partition == tp.partition; });
  if (p == e.md->partitions.end()) {
    r.st = partition_route::status::unknown_partition;
    return r;
  }
  r.leader = p->leader;
  r.leader_epoch = p->leader_epoch;
  if (p->leader < 0) {
    r.st = partition_route::status::offline;
    return r;
  }
  auto addr = address_of(p->leader);
  if (!addr) {
    // A leader we have no address for: ask again.
    r.st = partition_route::status::unknown;
    return r;
  }
  r.st = partition_route::status::leader;
  r.address = *addr;
  return r;
}

std::optional<uint32_t> cluster_metadata_cache::partition_count(const std::string& topic) const {
  auto it = topics_.find(topic);
  if (it == topics_.end() || !it->second.md) return std::nullopt;
  return static_cast<uint32_t>(it->second.md->partitions.size());
}

std::optional<error> cluster_metadata_cache::topic_error(const std::string& topic) const {
  auto it = topics_.find(topic);
  if (it == topics_.end() || !it->second.missing) return std::nullopt;
  return it->second.missing;
}

std::optional<broker_node> cluster_metadata_cache::controller() const {
  if (!have_cluster_ || cluster_.controller_id < 0) return std::nullopt;
  if (auto* b = cluster_.find_broker(cluster_.controller_id); b && !b->address.empty()) return *b;
  return std::nullopt;
}

std::optional<std::string> cluster_metadata_cache::address_of(int32_t broker_id) const {
  if (auto* b = cluster_.find_broker(broker_id); b && !b->address.empty()) return b->address;
  return std::nullopt;
}

void cluster_metadata_cache::apply_leader_hint(const topic_partition& tp, int32_t leader_id,
                                               const std::string& address) {
  auto& e = topics_[tp.topic];
  e.stale = true;
  if (leader_id < 0 || !e.md) return;
  if (address.empty() && !address_of(leader_id)) return;
  if (!address.empty()) set_broker_address(leader_id, address);
  for (auto& p : e.md->partitions) {
    if (p.partition == tp.partition) p.leader = leader_id;
  }
}

void cluster_metadata_cache::apply_controller_hint(int32_t leader_id, const std::string& address) {
  if (leader_id < 0 || (address.empty() && !address_of(leader_id))) {
    all_stale_ = true;
    return;
  }
  if (!address.empty()) set_broker_address(leader_id, address);
  cluster_.controller_id = leader_id;
}

void cluster_metadata_cache::set_broker_address(int32_t id, const std::string& address) {
  auto known = std::find_if(cluster_.brokers.begin(), cluster_.brokers.end(),
                            [id](const broker_node& b) { return b.id == id; });
  if (known != cluster_.brokers.end()) {
    known->address = address;
  } else {
    broker_node b;
    b.id = id;
    b.address = address;
    b.alive = true;
    cluster_.brokers.push_back(std::move(b));
  }
}

void cluster_metadata_cache::invalidate(const std::string& topic) {
  topics_[topic].stale = true;
}

void cluster_metadata_cache::track(const std::string& topic) {
  topics_.try_emplace(topic);
}

bool cluster_metadata_cache::refresh_allowed(clock::time_point now) const {
  return !last_attempt_ || now - *last_attempt_ >= min_refresh_interval_;
}

bool cluster_metadata_cache::refresh_due(clock::time_point now,
                                         std::chrono::milliseconds max_age) const {
  if (!refresh_allowed(now)) return false;
  if (!have_cluster_ || all_stale_ || now - fetched_ >= max_age) return true;
  return std::any_of(topics_.begin(), topics_.end(), [&](const auto& kv) {
    return kv.second.stale || now - kv.second.fetched >= max_age;
  });
}

std::vector<std::string> cluster_metadata_cache::topics() const {
  std::vector<std::string> out;
  out.reserve(topics_.size());
  for (const auto& [name, _] : topics_) out.push_back(name);
  return out;
}

}  // namespace actormq::client::detail
