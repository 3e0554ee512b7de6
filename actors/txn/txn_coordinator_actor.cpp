#include "actors/txn/txn_coordinator_actor.h"

#include "actors/txn/txn_coordinator_state.h"

namespace actormq {

namespace {

txn_coordinator_actor::behavior_type coordinator_behavior(
    txn_coordinator_actor::stateful_pointer<txn_coordinator_state> self,
    std::shared_ptr<txn_coordinator_state> opened) {
  self->state = std::move(*opened);
  self->state.attach(self);
  self->set_down_handler([self](caf::down_msg& dm) { self->state.on_down(dm); });
  self->delayed_send(self, self->state.tick_interval(), tick_atom::value);
  return {
      [=](half_atom, txn_half_request& req) { return self->state.half(req); },
      [=](end_atom, uint64_t id, bool commit) { return self->state.end(id, commit); },
      [=](list_atom) { return self->state.list(); },
      [=](describe_atom) { return self->state.stats(); },
      [=](checker_atom, const std::string& group, const caf::actor& session) {
        self->state.add_checker(group, session);
      },
      [=](check_atom, const txn_check_answer& a) { self->state.on_answer(a); },
      [=](tick_atom) {
        self->state.tick();
        self->delayed_send(self, self->state.tick_interval(), tick_atom::value);
      },
      [=](flush_atom) { self->state.flush(); },
      [=](close_atom) {
        self->state.close();
        self->quit();
      },
  };
}

}  // namespace

caf::expected<txn_coordinator_actor> spawn_txn_coordinator(caf::actor_system& sys,
                                                           txn_settings settings) {
  auto state = std::make_shared<txn_coordinator_state>();
  if (auto err = state->open(std::move(settings))) return err;
  // Detached: the transaction log's fdatasync blocks this actor's own thread only.
  return sys.spawn<caf::detached>(coordinator_behavior, std::move(state));
}

}  // namespace actormq
