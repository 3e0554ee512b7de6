#include "actors/cluster/node_actor.h"

#include "actors/cluster/node_state.h"

namespace actormq {

namespace {

node_actor::behavior_type node_behavior(inspected_pointer<node_actor, node_state> self,
                                        node_settings settings) {
  self->state.init(self, std::move(settings));
  return {
      [=](inspect_atom) { return fill_report(self); },
      [=](node_info_atom) { return self->state.info(); },
      [=](ping_atom) { return pong_atom::value; },
      [=](inspect_atom, node_atom) { return self->state.inspect_broker(); },
      [=](partition_stats_atom, const std::vector<topic_partition>& tps) {
        return self->state.stats(tps);
      },
      [=](replica_fetch_atom, const topic_partition& tp, const replica_fetch_request& req,
          caf::timespan wait) { return self->state.replica_fetch(tp, req, wait); },
      [=](epoch_end_atom, const topic_partition& tp, int32_t leader_epoch, int32_t epoch) {
        return self->state.end_of_epoch(tp, leader_epoch, epoch);
      },
      [=](produce_atom, remote_produce& req) { return self->state.produce(req); },
      [=](fetch_atom, const topic_partition& tp, int64_t offset, uint32_t max_bytes) {
        return self->state.fetch(tp, offset, max_bytes);
      },
  };
}

}  // namespace

node_actor spawn_node(caf::actor_system& sys, node_settings settings) {
  return sys.spawn(node_behavior, std::move(settings));
}

}  // namespace actormq
