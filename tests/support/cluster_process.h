#pragma once
// cluster_process: a real one-node etcd (etcd_process) and N real
// actormq-broker processes (broker_process) joined into one cluster on
// 127.0.0.1 with ephemeral ports and temporary data dirs. Broker i has
// --broker-id i. Every wait is bounded.
//
// Not thread-safe: drive it from the test's thread.

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
    std::ofstream(config_) << "[cluster]\nlease_ttl_ms = " << lease_ttl_ms
                           << "\netcd_timeout_ms = 1000\n";
  }

  etcd_process& etcd() { return etcd_; }

  /// Appends lines to the [cluster] section of the brokers' config file
  /// (e.g. "producer_id_block = 10\n"); for brokers started afterwards.
  void add_cluster_config(const std::string& lines) {
    std::ofstream(config_, std::ios::app) << lines;
  }

  /// Starts etcd (unless running) and brokers 0..n-1.
  bool start(int n) {
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
  bool fail(std::string why) {
    error_ = std::move(why);
    return false;
  }

  temp_dir dir_;
  std::string cluster_id_;
  std::string config_;
  etcd_process etcd_;
  std::vector<std::unique_ptr<broker_process>> brokers_;
  std::string error_;
};

}  // namespace actormq::test
