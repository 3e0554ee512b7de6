// peers_state::inspect: what the actor inspector shows of PEERS
// (docs/inspector.md, "peers").

#include <fmt/format.h>

#include "actors/cluster/peers_state.h"
#include "actors/inspect/json_writer.h"

namespace actormq {

void peers_state::inspect(actor_report& r) const {
  // The list stops at 100 peers (a cluster is far smaller); the counts and
  // the metrics cover every peer.
  constexpr size_t max_listed = 100;
  const auto peers = table_ ? status() : std::vector<peer_status>{};
  size_t up = 0;
  size_t connecting = 0;
  std::vector<int32_t> down;
  for (const auto& p : peers) {
    switch (p.state) {
      case peer_state::up:
        ++up;
        break;
      case peer_state::connecting:
        ++connecting;
        break;
      case peer_state::down:
        down.push_back(p.broker_id);
        break;
    }
  }
  json_writer w;
  w.begin_object()
      .field("broker", settings_.broker_id)
      .field("peer_count", peers.size())
      .field("up", up)
      .field("connecting", connecting)
      .field("down", down.size())
      .field("monitored_nodes", nodes_.size());
  w.key("peers").begin_array();
  for (size_t i = 0; i < peers.size() && i < max_listed; ++i) {
    const auto& p = peers[i];
    w.begin_object()
        .field("broker", p.broker_id)
        .field("address", fmt::format("{}:{}", p.host, p.port))
        .field("state", to_string(p.state))
        .field("since_ms", p.since_ms)
        .field("last_error", p.last_error)
        // Hex text as in the logs: a random 64-bit value does not survive
        // a JSON number (JavaScript reads 53 bits).
        .field("incarnation", p.incarnation == 0 ? "" : fmt::format("{:016x}", p.incarnation))
        .end_object();
  }
  w.end_array().end_object();
  r.state_json = w.take();
  r.summary = fmt::format("{} peers: {} up {} connecting {} down", peers.size(), up, connecting,
                          down.size());
  if (!down.empty()) r.summary += fmt::format(" ({})", fmt::join(down, ","));

  for (const auto& p : peers) {
    add_metric(r.metrics, "actormq_peer_up", {{"broker", std::to_string(p.broker_id)}},
               p.state == peer_state::up ? 1 : 0);
  }
}

}  // namespace actormq
