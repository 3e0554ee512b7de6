#pragma once
// cluster_process: a real one-node etcd (etcd_process) and N real
// actormq-broker processes (broker_process) joined into one cluster on
// 127.0.0.1 with ephemeral ports and temporary data dirs. Broker i has
// --broker-id i. Every wait is bounded.
//
// Not thread-safe: drive it from the test's thread.

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "support/broker_process.h"
#include "support/etcd_process.h"
#include "support/temp_dir.h"

namespace actormq::test {

class cluster_process {
 public:
  /// lease_ttl_ms: how long a silent broker stays registered.
  explicit cluster_process(int64_t lease_ttl_ms = 3000, std::string cluster_id = "test")
      : dir_("actormq-cluster"), cluster_id_(std::move(cluster_id)) {
    config_ = (dir_.path() / "cluster.toml").string();
    cluster_lines_ =
        "lease_ttl_ms = " + std::to_string(lease_ttl_ms) + "\netcd_timeout_ms = 1000\n";
  }

  etcd_process& etcd() { return etcd_; }

  /// Adds lines to the brokers' config file, for brokers started
  /// afterwards: keys before the first "[section]" line go to [cluster]
  /// (e.g. "producer_id_block = 10\n"), the rest after it as written.
  void add_cluster_config(const std::string& lines) {
    auto at = lines.rfind('[', 0) == 0 ? 0 : lines.find("\n[");
    if (at == std::string::npos) {
      cluster_lines_ += lines;
      return;
    }
    if (at > 0) ++at;
    cluster_lines_ += lines.substr(0, at);
    sections_ += lines.substr(at);
  }

  /// Starts etcd (unless running) and brokers 0..n-1. The coordinators'
  /// internal topics get min(3, n) replicas, created once all n are live
  /// (a loaded machine may start the last broker later than the
  /// controller's default wait, which would leave them one replica short).
  bool start(int n) {
    planned_ = n;
    if (!etcd_.start()) return fail("etcd: " + etcd_.error());
    for (int i = 0; i < n; ++i) {
      if (!add_broker()) return false;
    }
    return true;
  }

  /// Starts one more broker with the next id (or the given id and data dir
  /// name, to test duplicates).
  bool add_broker(int id = -1) {
    if (id < 0) id = static_cast<int>(brokers_.size());
    auto data = dir_.path() / ("broker-" + std::to_string(brokers_.size()));
    write_config();
    brokers_.push_back(std::make_unique<broker_process>(data, args_for(id)));
    if (!brokers_.back()->start()) return fail(brokers_.back()->error());
    return true;
  }

  /// The arguments that join broker `id` to this cluster.
  std::vector<std::string> args_for(int id) const {
    return {"--config",         config_,  "--cluster-id",    cluster_id_, "--broker-id",
            std::to_string(id), "--etcd", etcd_.client_url()};
  }

  broker_process& broker(size_t i) { return *brokers_.at(i); }
  size_t size() const { return brokers_.size(); }
  const std::string& error() const { return error_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  void write_config() const {
    std::ofstream out(config_, std::ios::trunc);
    out << "[cluster]\n" << cluster_lines_;
    if (planned_ > 0 && cluster_lines_.find("internal_replication_factor") == std::string::npos) {
      out << "internal_replication_factor = " << std::min(planned_, 3)
          << "\ninternal_topic_wait_ms = 60000\n";
    }
    out << sections_;
  }

  bool fail(std::string why) {
    error_ = std::move(why);
    return false;
  }

  temp_dir dir_;
  std::string cluster_id_;
  std::string config_;
  std::string cluster_lines_;  ///< the [cluster] section's keys
  std::string sections_;       ///< every other section
  int planned_ = 0;            ///< brokers start() was asked for
  etcd_process etcd_;
  std::vector<std::unique_ptr<broker_process>> brokers_;
  std::string error_;
};

}  // namespace actormq::test
