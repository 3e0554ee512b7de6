#include "app/broker/cluster/control_plane.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

#include "actors/key_value_text.h"
#include "app/broker/cluster/controller.h"
#include "app/broker/logger.h"

namespace actormq::broker {

namespace {

constexpr const char* state_file = "cluster.state";
constexpr auto resync_delay = 500 * kj::MILLISECONDS;

uint64_t new_incarnation() {
  std::random_device rd;
  uint64_t r = (uint64_t{rd()} << 32) ^ rd();
  auto now = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  return (r ^ now) & 0x7fffffffffffffffull;  // stays positive in the text format
}

}  // namespace

control_plane::control_plane(kj::AsyncIoContext& io, settings s)
    : io_(io),
      settings_(std::move(s)),
      etcd_(io, etcd::client_config{settings_.endpoints,
                                    std::chrono::milliseconds(settings_.cluster.etcd_timeout_ms)}),
      view_(cluster::cluster_keys(settings_.cluster.cluster_id)),
      controller_(std::make_unique<controller>(*this)),
      incarnation_(new_incarnation()),
      tasks_(*this) {}

control_plane::~control_plane() = default;

void control_plane::taskFailed(kj::Exception&& e) {
  broker_log().error("cluster: control-plane task failed: {}", e.getDescription().cStr());
}

bool control_plane::is_controller() const {
  return fence_.value() != 0;
}

std::optional<std::string> control_plane::check_data_dir() {
  auto path = settings_.data_dir / state_file;
  std::ifstream in(path);
  if (!in) return std::nullopt;  // a new data dir
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();  // the parsed pairs are views into it
  std::string cluster;
  int64_t broker = -1;
  for (auto [k, v] : parse_key_value_lines(text)) {
    if (k == "cluster_id") cluster = std::string(v);
    if (k == "broker_id") broker = parse_int64(v).value_or(-1);
    if (k == "lease") previous_lease_ = etcd::lease_id{parse_int64(v).value_or(0)};
  }
  if (cluster != settings_.cluster.cluster_id || broker != self()) {
    return fmt::format(
        "data dir {} belongs to broker {} of cluster '{}', not to broker {} of cluster '{}'",
        settings_.data_dir.string(), broker, cluster, self(), settings_.cluster.cluster_id);
  }
  return std::nullopt;
}

void control_plane::save_state() {
  auto path = settings_.data_dir / state_file;
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << fmt::format("cluster_id = {}\nbroker_id = {}\nlease = {}\n",
                       settings_.cluster.cluster_id, self(), lease_.value());
    out.flush();
    if (!out) {
      broker_log().warn("cluster: cannot write {}", tmp.string());
      return;
    }
  }
  int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fdatasync(fd);
    ::close(fd);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) broker_log().warn("cluster: cannot write {}: {}", path.string(), ec.message());
}

kj::Promise<std::optional<std::string>> control_plane::start() {
  if (auto err = check_data_dir()) return std::optional<std::string>(*err);
  auto ttl = std::chrono::seconds((settings_.cluster.lease_ttl_ms + 999) / 1000);
  return etcd_.lease_grant(ttl)
      .then([this](etcd::result<etcd::lease_grant_result> r)
                -> kj::Promise<std::optional<std::string>> {
        if (!r) {
          return std::optional<std::string>(fmt::format(
              "cannot reach etcd at {}: {}", settings_.cluster.etcd, r.err().to_string()));
        }
        lease_ = r->id;
        return register_broker();
      })
      .then([this](std::optional<std::string> err) -> kj::Promise<std::optional<std::string>> {
        if (err) return kj::mv(err);
        return resync();
      })
      .then([this](std::optional<std::string> err) {
        if (err) return err;
        broker_log().info("cluster: broker {} joined cluster '{}' (lease {:x}, {} brokers live)",
                          self(), cluster_id(), lease_.value(), view_.brokers().size());
        tasks_.add(keepalive_loop());
        tasks_.add(campaign());
        return err;
      });
}

