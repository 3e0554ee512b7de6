#include "actors/cluster/leader_election.h"

namespace actormq::cluster {

std::optional<partition_state> leader_election::on_live_brokers(const partition_state& current,
                                                                const std::set<broker_id>& live) {
  partition_state next = current;
  std::vector<broker_id> live_isr;
  for (auto b : current.isr) {
    if (live.count(b)) live_isr.push_back(b);
  }
  bool leader_alive = current.leader != no_broker && live.count(current.leader) > 0;
  if (leader_alive) {
    // A live leader is always in its own in-sync set.
    next.isr = live_isr;
    if (!current.in_isr(current.leader)) next.isr.insert(next.isr.begin(), current.leader);
  } else {
    broker_id chosen = no_broker;
    for (auto b : current.replicas) {
      if (live.count(b) && current.in_isr(b)) {
        chosen = b;
        break;
      }
    }
    next.leader = chosen;
    if (chosen != no_broker) {
      next.isr = live_isr;
    } else if (!current.isr.empty()) {
      // Nobody in sync is alive: keep the last claim (the old in-sync set
      // narrowed to one member) so that member can lead again.
      next.isr = {current.leader != no_broker && current.in_isr(current.leader)
                      ? current.leader
                      : current.isr.front()};
    }
    if (next.leader != current.leader) ++next.leader_epoch;
  }
  if (next == current) return std::nullopt;
  return next;
}

}  // namespace actormq::cluster
