#include "actors/partition/partition_actor.h"

#include "actors/partition/partition_state.h"

namespace actormq {

namespace {

partition_actor::behavior_type partition_behavior(
    inspected_pointer<partition_actor, partition_state> self, partition_settings settings,
    std::shared_ptr<storage::log> log, caf::actor flusher) {
  self->state.init(self, std::move(settings), std::move(log), std::move(flusher));
  return {
      [=](inspect_atom) { return fill_report(self); },
      [=](produce_atom, produce_request& req) { return self->state.produce(req); },
      [=](fetch_atom, const fetch_request& req) { return self->state.fetch(req); },
      [=](wait_atom, const fetch_request& req, caf::timespan max_wait) {
        return self->state.fetch_wait(req, max_wait);
      },
      [=](unpark_atom, uint64_t token) { self->state.unpark(token); },
      [=](offsets_atom) { return self->state.offsets(); },
      [=](time_atom, int64_t ts) { return self->state.offset_for_time(ts); },
      [=](delete_atom, int64_t before) { return self->state.delete_records(before); },
      [=](tick_atom, uint64_t id) { self->state.on_tick(id); },
      [=](flushed_atom, int64_t up_to, const caf::error& err) {
        self->state.on_flushed(up_to, err);
      },
      [=](expire_atom, uint64_t timer) { self->state.on_wait_expired(timer); },
      [=](replica_fetch_atom, const replica_fetch_request& req, caf::timespan max_wait) {
        return self->state.replica_fetch(req, max_wait);
      },
      [=](epoch_end_atom, int32_t leader_epoch, int32_t epoch) {
        return self->state.end_of_epoch(leader_epoch, epoch);
      },
      [=](lead_atom, const leadership& l) { return self->state.lead(l); },
      [=](follow_atom, int32_t leader_epoch, int32_t leader) {
        return self->state.follow(leader_epoch, leader);
      },
      [=](replica_append_atom, int32_t leader_epoch, replica_fetch_reply& r) {
        return self->state.replica_append(leader_epoch, r);
      },
      [=](truncate_atom, int32_t leader_epoch, int32_t asked, const epoch_end& answer) {
        return self->state.truncate_to_leader(leader_epoch, asked, answer);
      },
  };
}

}  // namespace

partition_actor spawn_partition(caf::actor_system& sys, partition_settings settings,
                                std::shared_ptr<storage::log> log, caf::actor flusher) {
  return sys.spawn(partition_behavior, std::move(settings), std::move(log), std::move(flusher));
}

}  // namespace actormq
