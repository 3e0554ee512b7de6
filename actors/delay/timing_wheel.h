#pragma once
// A hierarchical timing wheel (Varghese & Lauck; Kafka's TimingWheel): the
// in-memory part of the delay scheduler. A plain, clock-driven data
// structure: it never reads a clock and never sleeps. Its owner (the delay
// actor) calls advance(now) from a timer armed at next_due().
//
// Shape. `levels` wheels of `slots` buckets each. Level 0 buckets are one
// tick wide; each level's buckets are `slots` times wider than the level
// below. With tick T, S slots and L levels:
//
//   level k   bucket width T * S^k    span T * S^(k+1)
//   window    an entry is accepted when ceil(due / T) is below the end of the
//             top level's span, counted from the start of the top bucket the
//             clock is in: at least (S - 1) * S^(L-1) * T and at most S^L * T
//             ahead of the clock (window_end() gives the exact bound now).
//
//   default   T = 1 ms, S = 64, L = 4: level 0 64 ms, level 1 4.1 s,
//             level 2 4.4 min, level 3 4 h 39 min 37 s. Window >= 16,515,072
//             ms (4 h 35 min 15 s), <= 16,777,216 ms (4 h 39 min 37 s).
//
// Entries due beyond the window are not taken: add() returns
// add_result::overflow and the caller keeps them elsewhere (the delay actor
// writes every entry to storage::schedule_store and loads a bucket of it
// into the wheel once the bucket lies inside window_end()). The wheel never
// grows extra levels, so its memory is the entries it holds plus L * S
// buckets.
//
// Placement. An entry due at tick d = ceil(due / T) goes to the lowest
// level k whose span, counted from the clock's bucket at that level,
// reaches d: floor(d / S^k) < floor(clock / S^k) + S. Its slot is
// floor(d / S^k) mod S; the bucket expires (is flushed) at tick
// floor(d / S^k) * S^k. Flushing a level-k bucket re-places its entries one
// level down or lower (a cascade); an entry whose tick is the clock's tick
// is due.
//
// Firing. An entry fires at the first tick boundary at or after its due
// time, never before: with T = 1 ms at advance(due); with T = 10 ms an
// entry due at 1005 fires at advance(1010) or later. Lateness is below one
// tick plus the driver's own delay. advance() returns fired entries ordered
// by due time, and entries with equal due time in the order they were added
// (add order is kept across cascades by a sequence number), so messages of
// one key with one due time keep their key order. An entry added when it is
// already due is returned by the next advance(), after those that were due
// before it.
//
// Worked example (T = 1 ms, S = 4, L = 3: level spans 4, 16, 64 ms), clock 0:
//
//   add(due 2)   level 0 accepts d < 0 + 4: slot 2, expires at 2.
//   add(due 9)   level 0 no; level 1: 9/4 = 2 < 0/4 + 4, slot 2, bucket
//                [8, 12) expires at 8.
//   add(due 40)  level 2: 40/16 = 2 < 0/16 + 4, slot 2, bucket [32, 48)
//                expires at 32.
//   add(due 70)  level 2: 70/16 = 4, not < 4: overflow (window_end() = 64).
//   advance(2)   level 0 slot 2 expires: returns {2}.
//   advance(8)   level 1 bucket [8, 12) expires; 9 cascades to level 0
//                slot 1 (9 < 8 + 4). Returns {}. next_due() = 9.
//   advance(9)   returns {9}.
//   advance(32)  level 2 bucket [32, 48) expires; 40 cascades to level 1
//                (40/4 = 10 < 32/4 + 4), slot 2, expires at 40. Now
//                window_end() = (32/16 + 4) * 16 = 96: due 70 would fit.
//   advance(40)  returns {40}.
//
// next_due() is the expiry of the earliest non-empty bucket: the due time of
// its entries at level 0, an earlier cascade point at higher levels. Either
// way, calling advance() then is what the driver must do.
//
// Cost: add and cancel O(1) (a hash lookup plus list splicing); each entry
// cascades at most L - 1 times; advance() pays O(log(L * S)) per non-empty
// bucket it flushes and sorts each fired tick's batch (already sorted in the
// common case, which is checked first). Empty buckets are skipped, so
// advancing over a long idle gap is cheap.
//
// Not thread-safe: one owner calls every method.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "actors/delay/types.h"
#include "storage/result.h"

