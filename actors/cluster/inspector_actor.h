#pragma once
// The INSPECTOR actor: one per broker, the only place that gathers the
// actor inspector's reports (docs/inspector.md). It asks every actor in the
// broker's directory for its report, each with a timeout, and for the whole
// cluster asks every peer's NODE actor, which hands the question to that
// broker's INSPECTOR. Nothing is cached: each answer is taken when asked.
// A stuck actor or a lost broker shows as such and never holds up the
// answer beyond the timeouts.

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/atoms.h"
#include "actors/cluster/peers_actor.h"
#include "actors/inspect/actor_directory.h"
#include "actors/inspect/actor_report.h"

namespace actormq {

using inspector_actor = caf::typed_actor<
    /// This broker: a report from every actor in the directory, sorted by
    /// path (an actor that does not answer within the timeout is listed
    /// with answered = false), and the broker-wide samples.
    caf::replies_to<inspect_atom>::with<broker_report>,
    /// The whole cluster, sorted by broker id: this broker's report and
    /// each peer's, asked through its NODE actor. A peer that is not up or
    /// does not answer within twice the timeout is a report with up =
    /// false and the reason in error. Never fails.
    caf::replies_to<inspect_atom, all_atom>::with<std::vector<broker_report>>>;

struct inspector_settings {
  std::shared_ptr<actor_directory> directory;
  int32_t broker_id = 0;
  /// HOST:PORT of this broker's RPC listener.
  std::string address;
  /// The PEERS actor; null for a single broker.
  peers_actor peers;
  /// Bound of each actor's answer (a peer's whole answer: twice this).
  caf::timespan timeout = std::chrono::seconds(1);
  /// Actors asked at once; the next is asked when one answers. Bounds the
  /// burst of inspections a broker with thousands of partitions would put
  /// in the scheduler's queue at once; a silent actor holds its slot until
  /// the timeout, so more silent actors than this delay the answer.
  size_t max_in_flight = 64;
  /// Broker-wide samples (process, RPC), added to each local report; runs
  /// on the inspector's thread and must not block. May be empty.
  std::function<void(std::vector<metric_sample>&)> broker_metrics;
};

inspector_actor spawn_inspector(caf::actor_system& sys, inspector_settings settings);

}  // namespace actormq