kj::Promise<std::optional<std::string>> control_plane::register_broker() {
  cluster::broker_registration reg{self(), settings_.rpc_address, settings_.cluster_address,
                                   incarnation_};
  auto key = view_.keys().broker(self());
  auto value = reg.encode();
  return etcd_
      .txn({etcd::compare::absent(key)}, {etcd::txn_op::put(key, value, lease_)},
           {etcd::txn_op::get(key)})
      .then([this, key,
             value](etcd::result<etcd::txn_result> r) -> kj::Promise<std::optional<std::string>> {
        if (!r) return std::optional<std::string>("etcd: " + r.err().to_string());
        if (r->succeeded) {
          save_state();
          return std::optional<std::string>();
        }
        etcd::key_value held;
        if (!r->responses.empty() && !r->responses[0].range.kvs.empty()) {
          held = r->responses[0].range.kvs[0];
        }
        if (previous_lease_.value() == 0 || held.lease != previous_lease_) {
          auto other = cluster::broker_registration::decode(held.value);
          return std::optional<std::string>(fmt::format(
              "broker id {} is already registered in cluster '{}' by a live broker at {}; two "
              "brokers cannot share an id (if that was this broker before a crash without its "
              "data dir, start again after {} ms)",
              self(), cluster_id(), other ? other->rpc_address : std::string("?"),
              settings_.cluster.lease_ttl_ms));
        }
        // Our own previous run's registration, still under its lease: take
        // it over, then end the old lease (and what else it held, such as
        // the controller key) at once instead of after the TTL.
        auto old = previous_lease_;
        return etcd_
            .txn({etcd::compare::lease_is(key, etcd::compare::op::equal, old)},
                 {etcd::txn_op::put(key, value, lease_)})
            .then([this, old](
                      etcd::result<etcd::txn_result> r) -> kj::Promise<std::optional<std::string>> {
              if (!r) return std::optional<std::string>("etcd: " + r.err().to_string());
              if (!r->succeeded) return register_broker();  // it expired meanwhile: again
              broker_log().info("cluster: took over the registration of this broker's last run");
              save_state();
              return etcd_.lease_revoke(old).then(
                  [](auto&&) { return std::optional<std::string>(); });
            });
      });
}

kj::Promise<void> control_plane::keepalive_loop() {
  auto period = std::max<int64_t>(settings_.cluster.lease_ttl_ms / 3, 100);
  return timer()
      .afterDelay(period * kj::MILLISECONDS)
      .then([this]() -> kj::Promise<void> {
        if (stopping_) return kj::READY_NOW;
        return etcd_.lease_keepalive_once(lease_).then(
            [this](etcd::result<etcd::lease_keepalive_result> r) -> kj::Promise<void> {
              if (r) {
                set_up(true, "");
                return kj::READY_NOW;
              }
              if (r.code() != etcd::errc::lease_not_found) {
                set_up(false, r.err().to_string());
                return kj::READY_NOW;
              }
              // Silent longer than the TTL (frozen, or cut off from etcd):
              // the cluster has already seen this broker leave. Join again.
              broker_log().warn("cluster: lease {:x} expired; registering again", lease_.value());
              fence_ = etcd::revision{0};
              if (lease_lost_) lease_lost_();
              auto ttl = std::chrono::seconds((settings_.cluster.lease_ttl_ms + 999) / 1000);
              return etcd_.lease_grant(ttl).then(
                  [this](etcd::result<etcd::lease_grant_result> g) -> kj::Promise<void> {
                    if (!g) {
                      set_up(false, g.err().to_string());
                      return kj::READY_NOW;
                    }
                    previous_lease_ = lease_;
                    lease_ = g->id;
                    return register_broker().then([this](std::optional<std::string> err) {
                      if (err) {
                        set_up(false, *err);
                        return;
                      }
                      set_up(true, "");
                      tasks_.add(campaign());
                    });
                  });
            });
      })
      .then([this]() -> kj::Promise<void> {
        if (stopping_) return kj::READY_NOW;
        return keepalive_loop();
      });
}

void control_plane::set_up(bool up, const std::string& why) {
  if (up == up_) return;
  up_ = up;
  if (up) {
    broker_log().info("cluster: the control plane (etcd) answers again");
    // A watch may have died while etcd was away; reading again is cheap.
    tasks_.add(resync_loop());
  } else {
    broker_log().warn(
        "cluster: the control plane (etcd) does not answer ({}); serving the partitions this "
        "broker leads, refusing changes until it does",
        why);
  }
}

kj::Promise<std::optional<std::string>> control_plane::resync() {
  return etcd_.range(view_.keys().root())
      .then([this](etcd::result<etcd::range_result> r) -> kj::Promise<std::optional<std::string>> {
        if (!r) return std::optional<std::string>("etcd: " + r.err().to_string());
        view_.clear();
        for (auto& kv : r->kvs) view_.put(kv.key, kv.value, kv.mod_revision.value());
        etcd::watch_options opts;
        opts.prefix = true;
        opts.start_revision = etcd::revision{r->header_revision.value() + 1};
        return etcd_
            .watch(view_.keys().root(), opts,
                   [this](etcd::result<etcd::watch_update> u) {
                     if (u) return apply(*u);
                     if (stopping_) return;
                     broker_log().warn("cluster: metadata watch ended ({}); reading again",
                                       u.err().to_string());
                     tasks_.add(resync_loop());
                   })
            .then([this](etcd::result<etcd::watch> w) {
              if (!w) return std::optional<std::string>("etcd watch: " + w.err().to_string());
              watch_ = kj::mv(*w);
              for (auto c : {cluster::cluster_view::change::brokers,
                             cluster::cluster_view::change::controller,
                             cluster::cluster_view::change::topics,
                             cluster::cluster_view::change::partitions}) {
                changed(c);
              }
              return std::optional<std::string>();
            });
      });
}

