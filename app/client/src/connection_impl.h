#pragma once
// connection_impl: the KJ side of a connection. One thread runs a KJ event
// loop (kj::setupAsyncIo) holding the RPC sessions (TCP stream,
// TwoPartyVatNetwork, RPC system); user threads hand work to it with
// post_async()/call() through a kj_inbox (the caller does not wait: one
// wake-up of the loop thread per hand-off, none of the caller), or with
// post(), which waits until the function has run. Both go through the same
// inbox, so work posted from one thread runs in the order it was posted.
//
// Sessions: the bootstrap session goes to the current entry of the
// bootstrap list (connection_config::broker, "HOST:PORT[,HOST:PORT...]"):
// the first reachable one, and when it dies the next. It answers metadata
// and everything not routed elsewhere (call()). Requests for a partition
// leader, a group coordinator or the controller go to that broker's own
// session (call_at()), opened on first use, dropped when it dies and closed
// after connections_max_idle_ms without use (connection_pool). A broker's
// advertised address that is the bootstrap broker's shares its session.
//
// Rules: never post() while holding a lock the loop thread may take, and
// never block on a future from the loop thread.

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "actormq/client/config.h"
#include "actormq/client/connection.h"
#include "actormq/client/result.h"
#include "actormq/client/types.h"
#include "app/kj_support/kj_inbox.h"
#include "broker_address.h"
#include "connection_pool.h"
#include "schema/actormq.capnp.h"
#include "write_pins.h"

namespace actormq::client::detail {

class cluster_router;

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
  /// Leaders, coordinators and the controller of the cluster (created with
  /// the connection, shared by every producer/consumer/admin on it).
  cluster_router& router() { return *router_; }

  /// Runs fn on the loop thread (inline when already there) and returns
  /// once it has run. Returns false when the loop is not running (or stops
  /// before fn runs).
  bool post(const std::function<void()>& fn);
  /// Queues fn to run on the loop thread (inline when already there)
  /// without waiting for it. Returns false when the loop is not running;
  /// a function queued when the loop stops is dropped unrun (its owner is
  /// bounded by its own timeout, as a request in flight is).
  bool post_async(std::function<void()> fn);
  bool on_loop_thread() const { return std::this_thread::get_id() == loop_thread_id_; }

  /// Starts an RPC on the loop: make(client) returns kj::Promise<T>; done
  /// receives the result on the loop thread. timeout 0 = request_timeout_ms.
  template <typename T, typename Make>
  void call(Make make, std::function<void(result<T>)> done,
            std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
    call_at<T>(std::string(), std::move(make), std::move(done), timeout);
  }
  /// What the request's message refers to without copying it (a batch
  /// buffer of `bytes` bytes).
  struct kept_buffer {
    write_pins::pin pin;
    size_t bytes = 0;
  };
  /// call() on the session to the broker at address ("HOST:PORT"; empty =
  /// the bootstrap session). When the request ends unanswered its write may
  /// still read `keep`, so the session keeps it until the write is known
  /// finished (write_pins.h).
  template <typename T, typename Make>
  void call_at(std::string address, Make make, std::function<void(result<T>)> done,
               std::chrono::milliseconds timeout = std::chrono::milliseconds(0),
               kept_buffer keep = {});
  /// The connection's counters and what its open sessions pin now.
  connection_stats stats() const;

