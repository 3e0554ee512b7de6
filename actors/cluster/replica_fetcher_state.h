#pragma once
// State of a REPLICA FETCHER actor: the follow -> truncate -> pull loop.

#include <caf/all.hpp>

#include <chrono>
#include <string>

#include "actors/cluster/replica_fetcher_actor.h"
#include "actors/inspect/counted_actor.h"
#include "actors/request_deadlines.h"

namespace actormq {

class replica_fetcher_state {
 public:
  using self_ptr = inspected_pointer<replica_fetcher_actor, replica_fetcher_state>;
  static constexpr const char* name = "replica_fetcher";

  void init(self_ptr self, replica_fetcher_settings settings);
  /// retry_atom: from the top (follow, truncate) or just the next pull.
  void resume(bool from_top);
  /// tick_atom: fails the requests past their deadline.
  void tick();
  /// The actor inspector's part (docs/inspector.md, "replica_fetcher").
  void inspect(actor_report& r) const;

 private:
  void follow();
  void find_leader(std::function<void()> then);
  void truncate();
  void pull();
  /// Waits (growing backoff) and resumes; from_top when the histories may
  /// have diverged or the leader's node must be found again.
  void failed(const char* step, const caf::error& err, bool from_top);
  std::string who() const;
  /// The deadline of a request of `step` sent now: past it, the step fails
  /// as failed(step, request_timeout, from_top) does.
  request_deadlines::ticket deadline(caf::timespan timeout, const char* step, bool from_top);

  self_ptr self_ = nullptr;
  replica_fetcher_settings settings_;
  node_actor leader_node_;
  int64_t log_end_ = 0;
  /// The leader's log end and high watermark as its last pull answered
  /// (-1: no pull answered yet), for the inspector's lag.
  int64_t leader_log_end_ = -1;
  int64_t leader_high_watermark_ = -1;
  int32_t ask_epoch_ = -1;  ///< the truncation check's next question; -1: none
  caf::timespan backoff_{};
  uint64_t failures_ = 0;
  std::string last_error_;
  request_deadlines deadlines_;
  bool ticking_ = false;  ///< a tick_atom is on its way
};

}  // namespace actormq
