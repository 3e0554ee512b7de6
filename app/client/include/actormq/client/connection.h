#pragma once
// connection: one session with one broker. Owns a thread running a KJ event
// loop with the Cap'n Proto RPC client; every call from a user thread is
// marshalled onto that loop, so users never see KJ. Producers, consumers and
// admin clients created from one connection share it (and its thread).
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

class connection {
 public:
  /// Starts the loop thread, connects and asks the broker for its info.
  /// Fails with errc::broker_unreachable when nobody answers at cfg.broker.
  static result<std::shared_ptr<connection>> connect(const connection_config& cfg);

  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// The broker's info as of connect().
  const client::broker_info& broker_info() const;
  const connection_config& config() const;

  /// Internal: the loop-side implementation, for producer/consumer/admin.
  detail::connection_impl& impl() { return *impl_; }

 private:
  explicit connection(std::shared_ptr<detail::connection_impl> impl);
  std::shared_ptr<detail::connection_impl> impl_;
};

}  // namespace actormq::client
