#pragma once
// `actormq group reset-offsets`: moves a consumer group's committed offsets
// by hand, as Kafka's kafka-consumer-groups --reset-offsets does.
//
//   actormq group reset-offsets G --topic T [--partition P]
//       (--to-earliest | --to-latest | --to-datetime TIME | --shift-by N |
//        --to-offset O) [--dry-run]
//
// Refused while the group has live members (they would overwrite the new
// offsets with their next commit): stop the consumers first. Prints
// TOPIC PARTITION CURRENT NEW for each partition; --dry-run commits nothing.
// A target outside [log start, log end] is clamped to it.

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace actormq::cli {

/// Adds reset-offsets under the `group` command; the returned function runs
/// it when parsed (returns the exit status) or returns -1.
std::function<int(const std::string& broker)> add_group_reset_command(CLI::App& group);

}  // namespace actormq::cli
