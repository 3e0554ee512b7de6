#pragma once
// State of the TRANSACTION COORDINATOR (see txn_coordinator_actor.h for the
// design). Handlers in txn_coordinator_actor.cpp call one method each.

#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actors/delay/timing_wheel.h"
#include "actors/inspect/counted_actor.h"
#include "actors/state/armed_timer.h"
#include "actors/state/partition_writer.h"
#include "actors/txn/txn_coordinator_actor.h"
#include "actors/txn/txn_table.h"

namespace actormq {

class txn_coordinator_state {
 public:
  using self_ptr = inspected_pointer<txn_coordinator_actor, txn_coordinator_state>;
  static constexpr const char* name = "txn-coordinator";

  void init(self_ptr self, txn_settings settings);

  caf::result<uint64_t> half(txn_half_request& req);
  caf::result<bool> end(uint64_t id, bool commit);
  caf::result<std::vector<txn_summary>> list();
  txn_stats stats() const;
  void add_checker(const std::string& group, caf::actor session);
  void on_answer(const txn_check_answer& a);
  void on_down(const caf::down_msg& dm);
  void lead(uint32_t partition, int32_t epoch, partition_actor log, uint32_t partitions);
  void resign(uint32_t partition);
  /// The timer (tick_atom with id): stale ids are ignored.
  void on_tick(uint64_t id);
  /// Arms the timer for the next due time if that comes before the armed
  /// one; the actor calls it after every message (after_each_message).
  void arm_tick();
  void compact_due();
  void close();
  /// The actor inspector's part (docs/inspector.md, "txn_coordinator").
  void inspect(actor_report& r) const;

 private:
  using done_fn = std::function<void(const caf::error&)>;
  using write_fn = std::function<void(caf::expected<produce_reply>)>;
  enum class status { idle, loading, ready };
  struct slot {
    status state = status::idle;
    int32_t epoch = -1;
    partition_actor log;
    uint64_t load = 0;  ///< id of the current load (a newer lead replaces it)
    std::optional<txn::txn_table> table;
    std::vector<done_fn> waiting;  ///< requests parked while loading
    bool retry = false;            ///< the load failed; tick() starts it again
    int64_t retry_at = 0;          ///< ms since epoch
    bool compacting = false;
  };
  /// A transaction not finished yet.
  struct runtime {
    explicit runtime(txn::txn_state_machine m) : machine(m) {}
    txn::txn_state_machine machine;
    bool deciding = false;    ///< a decision's record is being written
    bool delivering = false;  ///< decided; the batch is on its way
    /// The half's record is not acknowledged yet; resends of its sendHalf
    /// (same request id) wait here for it.
    bool half_pending = false;
    std::vector<caf::typed_response_promise<uint64_t>> half_waiters;
    /// Requests answered when the transaction finishes (delivered commit,
    /// recorded rollback) or the decision's write fails.
    std::vector<caf::typed_response_promise<bool>> waiters;
  };
  struct in_flight_check {
    int64_t deadline_ms;
    uint32_t count;
  };
  /// A request for a partition not led here (yet): waits for a lead.
  struct unled_request {
    std::function<uint32_t(uint32_t)> partition_of;  ///< of the partition count
    done_fn k;
    std::chrono::steady_clock::time_point until;
  };

  // --- partitions ---
  /// Runs k once partition p is ready here, or with not_coordinator.
  void with_slot(std::function<uint32_t(uint32_t)> partition_of, done_fn k);
  void lead_all_alone();
  void start_load(uint32_t p);
  void migrate_legacy(uint32_t p, uint64_t load);
  void finish_load(uint32_t p, uint64_t load);
  void retry_load(uint32_t p, uint64_t load, const caf::error& why);
  void resume(uint32_t p);
  void maybe_compact(uint32_t p);
  void compact(uint32_t p, uint64_t load);
  bool current(uint32_t p, uint64_t load) const {
    return p < slots_.size() && slots_[p].load == load && slots_[p].state != status::idle;
  }
  void tick();
  /// When the timer should tick next (wall ms): the next due check, check
  /// deadline, delivery retry, load retry or unled request's end; at most
  /// tick after now while any of those is pending, idle_tick when none is.
  int64_t next_tick_at(int64_t now) const;
  void read_legacy();
  /// Produces events to partition p's log; k gets the produce's outcome.
  void write(uint32_t p, const std::vector<txn::txn_event_record>& events, write_fn k);
  acks_level acks() const { return settings_.replicated ? acks_level::all : acks_level::fsync; }
  bool loading() const;
  void answer_lists();
  std::vector<txn_summary> summaries() const;

  // --- transactions ---
  void check_target(uint32_t p, txn_half_request req, caf::typed_response_promise<uint64_t> rp);
  void do_half(uint32_t p, txn_half_request req, caf::typed_response_promise<uint64_t> rp);
  void do_end(uint64_t id, bool commit, caf::typed_response_promise<bool> rp);
  void schedule(uint64_t id, int64_t due_ms);
  void fire(uint64_t id, int64_t now);
  void send_check(uint64_t id, runtime& rt, int64_t now);
  void decide(uint64_t id, runtime& rt, storage::txn_decision d);
  void deliver(uint64_t id);
  void delivered(uint64_t id, const caf::error& err);
  void give_up(uint64_t id, runtime& rt);
  void with_unresolved_topic(std::function<void(caf::expected<topic_handle>)> k);
  void retry_later(uint64_t id);
  /// Forgets every runtime of partition p (it is no longer led here).
  void drop_runtimes(uint32_t p, const caf::error& why);
  const storage::txn_record* record(uint64_t id) const;
  txn::txn_table* table_of(uint64_t id);

  self_ptr self_ = nullptr;
  txn_settings settings_;
  partition_writer writer_;
  std::vector<slot> slots_;
  uint64_t next_load_ = 1;
  bool opening_ = false;       ///< alone: __transaction_state is being opened
  int64_t retry_open_at_ = 0;  ///< alone: when to try opening it again
  std::vector<unled_request> unled_;
  /// Alone, before __transaction_state is open: requests wait here.
  std::vector<std::pair<std::function<uint32_t(uint32_t)>, done_fn>> early_;
  std::vector<caf::typed_response_promise<std::vector<txn_summary>>> list_waiting_;
  std::optional<delay::timing_wheel> wheel_;
  topic_cache topics_;  ///< local topics (the unresolved topic)
  std::map<uint64_t, runtime> live_;
  std::map<uint64_t, in_flight_check> in_flight_;
  /// Sessions reaching a checker, per producer group (round robin).
  std::map<std::string, std::vector<caf::actor>> checkers_;
  size_t next_checker_ = 0;
  /// Due checks of groups with no session, by group.
  std::map<std::string, std::set<uint64_t>> waiting_;
  /// Deliveries to retry, due time -> ids.
  std::multimap<int64_t, uint64_t> retries_;
  /// The previous release's transactions, until partition 0 has them.
  std::vector<txn::txn_event_record> legacy_;
  txn_stats stats_;
  armed_timer timer_;
};

}  // namespace actormq
