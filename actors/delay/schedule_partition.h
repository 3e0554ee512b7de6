#pragma once
// delay::schedule_partition: what one broker knows of one partition of
// __delay_schedule (delay_schedule_record.h), and, while it leads that
// partition, the delivery plan. Plain class, no actors, no I/O but its own
// index directory: the DELAY actor reads the partition's records and hands
// them in, and produces what this class plans.
//
// Every replica (leader or follower) applies the partition's records in log
// order into an index of its own, a storage::schedule_store in `dir/index`
// (entries (due, offset) bucketed by due time) plus the checkpoint file
// `dir/state`: what the records applied so far left besides the index.
//
// state (written atomically; integers little-endian):
//   magic u32 "AMQD" | version u16 = 2 | applied i64 (the first offset not
//   applied) | len u32 | a sequences record's value (next dispatch,
//   completed, every target's next sequence) | count u32 | per dispatch
//   above completed: len u32 | its dispatch record's value | classes u16
//   (version 2) | per class: class u8 | pending records u64 | crc32c u32
//   of every byte before it. Version 1 (earlier releases) has no classes.
//
// Pending counts: every replica counts the records of the envelopes it
// applied, per delay class (delay_class.h: the level asked for, a retry's
// backoff, a deliver-at time), and subtracts a dispatch's entries (their
// class and records ride in the dispatch record). They are saved with the
// applied offset, so a restart neither loses nor counts twice. Envelopes of
// an earlier release count under class 0 ("unknown"); their dispatches
// written by an earlier release subtract nothing, and an envelope that can
// never be delivered (lost from the log: dropped with an ERROR) stays
// counted.
// Missing: the index is started afresh; corrupt: open() fails with
// corrupt_checkpoint (the owner starts over with reset()). So a broker that takes the
// partition over holds the schedule already and needs to apply only the
// tail; memory does not grow with the number of pending messages.
//
//   envelope   index entry (due, offset)
//   dispatch   its entries are cancelled in the index (a new leader never
//              plans them again); its sequences advance the targets'
//   progress   completed dispatches; a delivered bucket is removed
//   sequences  next dispatch number, completed one, targets' sequences
//
// The leader (lead() .. follow()) holds the index's near buckets in a
// timing wheel. Delivery of due entries, exactly once:
//   1. due(): entries whose time came, in due order (equal due times in
//      log order);
//   2. plan(): with their envelopes, a dispatch: per target one batch of
//      their records under the partition's producer id, with the target's
//      next sequence numbers;
//   3. the actor writes the dispatch record (acks=all), then produces each
//      target's batch (one target's batches strictly in sequence order);
//   4. completed(number) once every target acknowledged;
//   5. progress_due(): a progress record to write (completed advanced, a
//      bucket whose every entry was delivered).
// A new leader first produces unfinished() again: the same batches, same
// sequence numbers; the targets answer the ones they have as duplicates.
// At most max_in_flight dispatches are above the completion the log holds
// (a progress record applied), fewer than the 5 batches a partition
// remembers per producer, so a repeat is always found.
//
// Not thread-safe: the DELAY actor owns it.

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actors/delay/delay_schedule_record.h"
#include "actors/delay/timing_wheel.h"
#include "storage/recovery_report.h"
#include "storage/result.h"
#include "storage/schedule_store.h"

namespace actormq::delay {

struct schedule_partition_config {
  std::filesystem::path dir;  ///< the replica's index
  /// The producer id under which this partition's deliveries are made.
  int64_t producer_id = 0;
  std::chrono::milliseconds bucket_width{std::chrono::minutes(1)};
  /// Buckets starting within this of now are held in the wheel.
  std::chrono::milliseconds load_ahead{std::chrono::minutes(2)};
  /// Dispatches planned and not completed (at most 4: see above).
  size_t max_in_flight = 4;
  /// Envelopes per target in one dispatch.
  size_t max_target_entries = 512;
};

/// Records in a buffer of whole batches (0 when it holds none).
int32_t record_count(const std::string& batches);

/// A fired entry with its envelope, read back from the partition.
struct fired_envelope {
  int64_t offset = 0;
  envelope_record envelope;
};

/// The next dispatch: its record, and per target (same order) the batch.
struct planned_dispatch {
  dispatch_record record;
  std::vector<std::string> batches;
};

class schedule_partition {
 public:
  static storage::result<std::unique_ptr<schedule_partition>> open(
      schedule_partition_config cfg, storage::recovery_report* report = nullptr);

  // --- every replica ---

  /// The first offset not applied yet.
  int64_t applied_offset() const { return applied_; }
  /// Applies the record at offset (offsets below applied_offset() are a
  /// re-read and ignored; a gap is fine: compacted or never a record).
  storage::status apply(int64_t offset, const schedule_record& r);
  /// Marks offsets below `offset` as applied without a record (a batch
  /// whose records did not decode; the log start moved past them).
  void skip_to(int64_t offset);
  /// Makes the index durable, then records applied_offset() (call it every
  /// few hundred ms, not per record: each call syncs files).
  storage::status checkpoint();
  /// Forgets the index and starts over at offset (the replica's log was
  /// cut below what the index holds).
  storage::status reset(int64_t offset);

  // --- the leader ---