namespace actormq::delay {

struct timing_wheel_config {
  /// Width of a level-0 bucket, >= 1 ms. 1 ms for message delays; up to
  /// 10 ms trades precision for fewer buckets per second.
  std::chrono::milliseconds tick{1};
  /// Buckets per level; a power of two from 2 to 4096.
  uint32_t slots = 64;
  /// Number of levels, >= 1, with S^L ticks representable (log2(S) * L <= 48).
  uint32_t levels = 4;
};

class timing_wheel {
 public:
  enum class add_result {
    added,      ///< held by the wheel (possibly already due: next advance returns it)
    overflow,   ///< due at or after window_end(): not taken, store it elsewhere
    duplicate,  ///< an entry with the same (kind, id) is pending: not taken
  };

  /// A wheel whose clock starts at start (rounded down to a tick);
  /// invalid_argument for a bad config or a negative start.
  static storage::result<timing_wheel> make(timing_wheel_config cfg, timestamp_ms start);

  timing_wheel(timing_wheel&&) = default;
  timing_wheel& operator=(timing_wheel&&) = default;
  timing_wheel(const timing_wheel&) = delete;
  timing_wheel& operator=(const timing_wheel&) = delete;

  /// Schedules e; see add_result.
  add_result add(const timer_entry& e);
  /// Removes the pending entry with key k; false if there is none (already
  /// fired, cancelled or never added).
  bool cancel(timer_key k);
  /// Moves the clock to now (never backwards) and returns up to max_entries
  /// entries that are due, in due order (equal due times: add order). Any
  /// due entries beyond max_entries stay queued and come first next time.
  std::vector<timer_entry> advance(timestamp_ms now,
                                   size_t max_entries = std::numeric_limits<size_t>::max());

  /// Pending entries, due ones not yet returned included.
  size_t size() const { return index_.size(); }
  bool empty() const { return index_.empty(); }
  bool contains(timer_key k) const { return index_.count(k) != 0; }
  /// When advance() next has work: the clock if due entries are queued, the
  /// earliest bucket's expiry otherwise; nullopt when the wheel is empty.
  std::optional<timestamp_ms> next_due() const;
  /// The clock: the last advance() target (or start) rounded down to a tick.
  timestamp_ms now() const { return timestamp_ms(clock_ * tick_ms_); }
  /// Entries due before this are accepted by add(); it only moves forward.
  timestamp_ms window_end() const;
  /// The window guaranteed at any clock: (S - 1) * S^(L-1) * T.
  std::chrono::milliseconds min_window() const;
  const timing_wheel_config& config() const { return cfg_; }

 private:
  static constexpr uint32_t npos = std::numeric_limits<uint32_t>::max();
  static constexpr uint16_t ready_level = std::numeric_limits<uint16_t>::max();

  struct node {
    timer_entry entry;
    uint64_t seq = 0;  // add order, the tie-break for equal due times
    uint32_t prev = npos;
    uint32_t next = npos;
    uint16_t level = 0;  // ready_level while queued in ready_, or free
    uint16_t slot = 0;
    bool live = false;
  };
  struct bucket {
    uint32_t head = npos;
    uint32_t tail = npos;
    int64_t expiry = 0;  // tick the bucket flushes at (valid while non-empty)
  };
  // Non-empty buckets ordered by expiry; equal expiries: higher level first,
  // so that a cascade lands before the same tick's level-0 bucket fires.
  struct bucket_ref {
    int64_t expiry;
    uint16_t level;
    uint16_t slot;
    bool operator<(const bucket_ref& o) const {
      if (expiry != o.expiry) return expiry < o.expiry;
      if (level != o.level) return level > o.level;
      return slot < o.slot;
    }
  };

  timing_wheel(timing_wheel_config cfg, int64_t start_tick);

  int64_t due_tick(timestamp_ms due) const;
  // Links node n into the bucket its due tick calls for, relative to clock_;
  // false (and not linked) when it is due at or before the clock.
  bool place(uint32_t n);
  bucket& bucket_at(uint16_t level, uint16_t slot) {
    return buckets_[size_t{level} * cfg_.slots + slot];
  }
  void link(uint32_t n, uint16_t level, uint16_t slot, int64_t expiry);
  void unlink(uint32_t n);
  uint32_t alloc(const timer_entry& e);
  void release(uint32_t n);
  void enqueue_ready(std::vector<uint32_t>& batch);

  timing_wheel_config cfg_;
  int64_t tick_ms_;
  uint32_t bits_;  // log2(slots)
  int64_t clock_;  // current tick
  uint64_t next_seq_ = 0;
  std::vector<bucket> buckets_;  // levels * slots
  std::set<bucket_ref> nonempty_;
  std::vector<node> nodes_;
  std::vector<uint32_t> free_;
  std::deque<uint32_t> ready_;  // due, in delivery order; cancelled ones are skipped
  std::unordered_map<timer_key, uint32_t> index_;
};

}  // namespace actormq::delay
