#pragma once
// `actormq inspect ...`: the actor inspector in a terminal (docs/inspector.md).
//
//   actormq inspect [--once] [--json] [--local] [--interval-ms N]
//                   [--kind KIND] [--sort path|mailbox|rate]
//                                     a top-like table of every actor of the
//                                     cluster (--local: the broker asked
//                                     only), refreshed until Ctrl-C;
//                                     --once prints one snapshot; --json
//                                     prints the JSON document instead
//                                     (one line per refresh)
//   actormq inspect actor PATH [--broker-id N]
//                                     one actor's whole state, as indented
//                                     JSON

#include <CLI/CLI.hpp>

#include <atomic>
#include <functional>
#include <string>

namespace actormq::cli {

/// Adds the inspect subcommand to app; the returned function runs it
/// (returns the exit status) or returns -1 when it was not parsed. A
/// refreshing view ends when stop becomes true.
std::function<int(const std::string& broker)> add_inspect_commands(CLI::App& app,
                                                                   const std::atomic<bool>& stop);

}  // namespace actormq::cli
