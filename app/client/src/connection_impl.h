#pragma once
// connection_impl: the KJ side of a connection. One thread runs a KJ event
// loop (kj::setupAsyncIo) holding the TCP session, the TwoPartyVatNetwork and
// the RPC system; user threads hand work to it with post()/call(), which use
// the loop's kj::Executor (executeSync: the caller blocks only until the
// function has run on the loop and started its request, not for the reply).
//
// Rules: never post() while holding a lock the loop thread may take, and
// never block on a future from the loop thread.

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "actormq/client/config.h"
#include "actormq/client/result.h"
#include "actormq/client/types.h"
#include "broker_address.h"
#include "schema/actormq.capnp.h"

namespace actormq::client::detail {

/// The answer of a call whose reply holds only an rpc::Error.
struct status_reply {
  error err;
};

/// Maps a kj::Exception from an RPC or from the connection to an error.
error error_from_exception(const kj::Exception& e);
/// Maps an rpc::Error to an error (success when code is none).
error error_from_rpc(rpc::Error::Reader e);
errc errc_from_rpc(rpc::ErrorCode c);

class connection_impl : public std::enable_shared_from_this<connection_impl> {
 public:
  explicit connection_impl(connection_config cfg);
  ~connection_impl();
  connection_impl(const connection_impl&) = delete;
  connection_impl& operator=(const connection_impl&) = delete;

  /// Starts the loop thread, connects and fetches the broker info. The
  /// thread keeps this object alive until it ends, so the last owner may be
  /// released from a callback on the loop thread.
  result<void> start();
  /// Stops the loop thread (joins it unless called on it); outstanding
  /// requests are dropped.
  void stop();

  const connection_config& config() const { return cfg_; }
  const broker_info& info() const { return info_; }
  const std::string& host() const { return host_; }

  /// Runs fn on the loop thread (inline when already there). Returns false
  /// when the loop is not running.
  bool post(const std::function<void()>& fn);
  bool on_loop_thread() const { return std::this_thread::get_id() == loop_thread_id_; }

  /// Starts an RPC on the loop: make(client) returns kj::Promise<T>; done
  /// receives the result on the loop thread. timeout 0 = request_timeout_ms.
  template <typename T, typename Make>
  void call(Make make, std::function<void(result<T>)> done,
            std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  /// call() whose result the caller waits for (bounded by the request
  /// timeout plus a margin). Not from the loop thread.
  template <typename T, typename Make>
  result<T> call_sync(Make make, std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  // ---- loop thread only ----
  /// The broker capability, connecting first when there is no session.
  kj::Promise<rpc::Broker::Client> broker();
  kj::AsyncIoContext& io() { return *io_; }
  kj::Timer& timer() { return io_->provider->getTimer(); }
  void add_task(kj::Promise<void> p);
  /// Increases whenever a new session is established.
  uint64_t session_id() const { return session_id_; }
  template <typename T>
  kj::Promise<T> with_timeout(kj::Promise<T> p, std::chrono::milliseconds t);
  std::chrono::milliseconds request_timeout() const {
    return std::chrono::milliseconds(cfg_.request_timeout_ms);
  }

 private:
  struct session {
    kj::Own<kj::AsyncIoStream> stream;
    kj::Own<capnp::TwoPartyVatNetwork> network;
    kj::Own<capnp::RpcSystem<capnp::rpc::twoparty::VatId>> rpc;
    rpc::Broker::Client broker = nullptr;
  };
  class task_errors final : public kj::TaskSet::ErrorHandler {
   public:
    void taskFailed(kj::Exception&& e) override;
  };

  void run(std::promise<void>& ready);
  kj::Promise<void> connect_now();
  void drop_session(uint64_t id);

  connection_config cfg_;
  std::string host_;
  uint16_t port_ = 0;
  broker_info info_;

  std::thread thread_;
  std::thread::id loop_thread_id_;
  const kj::Executor* executor_ = nullptr;
  std::shared_mutex run_mu_;  // posters share it; stop() takes it exclusively
  bool running_ = false;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop_fulfiller_;

  // Loop-thread state.
  kj::AsyncIoContext* io_ = nullptr;
  task_errors task_errors_;
  kj::Own<kj::TaskSet> tasks_;
  kj::Maybe<kj::Own<session>> session_;
  kj::Maybe<kj::ForkedPromise<void>> connecting_;
  uint64_t session_id_ = 0;
};

inline constexpr const char* timeout_marker = "actormq: request timed out";

template <typename T>
kj::Promise<T> connection_impl::with_timeout(kj::Promise<T> p, std::chrono::milliseconds t) {
  if (t.count() <= 0) t = request_timeout();
  return p.exclusiveJoin(
      timer()
          .afterDelay(static_cast<int64_t>(t.count()) * kj::MILLISECONDS)
          .then([]() -> kj::Promise<T> { return KJ_EXCEPTION(OVERLOADED, timeout_marker); }));
}

template <typename T, typename Make>
void connection_impl::call(Make make, std::function<void(result<T>)> done,
                           std::chrono::milliseconds timeout) {
  auto cb = std::make_shared<std::function<void(result<T>)>>(std::move(done));
  bool posted = post([this, &make, cb, timeout] {
    auto p =
        broker().then([make = std::move(make)](rpc::Broker::Client c) mutable { return make(c); });
    add_task(with_timeout<T>(kj::mv(p), timeout)
                 .then([cb](T&& v) { (*cb)(result<T>(std::move(v))); },
                       [cb](kj::Exception&& e) { (*cb)(result<T>(error_from_exception(e))); }));
  });
  if (!posted) (*cb)(result<T>(errc::closed, "connection closed"));
}

template <typename T, typename Make>
result<T> connection_impl::call_sync(Make make, std::chrono::milliseconds timeout) {
  auto prom = std::make_shared<std::promise<result<T>>>();
  auto fut = prom->get_future();
  call<T>(
      std::move(make), [prom](result<T> r) { prom->set_value(std::move(r)); }, timeout);
  auto limit = (timeout.count() > 0 ? timeout : request_timeout()) + std::chrono::seconds(5);
  if (fut.wait_for(limit) != std::future_status::ready) {
    return result<T>(errc::request_timeout, "no answer from the connection loop");
  }
  return fut.get();
}

}  // namespace actormq::client::detail
