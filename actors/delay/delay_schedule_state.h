#pragma once
// State of the DELAY SCHEDULE actor (delay_schedule_actor.h): one slot per
// partition of __delay_schedule led here, each a delay::schedule_partition
// plus what is in flight for it.

#include <caf/all.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/delay/delay_schedule_actor.h"
#include "actors/delay/delivered_retention.h"
#include "actors/delay/legacy_schedule.h"
#include "actors/delay/schedule_partition.h"
#include "actors/inspect/counted_actor.h"
#include "actors/request_deadlines.h"
#include "actors/state/armed_timer.h"
#include "actors/state/partition_writer.h"
#include "actors/topic/topic_cache.h"

namespace actormq {

class delay_schedule_state {
 public:
  using self_ptr = inspected_pointer<delay_schedule_actor, delay_schedule_state>;
  static constexpr const char* name = "delay-schedule";

  void init(self_ptr self, delay_schedule_settings settings);
  caf::result<schedule_reply> schedule(delayed_produce& req);
  delay_stats stats() const;
  void lead(uint32_t p, int32_t epoch, partition_actor log, uint32_t n);
  void follow(uint32_t p);
  /// The timer (tick_atom with id): stale ids (a tick replaced by an
  /// earlier one) are ignored.
  void on_tick(uint64_t id);
  /// Arms the timer for the next work if that comes before the armed one.
  /// The actor calls it after every message (counted_actor's
  /// after_each_message): any request, reply or timer may have made work.
  void arm_tick();
  void close();
  /// The actor inspector's part (docs/inspector.md, "delay_schedule").
  void inspect(actor_report& r) const;

 private:
  /// A target's batch of one dispatch, produced once its turn comes.
  struct target_batch {
    uint64_t dispatch = 0;
    std::shared_ptr<std::string> bytes;
    bool in_flight = false;
    int64_t retry_at = 0;  ///< after a failed try: not before this
    uint32_t failures = 0;
    uint32_t attempt = 0;    ///< bumped per send; a late answer to an older one is ignored
    int32_t sent_to = -1;    ///< the target's leader when it was sent (-1 alone)
    int64_t not_before = 0;  ///< its last entry's due time: never produced before it
  };
  struct slot {
    partition_actor log;
    uint64_t load = 0;  ///< bumped on lead and follow: stale callbacks see it
    std::unique_ptr<delay::schedule_partition> sp;
    bool leading = false;
    bool ready = false;        ///< caught up, unfinished dispatches queued
    int64_t catch_up_to = -1;  ///< the log end when this broker took over
    bool asking_offsets = false;
    bool tailing = false;   ///< a read of new records in flight
    bool planning = false;  ///< envelopes being read ahead
    /// Fired (the wheel runs prefetch_ahead early) and read, not planned
    /// yet: in due order, equal dues in offset order.
    std::deque<delay::fired_envelope> soon;
    size_t soon_bytes = 0;
    int64_t read_retry_at = 0;  ///< after a failed envelope read: not before this
    std::optional<delay::planned_dispatch> recording;  ///< its record being written
    bool record_in_flight = false;
    int64_t record_sent_ms = 0;
    /// How long recording a dispatch takes (moving average, ms): how far
    /// ahead of their due time dispatches are planned.
    double record_ms = 5;
    /// Bytes of __delay_schedule per offset (moving average): how much an
    /// envelope read asks for to reach the offsets it wants.
    double bytes_per_offset = 256;
    int64_t retry_record_at = 0;
    std::map<delay::target, std::deque<target_batch>> queues;
    std::map<uint64_t, size_t> targets_left;  ///< dispatch -> targets not acknowledged
    int64_t high_watermark = 0;
    int64_t log_start = 0;
    int64_t last_checkpoint_ms = 0;
    int64_t checkpointed = -1;  ///< applied offset at the last checkpoint
    int64_t next_tail_ms = 0;   ///< caught up: reads again from then
    int64_t last_gc_ms = 0;
    bool collecting = false;
    /// How long delivered records stay (for traces) before collection.
    delay::delivered_retention kept;
    /// The sequences record the last collection wrote (-1: none yet) and
    /// the applied offset it was taken at. Records below that go without a
    /// new one; when nothing but it is left, it stays. So an idle
    /// partition's collections end instead of writing a record each.
    int64_t sequences_at = -1;
    int64_t sequences_cover = -1;
    bool progress_in_flight = false;
    int64_t retry_progress_at = 0;
    uint32_t progress_failures = 0;
  };
  /// The envelopes read (in offset order; those not in the log are logged
  /// and left out) and whether every offset was looked at (false: a read
  /// failed, the rest were not tried).
  using envelopes_fn = std::function<void(std::vector<delay::fired_envelope>, bool complete)>;
  /// A read_envelopes() in progress: one fetch at a time from the lowest
  /// offset not read yet.
  struct envelope_read {
    std::vector<int64_t> wanted;  ///< sorted, unique
    size_t next = 0;              ///< wanted[next] is the next to read
    std::vector<delay::fired_envelope> got;
    uint64_t load = 0;
    envelopes_fn done;
  };
  using appended_fn = std::function<void(caf::expected<schedule_reply>)>;

