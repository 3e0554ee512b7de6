#pragma once
// Delay levels (RocketMQ's delayTimeLevel) and the duration syntax of the
// configuration.
//
// A producer asks for "level n" instead of a time; level n means the n-th
// duration of the configured list, counted from 1 (level 0 = not delayed).
// The default list is the 18 levels
//
//   level  1  2   3   4  5  6  7  8  9 10 11 12 13  14  15  16 17 18
//   delay 1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h
//
// Consumer retries use the same class with the backoff list "1s 5s 30s 1m
// 5m": attempt n waits the n-th duration, and the last one once the list is
// used up (delay_of_attempt).
//
// Duration syntax (parse_duration): one or more <integer><unit> parts with
// units ms, s, m, h, d, e.g. "500ms", "90s", "1m", "2h", "30d", "1h30m".
// A list (delay_levels::parse) is durations separated by spaces and/or
// commas.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "storage/result.h"

namespace actormq::delay {

using std::chrono::milliseconds;

/// The longest single duration we accept in configuration or as a delay
/// (365 days); deliver-at times up to this far ahead are schedulable.
inline constexpr milliseconds max_delay{365LL * 24 * 3600 * 1000};

/// Parses a duration such as "90s", "1m", "2h", "30d", "1h30m" or "250ms".
/// invalid_argument for an empty string, a missing unit, an unknown unit,
/// a negative value or more than max_delay.
storage::result<milliseconds> parse_duration(std::string_view text);

/// The shortest text parse_duration reads back to d: "1s", "90s", "2h",
/// "1h30m", "250ms", "0ms".
std::string format_duration(milliseconds d);

/// An ordered list of delays, addressed by 1-based level.
class delay_levels {
 public:
  /// The 18 default message delay levels (see the table above).
  static const delay_levels& message_defaults();
  /// The default consumer retry backoff: 1s 5s 30s 1m 5m.
  static const delay_levels& retry_defaults();

  /// Parses a list such as "1s 5s 10s 30s 1m". Each delay must be > 0 and
  /// the list strictly increasing and non-empty; invalid_argument otherwise.
  static storage::result<delay_levels> parse(std::string_view spec);
  /// Validates an explicit list with the same rules as parse.
  static storage::result<delay_levels> make(std::vector<milliseconds> delays);

  /// Number of levels (18 for the defaults).
  size_t size() const { return delays_.size(); }
  /// The delay of level (1-based); invalid_argument when level is 0 or
  /// greater than size().
  storage::result<milliseconds> delay_of(size_t level) const;
  /// The delay before retry attempt (1-based); attempts past the end of the
  /// list use the last delay. invalid_argument for attempt 0.
  storage::result<milliseconds> delay_of_attempt(size_t attempt) const;
  /// The level whose delay is exactly d, or 0 if there is none.
  size_t level_of(milliseconds d) const;

  const std::vector<milliseconds>& delays() const { return delays_; }
  /// The list in parse() syntax, e.g. "1s 5s 10s".
  std::string to_string() const;

 private:
  explicit delay_levels(std::vector<milliseconds> d) : delays_(std::move(d)) {}
  std::vector<milliseconds> delays_;
};

}  // namespace actormq::delay
