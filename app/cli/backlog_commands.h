#pragma once
// `actormq backlog ...`: divert a consumer group's backlog to a temporary
// topic with more partitions, watch it drain, remove it
// (client/backlog_diversion.h; docs/operations.md, "Divert a backlog").
//
//   actormq backlog divert TOPIC --group G --to TEMP --partitions N [--drain-group D]
//       moves G's backlog (its committed offsets up to the log end now) into
//       TEMP, printing progress each second; exits once all is moved
//   actormq backlog resume TEMP     goes on after an interrupted divert
//   actormq backlog status TEMP [--watch]
//       moved, drained, rate and time left
//   actormq backlog finish TEMP [--force]
//       deletes TEMP, its state topic and the drain group once drained
//
// G must have no live members while its backlog moves; D's consumers read
// TEMP from its beginning (`actormq consume TEMP --group D --from-beginning`).

#include <CLI/CLI.hpp>

#include <atomic>
#include <functional>
#include <string>

namespace actormq::cli {

/// Adds the backlog subcommands; the returned function runs the parsed one
/// (returns the exit status) or returns -1.
std::function<int(const std::string& broker)> add_backlog_commands(CLI::App& app,
                                                                   const std::atomic<bool>& stop);

}  // namespace actormq::cli
