#include "actors/partition/partition_actor.h"

#include "actors/partition/partition_state.h"

namespace actormq {

namespace {

partition_actor::behavior_type partition_behavior(
    partition_actor::stateful_pointer<partition_state> self, partition_settings settings,
    std::shared_ptr<storage::log> log, caf::actor flusher) {
  auto tick = settings.tick_interval;
  self->state.init(self, std::move(settings), std::move(log), std::move(flusher));
  self->delayed_send(self, tick, tick_atom::value);
  return {
      [=](produce_atom, produce_request& req) { return self->state.produce(req); },
      [=](fetch_atom, const fetch_request& req) { return self->state.fetch(req); },
      [=](wait_atom, const fetch_request& req, caf::timespan max_wait) {
        return self->state.fetch_wait(req, max_wait);
      },
      [=](wait_atom, int64_t offset, caf::timespan max_wait) {
        return self->state.wait(offset, max_wait);
      },
      [=](offsets_atom) { return self->state.offsets(); },
      [=](time_atom, int64_t ts) { return self->state.offset_for_time(ts); },
      [=](tick_atom) {
        self->state.tick();
        self->delayed_send(self, tick, tick_atom::value);
      },
      [=](flushed_atom, int64_t up_to, const caf::error& err) {
        self->state.on_flushed(up_to, err);
      },
      [=](expire_atom, uint64_t timer) { self->state.on_wait_expired(timer); },
  };
}

}  // namespace

partition_actor spawn_partition(caf::actor_system& sys, partition_settings settings,
                                std::shared_ptr<storage::log> log, caf::actor flusher) {
  return sys.spawn(partition_behavior, std::move(settings), std::move(log), std::move(flusher));
}

}  // namespace actormq
