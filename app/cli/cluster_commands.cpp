#include "cluster_commands.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "actormq/client/admin.h"
#include "cli_common.h"

namespace actormq::cli {

namespace {

std::string padded(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

int run_status(const std::string& broker, const std::vector<std::string>& topics) {
  auto adm = client::admin::create(connection_for(broker));
  if (!adm) return fail("", adm.err());
  auto m = (*adm)->metadata(topics);
  if (!m) {
    std::fprintf(stderr, "actormq: error: cannot read cluster metadata: %s\n",
                 m.err().to_string().c_str());
    return 1;
  }
  std::fputs(format_cluster_status(*m).c_str(), stdout);
  int rc = 0;
  for (const auto& t : m->topics) {
    if (t.err) {
      std::fprintf(stderr, "actormq: error: topic '%s': %s\n", t.name.c_str(),
                   t.err.to_string().c_str());
      rc = 1;
    }
  }
  return rc;
}

}  // namespace

std::string format_broker_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (auto id : ids) {
    if (!s.empty()) s += ",";
    s += std::to_string(id);
  }
  return s.empty() ? "-" : s;
}

std::string format_leader(int32_t leader) {
  return leader < 0 ? "none" : std::to_string(leader);
}

std::string format_link(const client::broker_node& b) {
  std::string out = client::to_string(b.link);
  if (b.link != client::peer_link::down) return out;
  if (b.link_since_ms > 0) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    out += " for " + std::to_string(std::max<int64_t>(0, now - b.link_since_ms) / 1000) + "s";
  }
  if (!b.link_error.empty()) out += " (" + b.link_error + ")";
  return out;
}

std::string format_cluster_status(const client::cluster_metadata& m) {
  std::string out;
  out += "Cluster: " + (m.cluster_id.empty() ? std::string("(single broker)") : m.cluster_id);
  out += "\tControl plane: " + std::string(m.control_plane_up ? "up" : "down");
  out += "\tController: " +
         (m.controller_id < 0 ? std::string("none") : std::to_string(m.controller_id));
  out += "\tAnswered by: " + std::to_string(m.broker_id) + "\n";
  // STATE is the registration in etcd; LINK is the answering broker's own
  // connection to that broker (its PEERS actor).
  out += padded("BROKER", 8) + padded("ADDRESS", 24) + padded("STATE", 7) + padded("ROLE", 12) +
         "LINK\n";
  for (const auto& b : m.brokers) {
    out += padded(std::to_string(b.id), 8) + padded(b.address, 24) +
           padded(b.alive ? "alive" : "down", 7) +
           padded(b.id == m.controller_id ? "controller" : "-", 12) + format_link(b) + "\n";
  }
  for (const auto& t : m.topics) {
    if (t.err) continue;
    out += "\nTopic: " + t.name + "\tPartitions: " + std::to_string(t.partitions.size()) +
           "\tReplicationFactor: " + std::to_string(t.replication_factor) + "\n";
    out += padded("PARTITION", 11) + padded("LEADER", 8) + padded("EPOCH", 7) +
           padded("REPLICAS", 16) + "ISR\n";
    for (const auto& p : t.partitions) {
      out += padded(std::to_string(p.partition), 11) + padded(format_leader(p.leader), 8) +
             padded(std::to_string(p.leader_epoch), 7) + padded(format_broker_ids(p.replicas), 16) +
             format_broker_ids(p.isr) + "\n";
    }
  }
  return out;
}

std::function<int(const std::string&)> add_cluster_commands(CLI::App& app) {
  auto* cluster = app.add_subcommand("cluster", "brokers, controller and partition leaders");
  cluster->require_subcommand(1);
  auto topics = std::make_shared<std::vector<std::string>>();
  auto* status = cluster->add_subcommand(
      "status",
      "brokers (alive/down in etcd, controller, this broker's link to each), control plane, and "
      "per partition the leader, epoch, replicas and in-sync replicas");
  status->add_option("topics", *topics, "topics to show (default: all)");
  return [status, topics](const std::string& broker) {
    if (status->parsed()) return run_status(broker, *topics);
    return -1;
  };
}

}  // namespace actormq::cli
