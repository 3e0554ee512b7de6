#pragma once
// Names shared by the cluster's plain logic (actormq::cluster: no CAF, no etcd
// there), and the value types of the cluster actors. Those marked "crosses nodes" travel
// between brokers over CAF's middleman (BASP): each has an inspect() overload
// and is announced by add_cluster_message_types (cluster_node.h) under the
// same name on every broker, or a typed remote_actor fails the handshake.

#include <caf/meta/type_name.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "actors/errc.h"
#include "actors/group/types.h"

namespace actormq {

/// One partition of one topic (crosses nodes; its inspect() is next to it).
using topic_partition = group::topic_partition;

/// Who a broker is, as its NODE actor tells it (crosses nodes).
struct node_info {
  int32_t broker_id = -1;
  std::string cluster_id;
  /// Where clients reach this broker's Cap'n Proto service, "host:port".
  std::string rpc_address;
  /// Random per start of the broker: a new value means the broker restarted
  /// (a restarted broker is also a new CAF node).
  uint64_t incarnation = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("node_info"), x.broker_id, x.cluster_id, x.rpc_address,
           x.incarnation);
}

/// Offsets and size of one partition, or why they are missing (crosses
/// nodes). An unknown topic or partition is an entry with error set, so one
/// bad name does not fail a whole fan-out.
struct partition_stats {
  std::string topic;
  int32_t partition = 0;
  int64_t log_start_offset = -1;
  int64_t high_watermark = -1;  ///< what consumers can read (replicated: below the log end)
  uint64_t size_bytes = 0;
  errc error = errc::none;
  std::string error_text;  ///< empty when error is none
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_stats& x) {
  return f(caf::meta::type_name("partition_stats"), x.topic, x.partition, x.log_start_offset,
           x.high_watermark, x.size_bytes, x.error, x.error_text);
}

/// One other broker of the cluster, as the control plane knows it.
struct peer_address {
  int32_t broker_id = -1;
  std::string host;
  uint16_t port = 0;  ///< the peer's cluster port (where its NODE actor is published)
  bool operator==(const peer_address&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_address& x) {
  return f(caf::meta::type_name("peer_address"), x.broker_id, x.host, x.port);
}

/// Connection state of a peer, as the PEERS actor sees it.
enum class peer_state : uint8_t {
  connecting = 0,  ///< added (or moved); the first attempt has not ended yet
  up = 1,          ///< connected, its node_info checked, monitored
  down = 2,        ///< an attempt failed or the connection was lost; retrying with backoff
};

const char* to_string(peer_state s);

/// What the PEERS actor reports about one peer.
struct peer_status {
  int32_t broker_id = -1;
  std::string host;
  uint16_t port = 0;
  peer_state state = peer_state::connecting;
  /// Wall-clock time (ms since the Unix epoch) the peer entered state.
  int64_t since_ms = 0;
  /// Why the last attempt failed or the connection was lost; empty if none.
  std::string last_error;
  /// The incarnation of the broker last seen up (0: never up).
  uint64_t incarnation = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_status& x) {
  return f(caf::meta::type_name("peer_status"), x.broker_id, x.host, x.port, x.state, x.since_ms,
           x.last_error, x.incarnation);
}

/// A produce that another broker forwards to a partition led here (crosses
/// nodes): a coordinator (transactions, later delays and retries) writing
/// to a partition its own broker does not lead. The bytes are whole record
/// batches (storage format); acks is an acks_level.
struct remote_produce {
  topic_partition target;
  std::string batches;
  uint8_t acks = 2;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_produce& x) {
  return f(caf::meta::type_name("remote_produce"), x.target, x.batches, x.acks);
}

/// Where a remote_produce landed (crosses nodes): produce_reply's fields.
struct remote_produce_reply {
  int64_t base_offset = -1;
  int64_t last_offset = -1;
  bool duplicate = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_produce_reply& x) {
  return f(caf::meta::type_name("remote_produce_reply"), x.base_offset, x.last_offset, x.duplicate);
}

}  // namespace actormq

namespace actormq::cluster {

/// A broker's id in its cluster (--broker-id), unique among live brokers.
using broker_id = int32_t;
/// "No broker": a partition without a leader, an unknown controller.
inline constexpr broker_id no_broker = -1;

}  // namespace actormq::cluster
