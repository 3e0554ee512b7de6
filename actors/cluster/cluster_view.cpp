#include "actors/cluster/cluster_view.h"

#include "actors/key_value_text.h"

namespace actormq::cluster {

cluster_view::change cluster_view::put(std::string_view key, std::string_view value,
                                       int64_t mod_revision) {
  auto k = keys_.parse(key);
  using kind = cluster_keys::parsed::kind;
  switch (k.what) {
    case kind::broker: {
      auto r = broker_registration::decode(value);
      if (!r || r->id != k.broker) break;
      brokers_[k.broker] = std::move(*r);
      return change::brokers;
    }
    case kind::controller: {
      auto id = parse_int64(value);
      if (!id || *id < 0 || *id > INT32_MAX) break;
      controller_ = static_cast<broker_id>(*id);
      return change::controller;
    }
    case kind::topic: {
      auto c = topic_config::decode(value);
      if (!c) break;
      topics_[k.topic] = *c;
      return change::topics;
    }
    case kind::partition: {
      auto s = partition_state::decode(value);
      if (!s) break;
      s->revision = mod_revision;
      partitions_[{k.topic, k.partition}] = std::move(*s);
      return change::partitions;
    }
    case kind::other:
      return change::none;
  }
  ++malformed_;
  return change::none;
}

cluster_view::change cluster_view::erase(std::string_view key) {
  auto k = keys_.parse(key);
  using kind = cluster_keys::parsed::kind;
  switch (k.what) {
    case kind::broker:
      return brokers_.erase(k.broker) ? change::brokers : change::none;
    case kind::controller:
      controller_ = no_broker;
      return change::controller;
    case kind::topic:
      return topics_.erase(k.topic) ? change::topics : change::none;
    case kind::partition:
      return partitions_.erase({k.topic, k.partition}) ? change::partitions : change::none;
    case kind::other:
      break;
  }
  return change::none;
}

void cluster_view::clear() {
  brokers_.clear();
  controller_ = no_broker;
  topics_.clear();
  partitions_.clear();
}

std::set<broker_id> cluster_view::live_brokers() const {
  std::set<broker_id> out;
  for (auto& [id, _] : brokers_) out.insert(id);
  return out;
}

const partition_state* cluster_view::partition(const std::string& topic, uint32_t p) const {
  auto it = partitions_.find({topic, p});
  return it == partitions_.end() ? nullptr : &it->second;
}

const broker_registration* cluster_view::broker(broker_id id) const {
  auto it = brokers_.find(id);
  return it == brokers_.end() ? nullptr : &it->second;
}

}  // namespace actormq::cluster
