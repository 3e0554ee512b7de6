#pragma once
// State of the TRANSACTION COORDINATOR (see txn_coordinator_actor.h for the
// design). Handlers in txn_coordinator_actor.cpp call one method each.

#include <caf/all.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "actors/delay/timing_wheel.h"
#include "actors/topic/topic_cache.h"
#include "actors/txn/txn_coordinator_actor.h"
#include "storage/txn_log.h"

namespace actormq {

class txn_coordinator_state {
 public:
  using self_ptr = txn_coordinator_actor::stateful_pointer<txn_coordinator_state>;
  static constexpr const char* name = "txn-coordinator";

  /// Opens and replays the transaction log (before the actor runs).
  caf::error open(txn_settings settings);
  /// Binds the actor; resumes replayed transactions (checks, deliveries).
  void attach(self_ptr self);

  caf::result<uint64_t> half(txn_half_request& req);
  caf::result<bool> end(uint64_t id, bool commit);
  std::vector<txn_summary> list() const;
  txn_stats stats() const;
  void add_checker(const std::string& group, caf::actor session);
  void on_answer(const txn_check_answer& a);
  void on_down(const caf::down_msg& dm);
  void tick();
  void flush();
  void close();
  caf::timespan tick_interval() const { return settings_.tick; }

 private:
  /// A transaction not finished yet.
  struct runtime {
    txn::txn_state_machine machine;
    bool delivering = false;
    /// commit requests waiting for the delivery.
    std::vector<caf::typed_response_promise<bool>> waiters;
  };
  struct in_flight_check {
    int64_t deadline_ms;
    uint32_t count;
  };

  void append_half(txn_half_request req, caf::typed_response_promise<uint64_t> rp);
  /// Runs k after the next sync of the log (with its error, if any).
  void after_sync(std::function<void(const caf::error&)> k);
  void schedule(uint64_t id, int64_t due_ms);
  void fire(uint64_t id, int64_t now);
  void send_check(uint64_t id, runtime& rt, int64_t now);
  void decide(uint64_t id, runtime& rt, storage::txn_decision d);
  void deliver(uint64_t id);
  void delivered(uint64_t id, const caf::error& err);
  void give_up(uint64_t id, runtime& rt);
  void with_unresolved_topic(std::function<void(caf::expected<topic_handle>)> k);
  void retry_later(uint64_t id);
  storage::txn_record const* record(uint64_t id) const;

  self_ptr self_ = nullptr;
  txn_settings settings_;
  std::unique_ptr<storage::txn_log> log_;
  std::optional<delay::timing_wheel> wheel_;
  topic_cache topics_;
  std::map<uint64_t, runtime> live_;
  std::map<uint64_t, in_flight_check> in_flight_;
  /// Sessions reaching a checker, per producer group (round robin).
  std::map<std::string, std::vector<caf::actor>> checkers_;
  size_t next_checker_ = 0;
  /// Due checks of groups with no session, by group.
  std::map<std::string, std::set<uint64_t>> waiting_;
  /// Deliveries to retry, due time -> ids.
  std::multimap<int64_t, uint64_t> retries_;
  std::vector<std::function<void(const caf::error&)>> sync_waiters_;
  bool flush_queued_ = false;
  txn_stats stats_;
};

}  // namespace actormq
