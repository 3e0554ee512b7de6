#pragma once
// The produce command's delay flags: --delay DURATION, --delay-level N and
// --deliver-at RFC3339, turned into the producer_record fields.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace actormq::cli {

/// Parses an RFC 3339 date-time, "2026-11-25T10:00:00Z" or
/// "2026-11-25T11:00:00.250+01:00" (a 't' or a space may separate date and
/// time, 'z' may be lower case; fractions beyond milliseconds are cut).
/// Returns ms since the epoch, or nullopt when malformed.
std::optional<int64_t> parse_rfc3339(std::string_view text);

/// What the flags asked for; at most one is set (CLI11 enforces it).
struct delay_flags {
  std::optional<std::string> delay;       ///< --delay, parse_duration syntax
  std::optional<uint32_t> delay_level;    ///< --delay-level
  std::optional<std::string> deliver_at;  ///< --deliver-at, RFC 3339
};

/// The checked form: a delay added to each line's send time, a level, or
/// one fixed due time.
struct delay_choice {
  std::optional<int64_t> delay_ms;
  std::optional<uint8_t> level;
  std::optional<int64_t> deliver_at_ms;
};

/// Validates the flags; on error returns nullopt and sets *why.
std::optional<delay_choice> check_delay_flags(const delay_flags& f, std::string* why);

}  // namespace actormq::cli
