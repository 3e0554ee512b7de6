#pragma once
// State of the PEERS actor: carries out what peer_table decides (connect,
// arm a retry timer, forget a connection) and keeps the monitored NODE
// handles of the peers that are up.

#include <caf/all.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/cluster/peers_actor.h"
#include "actors/inspect/counted_actor.h"

namespace actormq {

class peers_state {
 public:
  using self_ptr = inspected_pointer<peers_actor, peers_state>;
  static constexpr const char* name = "peers";

  void init(self_ptr self, peers_settings settings);

  void set_peers(const std::vector<peer_address>& peers);
  std::vector<peer_status> status() const;
  caf::result<node_actor> node_of(int32_t broker_id) const;
  caf::result<std::vector<partition_stats>> stats_from(int32_t broker_id,
                                                       std::vector<topic_partition> tps,
                                                       caf::timespan timeout);
  void on_retry(int32_t broker_id, uint64_t token);
  /// A monitored NODE actor went away: its connection is lost.
  void on_down(const caf::down_msg& dm);
  /// The actor inspector's part (docs/inspector.md, "peers").
  void inspect(actor_report& r) const;

 private:
  /// Asks the middleman actor to connect (TCP + BASP handshake), bounded by
  /// connect_timeout, then checks the interface and asks node_info.
  void connect(peer_table::attempt a);
  void check_identity(peer_table::attempt a, node_actor node);
  void attempt_failed(peer_table::attempt a, std::string why, bool refused = false);
  void arm(const peer_table::retry& r);
  void forget(int32_t broker_id);
  caf::expected<node_actor> up_node(int32_t broker_id) const;

  self_ptr self_ = nullptr;
  peers_settings settings_;
  std::optional<peer_table> table_;
  std::map<int32_t, node_actor> nodes_;  ///< monitored, one per up peer
};

}  // namespace actormq
