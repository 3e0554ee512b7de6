#pragma once
// `actormq cluster status`: the brokers of the cluster (id, address,
// alive/down in etcd, which one is the controller, and LINK: whether the
// answering broker has a live CAF connection to it), whether the control
// plane is up, and per topic and partition the leader, its epoch, the replicas and
// the in-sync set, as the bootstrap broker sees them.
//
//   actormq [--broker HOST:PORT[,HOST:PORT...]] cluster status [TOPIC...]
//
// The table helpers are shared with `topic describe`.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actormq/client/types.h"

namespace actormq::cli {

/// Adds the cluster subcommands to app; the returned function runs the
/// parsed one (returns the exit status) or returns -1 when none was parsed.
std::function<int(const std::string& broker)> add_cluster_commands(CLI::App& app);

/// "1,2,3" ("-" when empty).
std::string format_broker_ids(const std::vector<int32_t>& ids);
/// The leader column: the broker id, or "none" for an offline partition.
std::string format_leader(int32_t leader);
/// The LINK column: "self", "up", "connecting", "unknown", or "down for 12s
/// (why)".
std::string format_link(const client::broker_node& b);
/// The whole `cluster status` text of m.
std::string format_cluster_status(const client::cluster_metadata& m);

}  // namespace actormq::cli
