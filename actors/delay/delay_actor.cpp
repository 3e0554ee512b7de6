#include "actors/delay/delay_actor.h"

#include "actors/delay/delay_state.h"

namespace actormq {

namespace {

delay_actor::behavior_type delay_behavior(delay_actor::stateful_pointer<delay_state> self,
                                          std::shared_ptr<delay_state> opened) {
  self->state = std::move(*opened);
  self->state.attach(self);
  auto tick = self->state.tick_interval();
  self->delayed_send(self, tick, tick_atom::value);
  return {
      [=](produce_atom, delayed_produce& req) { return self->state.schedule(req); },
      [=](describe_atom) { return self->state.stats(); },
      [=](tick_atom) {
        self->state.tick();
        self->delayed_send(self, tick, tick_atom::value);
      },
      [=](close_atom) {
        self->state.close();
        self->quit();
      },
  };
}

}  // namespace

caf::expected<delay_actor> spawn_delay_actor(caf::actor_system& sys, delay_settings settings) {
  auto state = std::make_shared<delay_state>();
  if (auto err = state->open(std::move(settings))) return err;
  return sys.spawn(delay_behavior, std::move(state));
}

}  // namespace actormq
