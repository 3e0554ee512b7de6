#include "actors/group/group_actor.h"

#include "actors/errc.h"
#include "actors/group/group_actor_state.h"
#include "actors/group/group_coordinator_state.h"
#include "actors/logger.h"

namespace actormq {

namespace {

group_actor::behavior_type group_behavior(inspected_pointer<group_actor, group_actor_state> self,
                                          std::string name, group_seed seed,
                                          coordinator_settings cs) {
  if (auto err = self->state.init(self, name, std::move(seed), cs)) {
    actor_log().error("group {}: cannot start: {}", name, text_of(err));
    self->quit(err);
  } else {
    self->delayed_send(self, group_tick, expire_atom::value);
  }
  return {
      [=](inspect_atom) { return self->state.inspect(report_counters(self)); },
      [=](join_atom, group::join_request& req, const std::string& strategy) {
        return self->state.join(std::move(req), strategy);
      },
      [=](heartbeat_atom, const std::string& member, int32_t gen) {
        return self->state.heartbeat(member, gen);
      },
      [=](leave_atom, const std::string& member) { return self->state.leave(member); },
      [=](commit_atom, const std::string& member, int32_t gen,
          const std::vector<committed_offset>& offsets) {
        return self->state.commit(member, gen, offsets);
      },
      [=](committed_atom, const std::vector<group::topic_partition>& tps) {
        return self->state.committed(tps);
      },
      [=](describe_atom) { return self->state.describe(); },
      [=](compact_atom) { return self->state.snapshot(); },
      [=](delete_atom) { return self->state.remove(); },
      [=](list_atom) { return self->state.listed(); },
      [=](expire_atom) {
        self->state.tick();
        self->delayed_send(self, group_tick, expire_atom::value);
      },
  };
}

group_coordinator_actor::behavior_type coordinator_behavior(
    inspected_pointer<group_coordinator_actor, group_coordinator_state> self,
    coordinator_settings cs) {
  self->state.init(self, std::move(cs));
  return {
      [=](inspect_atom) { return fill_report(self); },
      [=](group_atom, const std::string& name) { return self->state.group(name); },
      [=](lead_atom, uint32_t partition, int32_t epoch, partition_actor log, uint32_t partitions) {
        self->state.lead(partition, epoch, std::move(log), partitions);
      },
      [=](follow_atom, uint32_t partition) { self->state.resign(partition); },
      [=](tick_atom) { self->state.tick(); },
      [=](compact_atom) { self->state.compact_due(); },
      [=](close_atom) { self->state.close(); },
      [=](list_atom) { return self->state.list(); },
      [=](delete_atom, const std::string& name) { return self->state.remove(name); },
  };
}

}  // namespace

group_actor spawn_group_actor(caf::actor_system& sys, std::string name, group_seed seed,
                              const coordinator_settings& cs) {
  return sys.spawn(group_behavior, std::move(name), std::move(seed), cs);
}

caf::expected<group_coordinator_actor> spawn_group_coordinator(caf::actor_system& sys,
                                                               coordinator_settings settings) {
  return sys.spawn(coordinator_behavior, std::move(settings));
}

}  // namespace actormq
