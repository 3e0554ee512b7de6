#include "actors/retry/retry_actor.h"

#include "actors/errc.h"
#include "actors/logger.h"
#include "actors/retry/retry_state.h"

namespace actormq {

namespace {

retry_actor::behavior_type retry_behavior(inspected_pointer<retry_actor, retry_state> self,
                                          retry_actor_settings settings) {
  if (auto err = self->state.init(self, std::move(settings))) {
    actor_log().error("retry: cannot start: {}", text_of(err));
    self->quit(err);
  }
  return {
      [=](inspect_atom) { return fill_report(self); },
      [=](trace_atom, const std::string& topic, int32_t partition, int64_t offset) {
        return self->state.trace(topic, partition, offset);
      },
      [=](trace_atom, const std::string& topic, const std::string& id) {
        return self->state.trace_id(topic, id);
      },
      [=](nack_atom, nack_request& req) { return self->state.nack(std::move(req)); },
      [=](redrive_atom, redrive_request& req) { return self->state.redrive(std::move(req)); },
      [=](offsets_atom, const std::string& dlq) { return self->state.cursor(dlq); },
      [=](describe_atom) { return self->state.stats(); },
      [=](close_atom) {
        self->state.close();
        self->quit();
      },
  };
}

}  // namespace

caf::expected<retry_actor> spawn_retry_actor(caf::actor_system& sys,
                                             retry_actor_settings settings) {
  if (!settings.metrics) settings.metrics = std::make_shared<metrics_registry>();
  return sys.spawn(retry_behavior, std::move(settings));
}

}  // namespace actormq
