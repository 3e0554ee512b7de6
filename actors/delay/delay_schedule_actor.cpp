#include "actors/delay/delay_schedule_actor.h"

#include "actors/delay/delay_schedule_state.h"

namespace actormq {

namespace {

delay_schedule_actor::behavior_type schedule_behavior(
    inspected_pointer<delay_schedule_actor, delay_schedule_state> self,
    delay_schedule_settings settings) {
  self->state.init(self, std::move(settings));
  self->after_each_message([self] { self->state.arm_tick(); });
  self->state.arm_tick();
  return {
      [=](inspect_atom) { return fill_report(self); },
      [=](produce_atom, delayed_produce& req) { return self->state.schedule(req); },
      [=](describe_atom) { return self->state.stats(); },
      [=](lead_atom, uint32_t p, int32_t epoch, const partition_actor& log, uint32_t n) {
        self->state.lead(p, epoch, log, n);
      },
      [=](follow_atom, uint32_t p) { self->state.follow(p); },
      [=](tick_atom, uint64_t id) { self->state.on_tick(id); },
      [=](close_atom) {
        self->state.close();
        self->quit();
      },
  };
}

}  // namespace

delay_schedule_actor spawn_delay_schedule_actor(caf::actor_system& sys,
                                                delay_schedule_settings settings) {
  // Detached: the index checkpoints fdatasync, never on a scheduler thread.
  return sys.spawn<caf::detached>(schedule_behavior, std::move(settings));
}

}  // namespace actormq
