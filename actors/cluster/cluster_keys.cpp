#include "actors/cluster/cluster_keys.h"

#include "actors/key_value_text.h"

namespace actormq::cluster {

cluster_keys::cluster_keys(std::string_view cluster_id)
    : root_("/actormq/" + std::string(cluster_id) + "/") {}

cluster_keys::parsed cluster_keys::parse(std::string_view key) const {
  parsed out;
  if (!key.starts_with(root_)) return out;
  key.remove_prefix(root_.size());
  auto take = [&key](std::string_view prefix) {
    if (!key.starts_with(prefix)) return false;
    key.remove_prefix(prefix.size());
    return true;
  };
  if (key == "controller") {
    out.what = parsed::kind::controller;
  } else if (take("brokers/")) {
    auto id = parse_int64(key);
    if (id && *id >= 0 && *id <= INT32_MAX) {
      out.what = parsed::kind::broker;
      out.broker = static_cast<broker_id>(*id);
    }
  } else if (take("topics/")) {
    if (!key.empty() && key.find('/') == std::string_view::npos) {
      out.what = parsed::kind::topic;
      out.topic = std::string(key);
    }
  } else if (take("partitions/")) {
    auto slash = key.find('/');
    if (slash != std::string_view::npos && slash > 0) {
      auto p = parse_int64(key.substr(slash + 1));
      if (p && *p >= 0 && *p <= UINT32_MAX) {
        out.what = parsed::kind::partition;
        out.topic = std::string(key.substr(0, slash));
        out.partition = static_cast<uint32_t>(*p);
      }
    }
  }
  return out;
}

}  // namespace actormq::cluster
