#pragma once
// The network side of the broker on one KJ event loop: the Cap'n Proto RPC
// listener (one rpc_service + SESSION actor per connection) and the
// zero-copy fetch stream listener.
//
// Bounded per connection and in all (docs/architecture.md, "Bounded
// resources"):
//  - each connection reads no new request while max_calls_per_connection of
//    its requests are served or its unwritten replies hold
//    max_unwritten_reply_bytes (connection_flow): a client that does not
//    read its replies is pushed back on by TCP, not buffered;
//  - a connection with nothing in flight for idle_timeout_ms is closed;
//  - at max_connections a new connection closes one that never sent a
//    request or else the one idle the longest (nothing in flight for
//    evict_idle_ms at least; its client reconnects when it next needs to)
//    or, when there is none, is refused with a Cap'n Proto Abort that says
//    why.
//
// No error on one connection ends the loop that accepts the next: a
// connection that dies before it is served is dropped, a descriptor or
// memory shortage backs off and retries (a rate-limited WARN says so), and
// only a listener that cannot accept any more fails the server (failed()),
// which stops the broker with a non-zero exit.

#include <capnp/message.h>
#include <kj/async-io.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "app/broker/log_limiter.h"
#include "app/broker/rpc_service.h"
#include "app/broker/tcp_listener.h"

namespace actormq::broker {

class broker_server final : private kj::TaskSet::ErrorHandler {
 public:
  broker_server(kj::AsyncIoContext& io, service_context ctx);
  ~broker_server();

  /// Binds both listeners (stream_port < 0: no stream listener); returns
  /// the RPC port (the actual one for port 0). Throws kj::Exception when an
  /// address cannot be bound. Nothing is accepted before serve():
  /// connections wait in the kernel's backlog meanwhile.
  uint16_t listen(const std::string& host, uint16_t port, int32_t stream_port);
  /// Starts accepting on the bound listeners. Called once the broker can
  /// answer: in a cluster after the control plane's first read, so a client
  /// (a restarted broker keeps its port) is never told that a topic does
  /// not exist by a broker that has not read the cluster yet.
  void serve();
  uint16_t stream_port() const { return ctx_.stream_port; }
  /// Cluster: this broker's NODE actor, spawned once the RPC address is
  /// known; connections accepted from now on use it.
  void set_node(node_actor node) { ctx_.node = std::move(node); }
  /// The INSPECTOR, for the inspect call of connections accepted from now on.
  void set_inspector(caf::actor inspector) { ctx_.inspector = std::move(inspector); }
  /// The inbox through which CAF threads run work on this KJ thread.
  const std::shared_ptr<kj_inbox>& inbox() const { return ctx_.inbox; }

  /// Resolves with the reason once a listener can accept no more
  /// connections. Call once.
  kj::Promise<std::string> failed();

 private:
  struct connection;
  struct listener_slot {
    explicit listener_slot(const char* n) : name(n) {}
    const char* name;
    kj::Own<tcp_listener> socket;
    bool stream = false;
    std::chrono::milliseconds backoff{0};
    uint64_t accepted_in_a_row = 0;
    log_limiter shortage_log{std::chrono::seconds(5)};
  };

  void taskFailed(kj::Exception&& e) override;
  kj::Promise<void> accept_loop(listener_slot& slot);
  kj::Promise<void> on_accept_error(listener_slot& slot, int err);
  void serve_rpc(accepted_connection c);
  /// At max_connections: closes a connection that never sent a request, or
  /// else the one idle the longest if it has been idle evict_idle_ms; false
  /// when there is none.
  bool evict_one_idle();
  /// Closes an RPC connection now (its socket with it).
  void close_connection(uint64_t id);
  /// Closes the connections idle for idle_timeout_ms; runs every second.
  kj::Promise<void> idle_sweep();
  /// Tells a connection it is refused (a Cap'n Proto Abort with the reason)
  /// and closes it.
  kj::Promise<void> refuse(kj::Own<kj::AsyncIoStream> stream, std::string reason);
  kj::Promise<void> bind_stream(accepted_connection c);
  void fail(std::string why);

  kj::AsyncIoContext& io_;
  service_context ctx_;
  stream_registry streams_;
  capnp::ReaderOptions reader_options_;
  uint64_t next_connection_id_ = 0;
  /// Every open RPC connection (they remove themselves when they go).
  std::map<uint64_t, kj::Own<connection>> live_;
  uint32_t refusing_ = 0;  ///< refused connections still being told why
  listener_slot rpc_{"rpc"};
  listener_slot stream_{"fetch stream"};
  log_limiter refused_log_{std::chrono::seconds(5)};
  log_limiter evicted_log_{std::chrono::seconds(5)};
  log_limiter unknown_token_log_{std::chrono::seconds(5)};
  kj::Own<kj::PromiseFulfiller<std::string>> failed_fulfiller_;
  kj::Maybe<kj::Promise<std::string>> failed_promise_;
  kj::TaskSet tasks_;
};

}  // namespace actormq::broker
