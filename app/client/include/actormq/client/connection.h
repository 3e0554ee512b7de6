#pragma once
// connection: the client's sessions with the brokers of a cluster (or one
// broker). Owns a thread running a KJ event loop with the Cap'n Proto RPC
// client; every call from a user thread is marshalled onto that loop, so
// users never see KJ. Producers, consumers and admin clients created from
// one connection share it (its thread, sessions and cluster metadata).
// The loop thread is named "amq-conn" (top -H, perf, gdb).
//
// The bootstrap session goes to the first reachable broker of
// config().broker ("HOST:PORT[,HOST:PORT...]"), the next one when it dies;
// sessions to partition leaders, group coordinators and the controller are
// opened when first needed and closed when dead or idle
// (connections_max_idle_ms). docs/cluster.md, "Clients".
//
// Thread-safety: all public members may be called from any thread except the
// connection's own loop thread (that is, not from inside delivery callbacks).
// A dropped TCP session is re-established on the next request.

#include <memory>

#include "actormq/client/config.h"
#include "actormq/client/result.h"
#include "actormq/client/types.h"

namespace actormq::client {

namespace detail {
class connection_impl;
}

/// What a connection did with its sessions (counts since connect) and what
/// it holds now, for monitoring.
struct connection_stats {
  /// Sessions opened to brokers (the bootstrap one, reconnects included).
  uint64_t sessions_opened = 0;
  /// Sessions closed because a produce request went unanswered for the
  /// request timeout with its write possibly unfinished (a stalled broker).
  uint64_t sessions_closed_stalled = 0;
  /// Batch buffers the open sessions keep for writes that may still read
  /// them (requests that ended unanswered), and their bytes.
  uint64_t pinned_buffers = 0;
  uint64_t pinned_bytes = 0;
};

class connection {
 public:
  /// Starts the loop thread, connects and asks the broker for its info.
  /// Fails with errc::broker_unreachable when no broker of cfg.broker
  /// answers, errc::invalid_argument for a malformed list.
  static result<std::shared_ptr<connection>> connect(const connection_config& cfg);

  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// The (first) bootstrap broker's info as of connect().
  const client::broker_info& broker_info() const;
  const connection_config& config() const;
  /// The counters above (asks the loop thread; a stopped connection gives
  /// zeros).
  connection_stats stats() const;

  /// Internal: the loop-side implementation, for producer/consumer/admin.
  detail::connection_impl& impl() { return *impl_; }

 private:
  explicit connection(std::shared_ptr<detail::connection_impl> impl);
  std::shared_ptr<detail::connection_impl> impl_;
};

}  // namespace actormq::client
