#pragma once
// `actormq dlq ...`: list, show, re-drive and count dead letters.
//
//   actormq dlq list TOPIC --group G [--max N] [--dlq-topic NAME]
//   actormq dlq show TOPIC --group G --offset O
//   actormq dlq redrive TOPIC --group G [--reason R] [--from O] [--to O]
//   actormq dlq stats
//
// TOPIC and G name the DLQ TOPIC.G.dlq; --dlq-topic names a DLQ directly
// (e.g. TOPIC.dlq, which belongs to no group).

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace actormq::cli {

/// Adds the dlq subcommands to app; the returned function runs the parsed
/// one (returns the exit status) or returns -1 when none was parsed.
std::function<int(const std::string& broker)> add_dlq_commands(CLI::App& app);

}  // namespace actormq::cli