kj::Promise<void> control_plane::resync_loop() {
  if (stopping_) return kj::READY_NOW;
  return timer().afterDelay(resync_delay).then([this]() -> kj::Promise<void> {
    if (stopping_ || watch_.active()) return kj::READY_NOW;
    return resync().then([this](std::optional<std::string> err) -> kj::Promise<void> {
      if (!err) return kj::READY_NOW;
      broker_log().debug("cluster: re-reading the cluster state failed: {}", *err);
      return resync_loop();
    });
  });
}

void control_plane::apply(const etcd::watch_update& update) {
  for (auto& e : update.events) {
    auto c = e.what == etcd::watch_event::type::put
                 ? view_.put(e.kv.key, e.kv.value, e.kv.mod_revision.value())
                 : view_.erase(e.kv.key);
    if (c != cluster::cluster_view::change::none) changed(c);
  }
}

void control_plane::changed(cluster::cluster_view::change c) {
  using change = cluster::cluster_view::change;
  if (c == change::controller) {
    if (is_controller() && view_.controller() != self()) {
      broker_log().warn("cluster: no longer the controller (now {})", view_.controller());
      fence_ = etcd::revision{0};
    }
    if (view_.controller() == cluster::no_broker) tasks_.add(campaign());
  }
  if (c == change::brokers || c == change::partitions) controller_->reconcile();
  for (auto& fn : listeners_) fn(c);
}

kj::Promise<void> control_plane::campaign() {
  if (campaigning_ || is_controller() || stopping_) return kj::READY_NOW;
  campaigning_ = true;
  auto key = view_.keys().controller();
  return etcd_
      .txn({etcd::compare::absent(key)}, {etcd::txn_op::put(key, std::to_string(self()), lease_)},
           {etcd::txn_op::get(key)})
      .then([this](etcd::result<etcd::txn_result> r) -> kj::Promise<void> {
        campaigning_ = false;
        if (!r) {
          // Try again while nobody holds the key.
          return timer().afterDelay(resync_delay).then([this]() -> kj::Promise<void> {
            if (view_.controller() == cluster::no_broker) return campaign();
            return kj::READY_NOW;
          });
        }
        if (r->succeeded) {
          fence_ = r->header_revision;
          broker_log().info("cluster: broker {} is the controller (fencing revision {})", self(),
                            fence_.value());
          controller_->reconcile();
        }
        return kj::READY_NOW;
      });
}

void control_plane::peer_gone(cluster::broker_id broker, uint64_t incarnation) {
  if (stopping_ || broker == self()) return;
  auto key = view_.keys().broker(broker);
  tasks_.add(etcd_.get(key).then(
      [this, broker, incarnation](etcd::result<etcd::range_result> r) -> kj::Promise<void> {
        if (!r || r->kvs.empty()) return kj::READY_NOW;  // gone already, or etcd away: the TTL acts
        const auto& kv = r->kvs[0];
        auto reg = cluster::broker_registration::decode(kv.value);
        if (!reg || reg->incarnation != incarnation || kv.lease.value() == 0) return kj::READY_NOW;
        auto lease = kv.lease;
        broker_log().warn(
            "cluster: broker {} crashed (connection closed, cluster port refused): revoking its "
            "lease {:x} so that its partitions move now, not after the {} ms TTL",
            broker, lease.value(), settings_.cluster.lease_ttl_ms);
        return etcd_.lease_revoke(lease).then([broker](etcd::result<etcd::lease_revoke_result> r) {
          if (!r && r.code() != etcd::errc::lease_not_found) {
            broker_log().warn("cluster: revoking the lease of broker {}: {} (it expires by itself)",
                              broker, r.err().to_string());
          }
        });
      }));
}

kj::Promise<void> control_plane::leave() {
  stopping_ = true;
  watch_.cancel();
  if (lease_.value() == 0) return kj::READY_NOW;
  return etcd_.lease_revoke(lease_).then([this](etcd::result<etcd::lease_revoke_result> r) {
    if (r) {
      broker_log().info("cluster: broker {} left the cluster", self());
    } else {
      broker_log().warn("cluster: leaving: {} (the lease expires by itself)", r.err().to_string());
    }
  });
}

}  // namespace actormq::broker
