#pragma once
// The cluster's latest claimed block of idempotent producer ids, the value of
// <root>/producer_id_block in etcd (docs/cluster.md, "Producer ids"). Kafka
// keeps the same record in ZooKeeper (/latest_producer_id_block). Stored in
// the "key = value" text format (actors/key_value_text.h):
//
//   broker = 2        the broker that claimed the block (for diagnostics)
//   first = 3000      the block's first id
//   last = 3999       its last id (inclusive)
//
// A broker hands out the ids of its block, then claims the next one with a
// compare-and-swap txn on the key (producer_id_allocator); the key only ever
// moves forward, so no id is handed out twice in the cluster, and ids of a
// block a broker did not use up (it stopped) are skipped, never reused.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "actors/cluster/types.h"

namespace actormq::cluster {

struct producer_id_block {
  broker_id broker = no_broker;
  int64_t first = 0;
  int64_t last = -1;

  int64_t size() const { return last - first + 1; }
  std::string encode() const;
  /// nullopt when a field is missing or malformed, or first > last, or first < 0.
  static std::optional<producer_id_block> decode(std::string_view text);

  /// The block a broker claims after `latest` (nullopt: nobody claimed one
  /// yet): `size` ids starting after latest's last, and never below `floor`
  /// (the ids a broker reserved on its own before it joined a cluster).
  /// nullopt when size < 1 or the ids would overflow int64.
  static std::optional<producer_id_block> after(const std::optional<producer_id_block>& latest,
                                                broker_id claimer, int64_t size, int64_t floor);

  bool operator==(const producer_id_block&) const = default;
};

}  // namespace actormq::cluster
