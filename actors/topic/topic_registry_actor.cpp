#include "actors/topic/topic_registry_actor.h"

#include "actors/topic/topic_registry_state.h"

namespace actormq {

namespace {

topic_registry_actor::behavior_type registry_behavior(
    inspected_pointer<topic_registry_actor, topic_registry_state> self,
    std::shared_ptr<topic_registry_state> loaded) {
  self->state = std::move(*loaded);
  self->state.attach(self);
  return {
      [=](inspect_atom) { return fill_report(self); },
      [=](create_atom, const std::string& name, const topic_config& cfg) {
        return self->state.create(name, cfg);
      },
      [=](create_atom, const std::string& name, const topic_config& cfg, internal_atom) {
        return self->state.create(name, cfg, true);
      },
      [=](delete_atom, const std::string& name) { return self->state.remove(name); },
      [=](lookup_atom, const std::string& name) { return self->state.lookup(name); },
      [=](list_atom) { return self->state.list(); },
      [=](grow_atom, const std::string& name, uint32_t n) { return self->state.grow(name, n); },
      [=](quota_atom, const std::string& name, int64_t bytes, int64_t messages) {
        return self->state.set_quota(name, bytes, messages);
      },
      [=](stray_atom, const std::string& name) { return self->state.set_aside(name); },
      [=](pid_atom) { return self->state.allocate_producer_id(); },
      [=](retry_atom, const std::string& name, uint32_t p) { self->state.restart(name, p); },
      [=](close_atom) { self->state.close(); },
  };
}

}  // namespace

caf::expected<topic_registry_actor> spawn_topic_registry(caf::actor_system& sys,
                                                         registry_settings settings) {
  auto state = std::make_shared<topic_registry_state>();
  if (auto err = state->load(sys, std::move(settings))) return err;
  return sys.spawn(registry_behavior, std::move(state));
}

}  // namespace actormq
