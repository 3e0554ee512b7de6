#include "actors/cluster/peers_actor.h"

#include "actors/cluster/peers_state.h"

namespace actormq {

namespace {

peers_actor::behavior_type peers_behavior(inspected_pointer<peers_actor, peers_state> self,
                                          peers_settings settings) {
  self->state.init(self, std::move(settings));
  self->set_down_handler([=](caf::down_msg& dm) { self->state.on_down(dm); });
  return {
      [=](inspect_atom) { return fill_report(self); },
      [=](set_peers_atom, const std::vector<peer_address>& peers) { self->state.set_peers(peers); },
      [=](peers_atom) { return self->state.status(); },
      [=](node_atom, int32_t broker_id) { return self->state.node_of(broker_id); },
      [=](partition_stats_atom, int32_t broker_id, std::vector<topic_partition>& tps,
          caf::timespan timeout) {
        return self->state.stats_from(broker_id, std::move(tps), timeout);
      },
      [=](retry_atom, int32_t broker_id, uint64_t token) {
        self->state.on_retry(broker_id, token);
      },
  };
}

}  // namespace

peers_actor spawn_peers(caf::actor_system& sys, peers_settings settings) {
  return sys.spawn(peers_behavior, std::move(settings));
}

}  // namespace actormq
