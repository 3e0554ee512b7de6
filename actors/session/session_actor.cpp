#include "actors/session/session_actor.h"

#include "actors/inspect/counted_actor.h"

namespace actormq {

namespace {
caf::behavior session_behavior(inspected_untyped_pointer<session_state> self,
                               session_settings settings) {
  self->state.init(self, std::move(settings));
  return {
      [=](inspect_atom) { return fill_report(self); },
      [=](call_atom, const session_task& task) { task.run(self->state); },
      [=](check_atom, const txn_check_request& req) { self->state.check_transaction(req); },
      [=](tick_atom) { self->state.tick(); },
      [=](throttle_atom, const std::string& topic) { self->state.release_throttled(topic); },
  };
}
}  // namespace

caf::actor spawn_session(caf::actor_system& sys, session_settings settings) {
  return sys.spawn(session_behavior, std::move(settings));
}

}  // namespace actormq
