#pragma once
// Types shared by the delay scheduler's plain classes (timing_wheel,
// delay_levels) and the actor that will drive them.
//
// One scheduler serves three users, told apart by timer_kind:
//   delayed_message  a message published with a delay level or deliver-at
//                    time; the payload sits in the internal schedule log and
//                    the id is its offset there.
//   consumer_retry   a nacked message waiting for its backoff (1s 5s 30s 1m
//                    5m); the id names the retry record the group owns.
//   txn_check        a transaction check-back timeout; the id is the
//                    producer id.
// The scheduler never sees payloads: an entry is (due time, kind, id), and
// (kind, id) must be unique among the pending entries of one scheduler.

#include <cstddef>
#include <cstdint>
#include <functional>

#include "storage/types.h"

namespace actormq::delay {

using storage::timestamp_ms;

/// The owner's handle for the thing a timer stands for (see the kinds above).
using timer_id = storage::named_type<uint64_t, struct timer_id_tag>;

/// Who a timer belongs to. Stored as one byte on disk: never renumber.
enum class timer_kind : uint8_t {
  delayed_message = 0,
  consumer_retry = 1,
  txn_check = 2,
};

/// One scheduled entry: fires once the clock reaches due.
struct timer_entry {
  timestamp_ms due{0};
  timer_kind kind = timer_kind::delayed_message;
  timer_id id{0};

  friend bool operator==(const timer_entry&, const timer_entry&) = default;
};

/// The identity of a pending entry, the key of cancel().
struct timer_key {
  timer_kind kind = timer_kind::delayed_message;
  timer_id id{0};

  friend bool operator==(const timer_key&, const timer_key&) = default;
};

inline timer_key key_of(const timer_entry& e) {
  return {e.kind, e.id};
}

}  // namespace actormq::delay

template <>
struct std::hash<actormq::delay::timer_key> {
  size_t operator()(const actormq::delay::timer_key& k) const noexcept {
    // splitmix64 finalizer over id ^ kind: ids are often dense offsets.
    uint64_t x = k.id() ^ (uint64_t{static_cast<uint8_t>(k.kind)} << 56);
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return static_cast<size_t>(x ^ (x >> 31));
  }
};
