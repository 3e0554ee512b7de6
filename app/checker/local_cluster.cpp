#include "local_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <thread>

namespace actormq::checker {

namespace {

constexpr auto poll_interval = std::chrono::milliseconds(50);

std::filesystem::path find_broker(const std::filesystem::path& bin_dir) {
  for (auto p : {bin_dir / "actormq-broker", bin_dir / "broker" / "actormq-broker",
                 bin_dir / ".." / "broker" / "actormq-broker"}) {
    if (std::filesystem::exists(p)) return p;
  }
  return {};
}

}  // namespace

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string http_request(uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

local_cluster::local_cluster(cluster_settings s) : settings_(std::move(s)) {
  brokers_.resize(static_cast<size_t>(settings_.brokers));
}

local_cluster::~local_cluster() {
  admins_.clear();
  for (auto& b : brokers_) {
    if (b.proc) b.proc->stop(true, std::chrono::seconds(5));
  }
  if (etcd_) etcd_->stop(true, std::chrono::seconds(5));
}

bool local_cluster::fail(std::string why) {
  error_ = std::move(why);
  return false;
}

bool local_cluster::start() {
  broker_bin_ = find_broker(settings_.bin_dir);
  if (broker_bin_.empty()) {
    return fail("no actormq-broker in " + settings_.bin_dir.string() + " (use --bin-dir)");
  }
  std::error_code ec;
  std::filesystem::create_directories(settings_.work_dir, ec);
  if (ec) return fail("cannot create " + settings_.work_dir.string() + ": " + ec.message());
  config_ = (settings_.work_dir / "broker.toml").string();
  if (settings_.standalone) {
    settings_.brokers = 1;
    brokers_.resize(1);
    std::ofstream(config_) << settings_.extra_config;
  } else {
    std::ofstream(config_)
        << "[cluster]\nlease_ttl_ms = " << settings_.lease_ttl_ms
        << "\netcd_timeout_ms = " << settings_.etcd_timeout_ms << "\nreplica_lag_ms = "
        << settings_.replica_lag_ms
        // The coordinators' topics on every broker (up to 3),
        // however late the last one registers.
        << "\ninternal_replication_factor = " << std::min(size(), 3)
        << "\ninternal_topic_wait_ms = "
        << std::chrono::duration_cast<std::chrono::milliseconds>(settings_.start_timeout).count()
        << "\n"
        << settings_.extra_config;
    if (!start_etcd()) return false;
  }
  for (int id = 0; id < size(); ++id) {
    if (!start_broker(id)) return false;
  }
  auto deadline = std::chrono::steady_clock::now() + settings_.start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto md = metadata({}); md && md->controller_id >= 0) {
      int alive = 0;
      for (const auto& b : md->brokers) alive += b.alive ? 1 : 0;
      if (alive == size()) return true;
    }
    std::this_thread::sleep_for(poll_interval);
  }
  return fail("no controller with every broker registered in time");
}

std::vector<std::string> local_cluster::broker_argv(int id) const {
  const auto& b = brokers_.at(static_cast<size_t>(id));
  std::vector<std::string> argv = {broker_bin_.string(),
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(b.port),
                                   "--data-dir",
                                   data_dir(id).string(),
                                   "--config",
                                   config_,
                                   "--log-level",
                                   settings_.broker_log_level};
  if (!settings_.standalone) {
    argv.insert(argv.end(), {"--cluster-id", "checker", "--broker-id", std::to_string(id), "--etcd",
                             etcd_url()});
  }
  return argv;
}

bool local_cluster::start_broker(int id, bool wait_listening) {
  auto& b = brokers_.at(static_cast<size_t>(id));
  if (b.proc && b.proc->running()) return true;
  // The same port every time, so addresses clients learnt stay right; a
  // new one only if the old one cannot be bound again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (b.port == 0 || attempt > 0) b.port = free_port();
    auto log = settings_.work_dir / ("broker-" + std::to_string(id) + ".log");
    if (!b.proc) {
      b.proc = std::make_unique<child_process>(broker_argv(id), log);
    } else {
      b.proc->set_argv(broker_argv(id));
    }
    auto from = b.proc->log_size();
    if (!b.proc->start()) return fail(b.proc->error());
    if (!wait_listening) return true;
    auto deadline = std::chrono::steady_clock::now() + settings_.start_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (b.proc->log_from(from).find("listening on ") != std::string::npos) return true;
      if (!b.proc->running()) break;
      std::this_thread::sleep_for(poll_interval);
    }
    auto out = b.proc->log_from(from);
    b.proc->stop(true);
    if (out.find("ddress already in use") == std::string::npos) {
      return fail("broker " + std::to_string(id) +
                  " did not start: " + (out.size() > 2000 ? out.substr(out.size() - 2000) : out));
    }
  }
  return fail("broker " + std::to_string(id) + ": no free port");
}

void local_cluster::stop_broker(int id, bool kill) {
  auto& b = brokers_.at(static_cast<size_t>(id));
  if (b.proc) b.proc->stop(kill);
}

void local_cluster::pause_broker(int id) {
  auto& b = brokers_.at(static_cast<size_t>(id));
  if (b.proc) b.proc->pause();
}

void local_cluster::resume_broker(int id) {
  auto& b = brokers_.at(static_cast<size_t>(id));
  if (b.proc) b.proc->resume();
}

