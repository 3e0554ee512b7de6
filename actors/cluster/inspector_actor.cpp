#include "actors/cluster/inspector_actor.h"

#include "actors/cluster/inspector_state.h"

namespace actormq {

namespace {

inspector_actor::behavior_type inspector_behavior(
    inspector_actor::stateful_pointer<inspector_state> self, inspector_settings settings) {
  self->state.init(self, std::move(settings));
  return {
      [=](inspect_atom) { return self->state.local(); },
      [=](inspect_atom, all_atom) { return self->state.cluster(); },
  };
}

}  // namespace

inspector_actor spawn_inspector(caf::actor_system& sys, inspector_settings settings) {
  return sys.spawn(inspector_behavior, std::move(settings));
}

}  // namespace actormq