  void open_alone();
  /// Cluster: the local replicas of __delay_schedule (followers too), so
  /// every replica keeps its index current.
  void find_replicas();
  bool open_slot(uint32_t p);
  void ask_log_end(uint32_t p, int32_t epoch);
  /// Appends req's envelope to its schedule partition; k once acknowledged.
  void append(delayed_produce req, appended_fn k);
  /// Appends what waits for schedule partition sp in batches, while fewer
  /// than max_appends_in_flight are out.
  void send_appends(uint32_t sp);
  /// Answers batch `attempt` out to sp (w: its reply) and sends the next.
  void appended(uint32_t sp, uint64_t attempt, const caf::expected<produce_reply>& w);
  /// Cluster: gives up batches out to a broker that no longer leads.
  void abandon_moved_appends();
  /// The previous release's <data>/delay, if it left messages pending.
  void open_legacy();
  /// Moves its next chunk onto __delay_schedule (see legacy_schedule.h).
  void migrate();
  bool current(uint32_t p, uint64_t load) const;
  void tail(uint32_t p);
  /// The index is below the log start (offset_out_of_range): what it lacks
  /// was collected, so it starts over at the log start.
  void restart_at_log_start(uint32_t p, uint64_t load);
  void apply_slice(uint32_t p, const fetch_reply& r);
  void become_ready(uint32_t p);
  /// A new leader's unfinished dispatches, produced again from their envelopes.
  void repeat(uint32_t p, const std::vector<delay::dispatch_record>& redo,
              const std::vector<delay::fired_envelope>& envs, bool complete);
  /// Fires what is due within prefetch_ahead and reads its envelopes.
  void prefetch(uint32_t p);
  /// The envelopes of what prefetch() fired go to `soon` (unread ones back
  /// to the wheel, missing ones dropped).
  void read_ahead(uint32_t p, const std::vector<delay::timer_entry>& due,
                  std::vector<delay::fired_envelope>& envs, bool complete);
  /// Plans and records a dispatch of what in `soon` is due now.
  void plan(uint32_t p);
  /// Reads the envelopes at offsets of partition p; done is not called
  /// once the slot changed role.
  void read_envelopes(uint32_t p, std::vector<int64_t> offsets, envelopes_fn done);
  void read_step(uint32_t p, std::shared_ptr<envelope_read> r);
  void record_dispatch(uint32_t p);
  void enqueue(uint32_t p, const delay::dispatch_record& d, std::vector<std::string> batches);
  void pump(uint32_t p, const delay::target& t);
  void produced(uint32_t p, const delay::target& t, const caf::error& err);
  /// Cluster: the target's leader now (-1 alone or none).
  int32_t leader_of(const delay::target& t) const;
  /// The target's front batch is in flight to a broker that no longer leads
  /// it: give that attempt up and send again.
  void resend_if_moved(uint32_t p, const delay::target& t);
  void write_progress(uint32_t p);
  /// Every gc_interval: deletes the records of p below what is still
  /// needed and was delivered keep_delivered ago (delete_below).
  void collect(uint32_t p);
  /// Writes the sequences record, then moves p's log start to below.
  void delete_below(uint32_t p, uint64_t load, int64_t below);
  void move_log_start(uint32_t p, uint64_t load, int64_t below);
  void checkpoint(slot& s, bool force);
  void tick();
  /// When the timer should tick next (wall ms): at most tick after now
  /// while anything is under way, idle_tick when nothing is; sooner when an
  /// entry is due (or to be read ahead), a retry or a read is due.
  int64_t next_tick_at(int64_t now) const;
  /// Nothing under way: no envelope waiting or out, every led partition
  /// caught up with nothing read ahead, recording or being delivered.
  bool idle() const;
  int64_t now_ms() const;
  /// The deadline (schedule_timeout) of a request sent now; tick() expires
  /// it. Requests go with caf::infinite (request_deadlines.h).
  request_deadlines::ticket deadline(std::function<void()> on_timeout);

  self_ptr self_ = nullptr;
  delay_schedule_settings settings_;
  partition_writer writer_;
  request_deadlines deadlines_;
  topic_cache topics_;
  std::vector<slot> slots_;
  bool opening_ = false;      ///< alone: __delay_schedule is being created
  int64_t reopen_at_ms_ = 0;  ///< alone: after a failed create, not before this
  uint64_t next_load_ = 1;
  int64_t next_lookup_ms_ = 0;
  bool looking_up_ = false;
  delay_stats stats_;
  /// Alone: produces that came before __delay_schedule was open.
  std::vector<std::pair<delayed_produce, appended_fn>> early_;
  /// Envelopes on their way to one schedule partition.
  struct append_queue {
    struct waiting_envelope {
      delay::envelope_record envelope;
      appended_fn k;
    };
    std::deque<waiting_envelope> waiting;
    size_t bytes = 0;                    ///< of the waiting producers' batches
    acks_level acks = acks_level::none;  ///< the strongest the waiting ones asked for
    uint64_t attempt = 0;                ///< numbers the batches sent
    /// A batch out: sp's leader when it went out (-1 alone), and each
    /// envelope's due time and whom to answer.
    struct out_batch {
      int32_t sent_to = -1;
      std::shared_ptr<std::vector<std::pair<int64_t, appended_fn>>> sent;
    };
    std::map<uint64_t, out_batch> out;  ///< by attempt; a late answer to one given up is ignored
  };
  std::map<uint32_t, append_queue> appends_;
  std::unique_ptr<delay::legacy_schedule> legacy_;
  bool migrating_ = false;
  int64_t migrate_at_ms_ = 0;
  armed_timer timer_;
};

}  // namespace actormq
