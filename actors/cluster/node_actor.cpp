#include "actors/cluster/node_actor.h"

#include "actors/cluster/node_state.h"

namespace actormq {

namespace {

node_actor::behavior_type node_behavior(node_actor::stateful_pointer<node_state> self,
                                        node_settings settings) {
  self->state.init(self, std::move(settings));
  return {
      [=](node_info_atom) { return self->state.info(); },
      [=](ping_atom) { return pong_atom::value; },
      [=](partition_stats_atom, const std::vector<topic_partition>& tps) {
        return self->state.stats(tps);
      },
  };
}

}  // namespace

node_actor spawn_node(caf::actor_system& sys, node_settings settings) {
  return sys.spawn(node_behavior, std::move(settings));
}

}  // namespace actormq
