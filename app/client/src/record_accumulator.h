#pragma once
// record_accumulator: the producer's batches, from the first record to the
// acknowledgement. User threads append records to the open batch of their
// partition (one open batch for immediate records, one for delayed ones
// per partition); a batch is sealed when full, after linger_ms, or on
// flush. drain() hands the sender the sealed batches it may send now:
// per partition in sequence order, full ones within
// max_in_flight_per_partition and one not full only alone (Nagle's rule:
// a round trip carries what arrives while it is out),
// each stamped with the producer id and its sequence once (a batch that
// is retried, at the same or another leader, keeps its sequence); delayed
// batches carry no sequence and are not ordered. A drained batch's CRC is
// written by write_crc() after the lock is released. settle() removes a
// batch and hands over its callbacks as a completion, whose reports are
// built after the lock; expire() settles batches still queued or open
// past their delivery deadline.
//
// A new producer id (after a sequence gap) gives a batch a new identity:
// the broker cannot tell its resend from a new batch. So a batch that was
// sent under the old id and may be stored (its reply was lost, timed out
// or an error that does not prove it absent) is never restamped: while
// the new id waits (drain_context::hold), it alone is resent under its old
// stamp until the broker settles it (stored: duplicate, with its offsets),
// proves it absent (out_of_order_sequence: mark_absent) or its delivery
// timeout fails it. awaiting_outcome() says when none is left.
//
// Plain C++ over the storage format; no I/O, time passed in. Not
// thread-safe: the producer calls it under its mutex (write_crc() and
// completion::report() excepted: they touch what the lock handed over).

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actormq/client/config.h"
#include "actormq/client/types.h"
#include "batch_buffer_pool.h"
#include "message_id_source.h"
#include "storage/record_batch_builder.h"

namespace actormq::client {
struct producer_record_view;
}

namespace actormq::client::detail {

/// When a batch is due: a delay level, or own_times (records with a
/// deliver-at time, each sent with its own in deliverAtList), makes it a
/// delayed batch, never mixed with others. deliver_at_ms: one time for the
/// whole batch (the protocol's deliverAtMs; the producer uses own_times).
struct delay_key {
  int64_t deliver_at_ms = 0;
  uint8_t level = 0;
  bool own_times = false;
  bool delayed() const { return deliver_at_ms > 0 || level > 0 || own_times; }
  bool operator==(const delay_key&) const = default;
};

/// A sealed batch: its bytes in the storage format and its records' callbacks.
struct producer_batch {
  using clock = std::chrono::steady_clock;
  enum class state { queued, in_flight };
  topic_partition tp;
  /// The batch in the storage format. Shared: a request refers to it
  /// without copying, and one that ended unanswered keeps it while its
  /// write may still read it (write_pins.h); stamp() never rewrites a
  /// buffer that was sent.
  std::shared_ptr<std::string> bytes;
  std::vector<delivery_callback> callbacks;
  std::vector<message_id> ids;  ///< of its records, in order
  size_t record_bytes = 0;
  int32_t record_count = 0;
  bool stamped = false;
  /// The bytes lack their CRC: write_crc() puts it in before they are
  /// sent, on the sender thread without the producer's lock (a CRC of a
  /// 1 MiB batch held it for ~0.1 ms, and every send() waited).
  bool crc_pending = false;
  /// Sealed because it reached the batch limit. Only full batches are
  /// pipelined (up to max_in_flight_per_partition); one sealed early (its
  /// linger over, a flush) is sent when nothing of its partition is in
  /// flight.
  bool full = false;
  /// The broker answered out_of_order_sequence to this stamp: the batch is
  /// not in the log (the broker keeps the last producer_state_table::
  /// batches_kept batches, at least max_in_flight_per_partition), so a new
  /// producer id may restamp it.
  bool absent = false;
  state st = state::queued;
  uint32_t attempts = 0;
  /// The partition leader this attempt goes to ("" = bootstrap broker).
  /// The batch keeps its producer id and sequence when the leader moves.
  std::string leader_address;
  clock::time_point retry_at{};
  clock::time_point deadline{};
  delay_key delay;
  std::vector<int64_t> dues;  ///< delay.own_times: each record's deliver-at, in order
};

/// A settled batch: its records' callbacks and its outcome, taken from the
/// batch under the producer's lock; each record's report is built by
/// report() after the lock is released (built under it, a 1,024-record
/// batch's reports kept every send() waiting).
struct completion {
  topic_partition tp;
  std::vector<delivery_callback> callbacks;  ///< one a record, in order
  std::vector<message_id> ids;               ///< of its records, in order
  std::vector<int64_t> dues;                 ///< each record's deliver-at (own times)
  error err;
  int64_t base_offset = -1;   ///< the first record's offset, -1 when none
  int64_t scheduled_at = -1;  ///< the due time when the broker scheduled the batch
  uint32_t throttled_ms = 0;
  /// The number of records.
  size_t size() const { return callbacks.size(); }
  /// Record i's delivery report.
  delivery_report report(size_t i) const;
  /// The report's fields that every record of the batch shares (its topic is
  /// a string); set_record() then writes record i's own into it, so that a
  /// batch's callbacks copy the topic once, not once a record.
  delivery_report batch_report() const;
  void set_record(size_t i, delivery_report& rep) const;
};

class record_accumulator {
 public:
  using clock = std::chrono::steady_clock;
  using batch_ptr = std::shared_ptr<producer_batch>;

