#include "actors/txn/txn_coordinator_actor.h"

#include "actors/txn/txn_coordinator_state.h"

namespace actormq {

namespace {

txn_coordinator_actor::behavior_type coordinator_behavior(
    inspected_pointer<txn_coordinator_actor, txn_coordinator_state> self, txn_settings settings) {
  self->state.init(self, std::move(settings));
  self->set_down_handler([self](caf::down_msg& dm) { self->state.on_down(dm); });
  self->after_each_message([self] { self->state.arm_tick(); });
  self->state.arm_tick();
  return {
      [=](inspect_atom) { return fill_report(self); },
      [=](half_atom, txn_half_request& req) { return self->state.half(req); },
      [=](end_atom, uint64_t id, bool commit) { return self->state.end(id, commit); },
      [=](list_atom) { return self->state.list(); },
      [=](describe_atom) { return self->state.stats(); },
      [=](checker_atom, const std::string& group, const caf::actor& session) {
        self->state.add_checker(group, session);
      },
      [=](check_atom, const txn_check_answer& a) { self->state.on_answer(a); },
      [=](tick_atom, uint64_t id) { self->state.on_tick(id); },
      [=](lead_atom, uint32_t p, int32_t epoch, const partition_actor& log, uint32_t n) {
        self->state.lead(p, epoch, log, n);
      },
      [=](follow_atom, uint32_t p) { self->state.resign(p); },
      [=](compact_atom) { self->state.compact_due(); },
      [=](close_atom) {
        self->state.close();
        self->quit();
      },
  };
}

}  // namespace

txn_coordinator_actor spawn_txn_coordinator(caf::actor_system& sys, txn_settings settings) {
  return sys.spawn(coordinator_behavior, std::move(settings));
}

}  // namespace actormq
