#pragma once
// local_cluster: a real cluster on 127.0.0.1 that the checker owns: a
// one-node etcd and N actormq-broker processes (ids 0..N-1) (or, standalone,
// one broker without etcd), each on ports
// picked free at first start and kept across restarts, with data dirs and
// logs under one work directory:
//
//   <work>/etcd/          etcd's data dir; <work>/etcd.log
//   <work>/broker.toml    the brokers' config ([cluster] settings)
//   <work>/broker-<id>/   a broker's data dir; <work>/broker-<id>.log
//
// Every wait is bounded. metadata() asks the live brokers in turn and
// returns the first answer from a broker that reaches etcd, so a view is
// never taken from a paused or dead broker.
//
// Not thread-safe: the scenario's thread drives it.

#include <actormq/client/admin.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "child_process.h"

namespace actormq::checker {

struct cluster_settings {
  std::filesystem::path bin_dir;   ///< holds actormq-broker (or broker/actormq-broker)
  std::filesystem::path work_dir;  ///< created; kept (the caller removes it)
  std::string etcd_binary = "/usr/bin/etcd";
  /// One broker on its own: no etcd and no [cluster] section, the broker the
  /// quick start runs (kill-single). brokers is then 1.
  bool standalone = false;
  int brokers = 3;
  int64_t lease_ttl_ms = 2000;
  int64_t replica_lag_ms = 2000;
  int64_t etcd_timeout_ms = 1000;
  std::string broker_log_level = "info";  ///< the brokers' --log-level
  /// More sections for broker.toml (e.g. "[transactions]\ntimeout_ms = 1000\n").
  std::string extra_config;
  std::chrono::milliseconds start_timeout{20000};
};

class local_cluster {
 public:
  explicit local_cluster(cluster_settings s);
  /// Kills everything still running.
  ~local_cluster();
  local_cluster(const local_cluster&) = delete;
  local_cluster& operator=(const local_cluster&) = delete;

  /// Starts etcd and every broker, then waits until each is registered and
  /// there is a controller. False with error() otherwise.
  bool start();

  // --- brokers ---
  /// Starts broker id (again) on its data dir and port; waits for its
  /// "listening on" line unless told not to (then false only when it
  /// cannot be forked).
  bool start_broker(int id, bool wait_listening = true);
  /// SIGKILL (kill) or SIGTERM.
  void stop_broker(int id, bool kill);
  void pause_broker(int id);
  void resume_broker(int id);
  bool broker_running(int id);
  bool broker_paused(int id) const;
  /// "HOST:PORT" of its RPC listener.
  std::string address(int id) const;
  /// Every broker's address, starting with broker `first` ("a,b,c").
  std::string bootstrap(int first = 0) const;
  std::filesystem::path data_dir(int id) const;
  int size() const { return settings_.brokers; }

  // --- etcd ---
  bool start_etcd();
  void stop_etcd(bool kill);
  void pause_etcd();
  void resume_etcd();
  std::string etcd_url() const;

  /// Resumes whatever is paused and starts whatever is down.
  bool heal();
  /// SIGTERM to every broker (bounded), then etcd.
  void shutdown();

  /// The cluster as the first live broker that reaches etcd sees it (each
  /// asked with a short timeout); nullopt when none answers.
  std::optional<client::cluster_metadata> metadata(const std::string& topic);
  /// Every running, unpaused broker's own view (brokers that do not answer
  /// or cannot reach etcd are left out; the count of those is `missing`).
  std::vector<client::cluster_metadata> views(const std::string& topic, int& missing);
  /// The admin client bootstrapped at broker id (kept across calls).
  client::admin* admin_at(int id);

  const std::string& error() const { return error_; }
  const cluster_settings& settings() const { return settings_; }

 private:
  struct broker {
    uint16_t port = 0;
    std::unique_ptr<child_process> proc;
  };
  std::vector<std::string> broker_argv(int id) const;
  bool fail(std::string why);

  cluster_settings settings_;
  std::filesystem::path broker_bin_;
  std::string config_;
  uint16_t etcd_client_port_ = 0;
  uint16_t etcd_peer_port_ = 0;
  std::unique_ptr<child_process> etcd_;
  std::vector<broker> brokers_;
  std::map<int, std::unique_ptr<client::admin>> admins_;
  std::string error_;
};

/// A TCP port on 127.0.0.1 that nothing listens on right now (0 if none).
uint16_t free_port();
/// A one-shot HTTP/1.0 request to 127.0.0.1:port (5 s socket timeouts);
/// the whole response, or "" when the connection fails.
std::string http_request(uint16_t port, const std::string& request);

}  // namespace actormq::checker