  record_accumulator(const producer_config& cfg, size_t batch_limit);
  record_accumulator(const record_accumulator&) = delete;  // last_meta_ points into meta_
  record_accumulator& operator=(const record_accumulator&) = delete;

  // ---- user side ----

  /// Records the partition count of a topic (from metadata), looked up at now.
  void set_partition_count(const std::string& topic, uint32_t n, clock::time_point now);
  /// The count recorded less than max_age before now, if any: send() reuses
  /// it instead of asking the router (three lock round trips) per record.
  std::optional<uint32_t> recent_partition_count(std::string_view topic, clock::time_point now,
                                                 clock::duration max_age);
  /// The partition of rec: its own, else murmur2 of the key, else sticky
  /// or round robin per the partitioner. The count must be known.
  uint32_t choose_partition(const producer_record_view& rec);
  /// Appends a record of estimated size est to tp's open batch (sealing
  /// the open one first when it is full or of another delay), with its
  /// message id (rec.id, else an amq-id header it has, else a new one).
  /// Returns true when the sender should look (a batch was opened or
  /// sealed).
  bool append(const topic_partition& tp, const producer_record_view& rec, int64_t timestamp_ms,
              size_t est, delivery_callback cb);
  /// Record bytes appended and not yet settled.
  size_t buffered_bytes() const { return buffered_bytes_; }
  /// The buffers of settled batches kept for new ones.
  const batch_buffer_pool& buffer_pool() const { return *pool_; }

  // ---- sender side ----

  /// What drain() needs from the sender.
  struct drain_context {
    clock::time_point now;
    bool flush = false;  ///< seal every open batch now (flush, close)
    /// A new producer id is on its way: send only retries of batches sent
    /// under the old one whose fate is unknown (awaiting_outcome), with
    /// their old stamp; nothing is stamped.
    bool hold = false;
    int64_t producer_id = -1;
    int16_t epoch = -1;
    /// Picks the leader of a batch; false while there is none to send to.
    std::function<bool(producer_batch&)> route;
    /// Backoff before retry n (n >= 1).
    std::function<clock::duration(uint32_t)> backoff;
  };
  struct drained {
    std::vector<batch_ptr> ready;  ///< marked in flight, attempts counted
    clock::time_point next_wake;   ///< when to look again at the latest
    bool want_metadata = false;    ///< a batch waits for a leader
  };
  /// Seals due open batches and takes the batches to send now. Their
  /// bytes may still lack the CRC: write_crc() each before sending it.
  drained drain(const drain_context& ctx);
  /// Writes b's CRC when it is pending (a new or restamped buffer that no
  /// request has read). Needs no lock: only the thread that drained b
  /// touches its bytes until it is sent.
  static void write_crc(producer_batch& b);
  /// A reply (or failure) for b arrived: it is queued again until settled
  /// or retried.
  void returned(producer_batch& b);
  /// Removes b and adds its completion to out; scheduled_at >= 0 is
  /// the due time of a batch the broker scheduled; throttled_ms how long
  /// the broker held it for the topic's produce quota.
  void settle(producer_batch& b, const error& err, int64_t base_offset,
              std::vector<completion>& out, int64_t scheduled_at = -1, uint32_t throttled_ms = 0);
  /// Settles queued batches past their delivery deadline, open ones too
  /// (sealed first); sets sequence_gap when one of them was stamped.
  std::vector<completion> expire(clock::time_point now, bool& sequence_gap);
  /// Seals every open batch and settles everything not in flight with err.
  std::vector<completion> fail_unsent(const error& err);
  /// A new producer id: sequences start again at 0 and every unsettled
  /// batch is stamped again before it is sent. Only once
  /// awaiting_outcome() is false: no batch that may be stored is left.
  void restart_sequences();
  /// True while a batch sent under the current stamp may be stored and is
  /// not settled: a new producer id must wait for it.
  bool awaiting_outcome() const;
  /// The broker proved b absent (out_of_order_sequence under its stamp).
  void mark_absent(producer_batch& b) { b.absent = true; }
  /// True when an earlier batch of b's partition is still unsettled and
  /// may fill the gap before b (not proven absent).
  bool earlier_unsettled(const producer_batch& b) const;
  /// Batches in flight over all partitions.
  uint32_t in_flight() const { return in_flight_total_; }
  /// True when tp has a batch open, or sealed and not in flight (waiting
  /// for a slot in flight or its retry). A reply for tp must wake the
  /// sender only then: what other partitions wait for (a linger, a retry
  /// time, their own replies) the sender has already planned.
  bool has_unsent(const topic_partition& tp) const;