bool local_cluster::broker_running(int id) {
  auto& b = brokers_.at(static_cast<size_t>(id));
  return b.proc && b.proc->running();
}

bool local_cluster::broker_paused(int id) const {
  const auto& b = brokers_.at(static_cast<size_t>(id));
  return b.proc && b.proc->paused();
}

std::string local_cluster::address(int id) const {
  return "127.0.0.1:" + std::to_string(brokers_.at(static_cast<size_t>(id)).port);
}

std::string local_cluster::bootstrap(int first) const {
  std::string out;
  for (int i = 0; i < size(); ++i) {
    if (!out.empty()) out += ",";
    out += address((first + i) % size());
  }
  return out;
}

std::filesystem::path local_cluster::data_dir(int id) const {
  return settings_.work_dir / ("broker-" + std::to_string(id));
}

std::string local_cluster::etcd_url() const {
  return "http://127.0.0.1:" + std::to_string(etcd_client_port_);
}

bool local_cluster::start_etcd() {
  if (etcd_ && etcd_->running()) return true;
  bool fresh = etcd_client_port_ == 0;
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (fresh) {
      etcd_client_port_ = free_port();
      etcd_peer_port_ = free_port();
      if (etcd_client_port_ == etcd_peer_port_) continue;
    }
    auto client = etcd_url();
    auto peer = "http://127.0.0.1:" + std::to_string(etcd_peer_port_);
    std::vector<std::string> argv = {settings_.etcd_binary,
                                     "--name",
                                     "checker",
                                     "--data-dir",
                                     (settings_.work_dir / "etcd").string(),
                                     "--listen-client-urls",
                                     client,
                                     "--advertise-client-urls",
                                     client,
                                     "--listen-peer-urls",
                                     peer,
                                     "--initial-advertise-peer-urls",
                                     peer,
                                     "--initial-cluster",
                                     "checker=" + peer,
                                     "--log-level",
                                     "warn"};
    if (!etcd_) {
      etcd_ = std::make_unique<child_process>(argv, settings_.work_dir / "etcd.log");
    } else {
      etcd_->set_argv(argv);
    }
    if (!etcd_->start()) return fail(etcd_->error());
    auto deadline = std::chrono::steady_clock::now() + settings_.start_timeout;
    while (std::chrono::steady_clock::now() < deadline && etcd_->running()) {
      auto reply =
          http_request(etcd_client_port_, "GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
      if (reply.find("\"health\":\"true\"") != std::string::npos) return true;
      std::this_thread::sleep_for(poll_interval);
    }
    etcd_->stop(true);
    // Same ports after a stop: the old sockets may linger a moment.
    if (!fresh) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return fail("etcd did not become healthy (see " + (settings_.work_dir / "etcd.log").string() +
              ")");
}

void local_cluster::stop_etcd(bool kill) {
  if (etcd_) etcd_->stop(kill);
}

void local_cluster::pause_etcd() {
  if (etcd_) etcd_->pause();
}

void local_cluster::resume_etcd() {
  if (etcd_) etcd_->resume();
}

bool local_cluster::heal() {
  if (etcd_) etcd_->resume();
  if (!settings_.standalone && !start_etcd()) return false;
  for (int id = 0; id < size(); ++id) {
    resume_broker(id);
    if (!start_broker(id)) return false;
  }
  return true;
}

void local_cluster::shutdown() {
  admins_.clear();
  for (auto& b : brokers_) {
    if (b.proc) b.proc->stop(false);
  }
  if (etcd_) etcd_->stop(false);
}

client::admin* local_cluster::admin_at(int id) {
  auto it = admins_.find(id);
  if (it != admins_.end()) return it->second.get();
  client::connection_config cfg;
  cfg.broker = address(id);
  cfg.client_id = "checker-admin-" + std::to_string(id);
  cfg.connect_timeout_ms = 1000;
  cfg.request_timeout_ms = 2000;
  auto a = client::admin::create(cfg);
  if (!a) return nullptr;
  return admins_.emplace(id, std::move(*a)).first->second.get();
}

std::vector<client::cluster_metadata> local_cluster::views(const std::string& topic, int& missing) {
  std::vector<client::cluster_metadata> out;
  missing = 0;
  for (int id = 0; id < size(); ++id) {
    if (!broker_running(id) || broker_paused(id)) continue;
    auto* a = admin_at(id);
    if (!a) {
      ++missing;
      continue;
    }
    auto md = a->metadata({topic});
    if (md && md->control_plane_up) {
      out.push_back(std::move(*md));
    } else {
      if (!md && md.err().is(client::errc::broker_unreachable)) admins_.erase(id);
      ++missing;
    }
  }
  return out;
}

std::optional<client::cluster_metadata> local_cluster::metadata(const std::string& topic) {
  for (int id = 0; id < size(); ++id) {
    if (!broker_running(id) || broker_paused(id)) continue;
    auto* a = admin_at(id);
    if (!a) continue;
    auto md = topic.empty() ? a->metadata() : a->metadata({topic});
    if (!md) {
      // A session to a restarted broker is made anew on the next call;
      // one that keeps failing is rebuilt.
      if (md.err().is(client::errc::broker_unreachable)) admins_.erase(id);
      continue;
    }
    if (md->control_plane_up) return std::move(*md);
  }
  return std::nullopt;
}

}  // namespace actormq::checker