  /// call() whose result the caller waits for (bounded by the request
  /// timeout plus a margin). Not from the loop thread.
  template <typename T, typename Make>
  result<T> call_sync(Make make, std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
    return call_sync_at<T>(std::string(), std::move(make), timeout);
  }
  template <typename T, typename Make>
  result<T> call_sync_at(std::string address, Make make,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  // ---- loop thread only ----
  /// The bootstrap broker's capability, connecting first when there is no
  /// session (trying the bootstrap list in order from the current entry).
  kj::Promise<rpc::Broker::Client> broker();
  /// The capability of the broker at address (empty = broker()), opening
  /// its session first when there is none.
  kj::Promise<rpc::Broker::Client> broker_at(const std::string& address);
  /// A session's capability with its write pins (expired once the session
  /// is destroyed).
  struct session_ref {
    rpc::Broker::Client broker;
    std::weak_ptr<write_pins> pins;
    uint64_t id = 0;
  };
  /// broker_at() with the session's write pins.
  kj::Promise<session_ref> session_at(const std::string& address);
  /// Records that the broker advertised as `advertised` answers at
  /// `reached` (where the bootstrap session got to it).
  void add_alias(const std::string& advertised, const std::string& reached);
  /// The address the bootstrap session is connected to ("" when none).
  const std::string& bootstrap_address() const { return session_address_; }
  /// The address a request for `address` goes to after aliases ("" = the
  /// bootstrap session).
  std::string resolve(const std::string& address) const;
  kj::AsyncIoContext& io() { return *io_; }
  kj::Timer& timer() { return io_->provider->getTimer(); }
  void add_task(kj::Promise<void> p);
  /// Increases whenever a new bootstrap session is established.
  uint64_t session_id() const { return session_id_; }
  /// The id of the session resolve(address) uses now; 0 when none is open.
  uint64_t session_id_at(const std::string& address) const;
  /// The host part of resolve(address) (the bootstrap broker's for "").
  std::string host_of(const std::string& address) const;
  template <typename T>
  kj::Promise<T> with_timeout(kj::Promise<T> p, std::chrono::milliseconds t);
  std::chrono::milliseconds request_timeout() const {
    return std::chrono::milliseconds(cfg_.request_timeout_ms);
  }

 private:
  struct session {
    // First, so destroyed last: after the stream and network, whose queued
    // writes may read what it keeps.
    std::shared_ptr<write_pins> pins = std::make_shared<write_pins>();
    kj::Own<kj::AsyncIoStream> stream;
    kj::Own<capnp::TwoPartyVatNetwork> network;
    kj::Own<capnp::RpcSystem<capnp::rpc::twoparty::VatId>> rpc;
    rpc::Broker::Client broker = nullptr;
    uint64_t id = 0;
  };
  /// A pooled session to one broker, or its connect in progress.
  struct node {
    kj::Maybe<kj::Own<session>> s;
    kj::Maybe<kj::ForkedPromise<void>> connecting;
  };
  class task_errors final : public kj::TaskSet::ErrorHandler {
   public:
    void taskFailed(kj::Exception&& e) override;
  };

  void run(std::promise<void>& ready);
  static session_ref ref_of(session& s) { return session_ref{s.broker, s.pins, s.id}; }
  /// Closes the session with this id (bootstrap or pooled), if still open:
  /// its broker let a request time out with its write possibly unfinished.
  void drop_stalled(uint64_t id);
  kj::Promise<session_ref> bootstrap_session();
  kj::Promise<void> connect_now();
  kj::Promise<void> connect_bootstrap(size_t tries_left, std::string why);
  /// Opens a session to address; on disconnect on_lost(id) runs.
  kj::Promise<kj::Own<session>> open_session(const std::string& address,
                                             std::function<void(uint64_t)> on_lost);
  void drop_session(uint64_t id);
  void drop_node(const std::string& address, uint64_t id);
  kj::Promise<void> reap_idle_loop();
  /// Destroys sessions on a later turn (we may be inside their callbacks).
  void destroy_later(std::vector<kj::Own<node>> nodes);

  connection_config cfg_;
  bootstrap_list bootstrap_;
  broker_info info_;
  std::unique_ptr<cluster_router> router_;

  std::thread thread_;
  std::thread::id loop_thread_id_;
  // Created on the loop thread; post_async() queues into it.
  std::shared_ptr<kj_support::kj_inbox> inbox_;
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
  std::string session_address_;
  uint64_t next_session_id_ = 0;
  uint64_t sessions_closed_stalled_ = 0;
  connection_pool<kj::Own<node>> nodes_;
  std::map<std::string, std::string> aliases_;
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
void connection_impl::call_at(std::string address, Make make, std::function<void(result<T>)> done,
                              std::chrono::milliseconds timeout, kept_buffer keep) {
  auto cb = std::make_shared<std::function<void(result<T>)>>(std::move(done));
  // make may be move-only; the queued std::function must be copyable.
  auto mk = std::make_shared<Make>(std::move(make));
  bool posted =
      post_async([this, mk, address = std::move(address), cb, timeout, keep = std::move(keep)] {
        // Which session the request went out on, and its number there.
        struct sent_on {
          std::weak_ptr<write_pins> pins;
          uint64_t seq = 0;
          uint64_t session = 0;
        };
        auto sent = std::make_shared<sent_on>();
        auto p = session_at(address).then([mk, sent](session_ref s) {
          if (auto w = s.pins.lock()) {
            sent->pins = s.pins;
            sent->seq = w->sent();  // make() sends: numbered in send order
            sent->session = s.id;
          }
          return (*mk)(s.broker);
        });
        add_task(with_timeout<T>(kj::mv(p), timeout)
                     .then(
                         [cb, sent](T&& v) {
                           if (auto w = sent->pins.lock()) w->answered(sent->seq);
                           (*cb)(result<T>(std::move(v)));
                         },
                         [this, cb, sent, keep](kj::Exception&& e) {
                           auto err = error_from_exception(e);
                           auto w = sent->pins.lock();
                           if (w && w->keep(sent->seq, keep.pin, keep.bytes) &&
                               err.is(errc::request_timeout)) {
                             // Unanswered for a request timeout, its write maybe
                             // unfinished: what is sent after it would queue (and
                             // be pinned) behind it. Kafka's client closes the
                             // connection too; the retry opens a new session.
                             drop_stalled(sent->session);
                           }
                           (*cb)(result<T>(std::move(err)));
                         }));
      });
  if (!posted) (*cb)(result<T>(errc::closed, "connection closed"));
}

template <typename T, typename Make>
result<T> connection_impl::call_sync_at(std::string address, Make make,
                                        std::chrono::milliseconds timeout) {
  auto prom = std::make_shared<std::promise<result<T>>>();
  auto fut = prom->get_future();
  call_at<T>(
      std::move(address), std::move(make), [prom](result<T> r) { prom->set_value(std::move(r)); },
      timeout);
  auto limit = (timeout.count() > 0 ? timeout : request_timeout()) + std::chrono::seconds(5);
  if (fut.wait_for(limit) != std::future_status::ready) {
    return result<T>(errc::request_timeout, "no answer from the connection loop");
  }
  return fut.get();
}

}  // namespace actormq::client::detail
