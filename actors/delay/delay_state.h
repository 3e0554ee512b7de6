#pragma once
// State of the DELAY actor (see delay_actor.h for the design). Handlers in
// delay_actor.cpp call one method each.

#include <caf/all.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "actors/delay/delay_actor.h"
#include "actors/delay/timing_wheel.h"
#include "actors/request_deadlines.h"
#include "actors/topic/topic_cache.h"
#include "storage/log.h"
#include "storage/schedule_store.h"

namespace actormq {

class delay_state {
 public:
  using self_ptr = delay_actor::stateful_pointer<delay_state>;
  static constexpr const char* name = "delay";

  /// Opens the schedule log and store (before the actor runs).
  caf::error open(delay_settings settings);
  void attach(self_ptr self);

  caf::result<schedule_reply> schedule(delayed_produce& req);
  delay_stats stats() const;
  void tick();
  void close();
  caf::timespan tick_interval() const { return settings_.tick; }

 private:
  void append(delayed_produce req, caf::typed_response_promise<schedule_reply> rp);
  void load_buckets(int64_t now);
  void fire(int64_t now);
  void deliver(const delay::timer_entry& e);
  void finish(int64_t due, const caf::error& err, const delay::timer_entry& e);
  void record_progress();
  void flush_if_due(bool force);
  /// Deletes schedule-log segments wholly below the lowest pending entry.
  void collect_envelopes(int64_t now);
  std::string who() const { return "delay"; }

  self_ptr self_ = nullptr;
  delay_settings settings_;
  std::unique_ptr<storage::log> log_;
  std::unique_ptr<storage::schedule_store> store_;
  std::optional<delay::timing_wheel> wheel_;
  topic_cache topics_;

  /// Buckets whose entries are in the wheel: start < loaded_until_.
  int64_t loaded_until_ = 0;
  std::set<int64_t> loaded_buckets_;
  /// Due times of fired entries not yet durably delivered (in flight or
  /// waiting to retry): progress may not be recorded at or past them.
  std::multiset<int64_t> pending_dues_;
  /// Every entry due before this was returned by the wheel.
  int64_t fired_through_ = 0;
  int64_t last_mark_ = -1;
  size_t in_flight_ = 0;
  /// Entries re-added after a failed delivery: id -> their original due.
  std::map<uint64_t, int64_t> retry_origin_;

  /// Deliveries in flight to partitions.
  request_deadlines deadlines_;
  int64_t last_gc_ms_ = 0;
  bool dirty_ = false;
  int64_t last_flush_ms_ = 0;
  std::vector<std::pair<schedule_reply, caf::typed_response_promise<schedule_reply>>> sync_waiters_;
  delay_stats stats_;
};

}  // namespace actormq
