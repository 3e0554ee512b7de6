#pragma once
// What asked for a delayed message's delay, kept with the message so the
// scheduler can count what is pending per delay level
// (actormq_delay_pending, docs/inspector.md). One byte in __delay_schedule
// envelopes (delay_schedule_record.h) and in the schedule index's entries
// (storage/schedule_store.h): never renumber.
//
//   0         not known: scheduled by a release before this was recorded
//   1..250    message delay level n (the broker's delay_levels)
//   251       a consumer retry's backoff
//   252       a deliver-at time (or a delay that is no level)

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "actors/delay/delay_levels.h"

namespace actormq::delay {

enum class delay_class : uint8_t {
  unknown = 0,
  retry = 251,
  deliver_at = 252,
};

inline constexpr size_t max_class_level = 250;

/// The class of message delay level n (1-based); deliver_at for 0 or a
/// level above max_class_level.
delay_class level_class(size_t level);
/// The class of a message delayed by d: its level when d is exactly one of
/// levels, deliver_at otherwise.
delay_class class_of_delay(const delay_levels& levels, milliseconds d);
/// The level of c, or nullopt for the other classes.
std::optional<size_t> level_of(delay_class c);
/// The metric label: "1".."250", "retry", "at" or "unknown".
std::string class_label(delay_class c);

}  // namespace actormq::delay