 private:
  struct open_batch {
    storage::record_batch_builder builder;
    std::vector<delivery_callback> callbacks;
    std::vector<message_id> ids;
    clock::time_point created{};
    size_t record_bytes = 0;
    delay_key delay;
    std::vector<int64_t> dues;
  };
  struct partition_state {
    std::optional<open_batch> open;
    /// Sealed, unsettled batches in sequence order (front = oldest).
    std::deque<batch_ptr> batches;
    uint32_t in_flight = 0;
    int32_t next_sequence = 0;
    /// Delayed records: their own open batch (one delay_key) and sealed,
    /// unsettled batches, unstamped and unordered relative to `batches`.
    std::optional<open_batch> open_delayed;
    std::deque<batch_ptr> delayed;
    uint32_t delayed_in_flight = 0;
  };
  struct topic_meta {
    uint32_t partitions = 0;
    clock::time_point counted_at{};  ///< when partitions was last looked up
    uint32_t sticky = 0;
    uint32_t round_robin = 0;
  };

  batch_ptr make_batch(const topic_partition& tp, open_batch& ob) const;
  /// What the buffer pool keeps while records are buffered: at most half
  /// of buffer_memory; and once none are: two batches' worth.
  size_t busy_pool_bytes() const;
  size_t idle_pool_bytes() const;
  /// Opens slot for records of delay dk.
  void open(std::optional<open_batch>& slot, const delay_key& dk);
  void seal(const topic_partition& tp, partition_state& ps, bool full = false);
  void seal_delayed(const topic_partition& tp, partition_state& ps);
  static void stamp(producer_batch& b, int64_t producer_id, int16_t epoch, int32_t sequence);
  /// Sent under its stamp, not settled, not proven absent.
  static bool may_be_stored(const producer_batch& b) {
    return b.stamped && b.attempts > 0 && !b.absent;
  }

  producer_config cfg_;
  size_t batch_limit_;
  message_id_source ids_;
  std::shared_ptr<batch_buffer_pool> pool_;
  std::map<topic_partition, partition_state> parts_;
  /// Looked up by the record's topic view: no string built per record.
  struct topic_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, topic_meta, topic_hash, std::equal_to<>> meta_;
  /// The entry of meta_ found last (its nodes stay put and none is erased):
  /// a producer that sends to one topic compares the topic's bytes, and
  /// hashes them only when the topic changes (send() looked it up twice a
  /// record).
  std::pair<const std::string, topic_meta>* last_meta_ = nullptr;
  /// meta_'s entry for topic, if any.
  topic_meta* find_meta(std::string_view topic);
  size_t buffered_bytes_ = 0;
  uint32_t in_flight_total_ = 0;
};

}  // namespace actormq::client::detail
