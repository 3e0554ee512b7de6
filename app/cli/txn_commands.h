#pragma once
// `actormq txn ...`: transactional messages for operators.
//
//   actormq txn list                      open (and recently decided)
//                                         transactions: id, group, target,
//                                         state, age, checks made
//   actormq txn resolve ID commit|rollback
//                                         decides a transaction by hand

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace actormq::cli {

/// Adds the txn subcommands to app; the returned function runs the parsed
/// one (returns the exit status) or returns -1 when none was parsed.
std::function<int(const std::string& broker)> add_txn_commands(CLI::App& app);

}  // namespace actormq::cli
