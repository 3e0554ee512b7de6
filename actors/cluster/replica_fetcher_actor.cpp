#include "actors/cluster/replica_fetcher_actor.h"

#include "actors/cluster/replica_fetcher_state.h"

namespace actormq {

namespace {

replica_fetcher_actor::behavior_type replica_fetcher_behavior(
    inspected_pointer<replica_fetcher_actor, replica_fetcher_state> self,
    replica_fetcher_settings settings) {
  self->state.init(self, std::move(settings));
  return {
      [=](inspect_atom) { return fill_report(self); },
      [=](retry_atom, bool from_top) { self->state.resume(from_top); },
      [=](tick_atom) { self->state.tick(); },
  };
}

}  // namespace

replica_fetcher_actor spawn_replica_fetcher(caf::actor_system& sys,
                                            replica_fetcher_settings settings) {
  return sys.spawn(replica_fetcher_behavior, std::move(settings));
}

}  // namespace actormq
