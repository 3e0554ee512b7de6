#pragma once
// Names shared by the cluster's plain logic (no CAF, no etcd here).

#include <cstdint>

namespace actormq::cluster {

/// A broker's id in its cluster (--broker-id), unique among live brokers.
using broker_id = int32_t;
/// "No broker": a partition without a leader, an unknown controller.
inline constexpr broker_id no_broker = -1;

}  // namespace actormq::cluster