  /// Takes the partition over: the wheel is filled from the index.
  storage::status lead(int64_t now_ms);
  /// Drops the wheel and everything planned.
  void follow();
  bool leading() const { return wheel_.has_value(); }

  /// Dispatches recorded in the log and not known to be completed, in
  /// number order: a new leader produces them again before anything new.
  std::vector<dispatch_record> unfinished() const;
  /// Whether a new dispatch may be planned now.
  bool can_plan() const;
  /// Entries due at now_ms, at most max, in due order; they stay in flight
  /// until plan() takes them (return them with unfire() when their
  /// envelopes cannot be read now).
  std::vector<timer_entry> due(int64_t now_ms, size_t max);
  void unfire(const std::vector<timer_entry>& entries);
  /// Fired entries that can never be delivered (their envelope is not in
  /// the log or holds no batch; the caller logged it): counted as done, so
  /// their bucket is removed once it ends.
  void drop(const std::vector<int64_t>& offsets);
  /// The dispatch for fired envelopes (in due order): per target one batch
  /// (at most max_target_entries envelopes; those left over go to the
  /// next dispatch), sequences assigned. invalid_batch when an envelope's
  /// batch does not parse (the caller skips that entry).
  storage::result<planned_dispatch> plan(const std::vector<fired_envelope>& fired);
  /// The batch of one target of a dispatch, from its envelopes in entry
  /// order: used by plan() and to produce an unfinished dispatch again.
  static storage::result<std::string> build_batch(const dispatch_target& t,
                                                  const std::vector<const envelope_record*>& envs,
                                                  int64_t producer_id);
  /// Every target of dispatch number acknowledged its batch.
  void completed(uint64_t number);
  /// A progress record to write, if one is due: completed advanced, or a
  /// bucket that ended before now_ms (and before the log end seen then,
  /// log_end, was applied) has no entry left.
  std::optional<progress_record> progress_due(int64_t now_ms, int64_t log_end);
  /// The record progress_due() gave was not written: report it again.
  void progress_lost() { reported_completed_ = UINT64_MAX; }
  /// The sequences record that keeps what old records held.
  sequences_record sequences() const;
  /// When the wheel next has something due (or a bucket is to be loaded).
  std::optional<int64_t> next_wake() const;
  /// The lowest offset anything pending still needs (an envelope not
  /// delivered, a dispatch not completed); applied_offset() when none.
  int64_t lowest_needed() const;

  int64_t producer_id() const { return cfg_.producer_id; }
  uint64_t completed_through() const { return completed_; }
  size_t in_wheel() const { return wheel_ ? wheel_->size() : 0; }
  /// Records scheduled here and not yet delivered, per delay class
  /// (ascending classes, no zeros); the same on every replica that applied
  /// the same records. O(classes).
  std::vector<std::pair<delay_class, uint64_t>> pending_by_class() const;
  size_t bucket_files() const { return store_->bucket_count(); }

 private:
  schedule_partition(schedule_partition_config cfg, std::unique_ptr<storage::schedule_store> s);
  storage::status apply_envelope(int64_t offset, const envelope_record& e);
  storage::status apply_dispatch(const dispatch_record& d);
  storage::status apply_progress(const progress_record& p);
  void apply_sequences(const sequences_record& s);
  void count_delivered(delay_class cls, uint32_t records);
  storage::status load_buckets(int64_t now_ms);
  void count_in(int64_t due_ms);
  int64_t bucket_of(int64_t due_ms) const;
  storage::status write_applied() const;
  std::string encode_state() const;
  storage::status decode_state(const std::string& bytes);
  void advance_completed();
  bool repeats_into(int64_t bucket) const;

  schedule_partition_config cfg_;
  std::unique_ptr<storage::schedule_store> store_;
  int64_t applied_ = 0;

  uint64_t next_dispatch_ = 1;
  uint64_t completed_ = 0;
  /// The highest completion a progress or sequences record applied here
  /// carried (completed_ also moves on this leader's own completions).
  uint64_t logged_completed_ = 0;
  std::map<target, int32_t> next_seq_;
  /// Dispatch records above completed_, by number.
  std::map<uint64_t, dispatch_record> recent_;
  /// Records not yet delivered per class (no zeros); saved in the state.
  std::map<delay_class, uint64_t> pending_;

  // The leader's state.
  std::optional<timing_wheel> wheel_;
  int64_t loaded_until_ = 0;  ///< buckets below it are in the wheel
  /// Per loaded bucket: entries not delivered yet (in the wheel or in
  /// flight); the log end seen once the bucket ended.
  struct open_bucket {
    size_t entries = 0;
    int64_t closed_at_log_end = -1;
  };
  std::map<int64_t, open_bucket> open_;
  /// Fired, not planned yet: offset -> due.
  std::map<int64_t, int64_t> fired_;
  /// Planned by this leader and not completed: number -> entries' dues.
  std::map<uint64_t, std::vector<int64_t>> planned_;
  uint64_t reported_completed_ = 0;
  /// Completed out of order, above completed_.
  std::set<uint64_t> done_;
  /// What the next plan uses: the log's values at lead(), then advanced by
  /// each plan (the log learns a plan only once its record is applied).
  uint64_t plan_next_dispatch_ = 0;
  std::map<target, int32_t> plan_next_seq_;
};

}  // namespace actormq::delay
