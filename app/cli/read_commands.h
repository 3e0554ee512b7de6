#pragma once
// Reading a topic outside any consumer group (client::reader):
//
//   actormq consume TOPIC [--partition P] [--offset O | --from-time T |
//                          --from-beginning] [--format F] ...
//       (consume without --group: nothing is committed)
//   actormq message find TOPIC --id ID [--partition P] [--from-time T]
//                               [--format F] [--all]
//       (scans to the end of the log; exit 1 when no message has the id)

#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace actormq::cli {

struct read_options {
  std::string topic;
  std::optional<uint32_t> partition;     ///< every partition when missing
  std::optional<int64_t> offset;         ///< exact start offset
  std::optional<std::string> from_time;  ///< RFC 3339 or ms since the epoch
  bool from_beginning = false;           ///< else the log end
  int64_t max_messages = -1;
  int64_t timeout_ms = -1;  ///< exit after this long without a message
  std::string format = "%v";
};

/// `consume` without --group. Returns the exit status.
int read_without_group(const std::string& broker, const read_options& o,
                       const std::atomic<bool>& stop);

/// Adds `message find`; the returned function runs it when parsed (returns
/// the exit status) or returns -1.
std::function<int(const std::string& broker)> add_message_commands(CLI::App& app,
                                                                   const std::atomic<bool>& stop);

}  // namespace actormq::cli
