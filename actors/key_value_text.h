#pragma once
// The "key = value" text format of small state files and etcd values
// (topic.conf, broker registrations, partition states): one pair per line,
// spaces around keys and values ignored, lines without '=' skipped.

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace actormq {

/// The pairs of text in order (views into text).
std::vector<std::pair<std::string_view, std::string_view>> parse_key_value_lines(
    std::string_view text);

/// The whole of text as a decimal integer, or nullopt.
std::optional<int64_t> parse_int64(std::string_view text);

/// A comma-separated list of decimal int32s ("" is the empty list), or nullopt.
std::optional<std::vector<int32_t>> parse_int32_list(std::string_view text);

}  // namespace actormq
