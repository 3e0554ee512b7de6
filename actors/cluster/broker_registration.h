#pragma once
// What a live broker publishes about itself in etcd, under its lease, as the
// value of <root>/brokers/<id> (docs/cluster.md, "Keys in etcd"). Stored in
// the "key = value" text format (actors/key_value_text.h):
//
//   id = 2
//   rpc = 127.0.0.1:9293          clients connect here (Cap'n Proto)
//   cluster = 127.0.0.1:9393      the NODE actor's port (CAF middleman)
//   incarnation = 1764601234567   differs on every start of the process

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "actors/cluster/types.h"

namespace actormq::cluster {

struct broker_registration {
  broker_id id = no_broker;
  std::string rpc_address;
  std::string cluster_address;
  uint64_t incarnation = 0;

  std::string encode() const;
  /// nullopt when a field is missing or malformed.
  static std::optional<broker_registration> decode(std::string_view text);
  bool operator==(const broker_registration&) const = default;
};

}  // namespace actormq::cluster
