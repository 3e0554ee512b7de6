#pragma once
// The broker's HTTP port (--http HOST:PORT, off by default; docs/inspector.md):
//   GET /              the inspector's web page (and its .js and .css)
//   GET /metrics       this broker's samples, Prometheus text format 0.0.4
//   GET /api/cluster   every broker's actors, as JSON (report_json.h)
//   GET /api/broker    this broker's actors only
//   GET /api/trace?topic=T&partition=P&offset=O
//                      the message trace's copies in retry and dead-letter
//                      topics (the page adds what /api/cluster says)
//   GET /healthz       "ok"
// Served by kj-http on a KJ loop of its own (http_thread.h: not the RPC
// loop, which it would stall while it builds an answer); every answer asks the
// INSPECTOR (bounded by its timeouts), nothing is cached. Its own accept
// loop, like the RPC listener's: a connection that fails, or a descriptor
// shortage, never stops it; over max_connections a new connection is closed
// at once (the client retries). A request with "Connection: close" gets its
// answer and the connection closes; other connections are kept alive.

#include <kj/async-io.h>
#include <kj/compat/http.h>
#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "actors/cluster/inspector_actor.h"
#include "app/broker/log_limiter.h"
#include "app/broker/tcp_listener.h"

namespace actormq::broker {

class http_server final : private kj::TaskSet::ErrorHandler,
                          private kj::HttpServerCallbacks,
                          public kj::HttpService {
 public:
  struct settings {
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    caf::actor_system* system = nullptr;
    inspector_actor inspector;
    /// The RETRY actor (retry_actor), for the message trace's copies.
    caf::actor retry;
    /// Bound of one answer from the INSPECTOR (it bounds its own parts).
    std::chrono::milliseconds timeout{5000};
    uint32_t max_connections = 256;
  };

  http_server(kj::AsyncIoContext& io, settings s);
  ~http_server();

  /// Binds the port (0 picks one) and returns it; throws kj::Exception
  /// when it cannot. Nothing is served before serve().
  uint16_t listen();
  void serve();

 private:
  void taskFailed(kj::Exception&& e) override;
  /// kj::HttpServerCallbacks: called as a response's headers start.
  bool shouldClose() override;

 public:
  /// kj::HttpService: one request (the routes above).
  kj::Promise<void> request(kj::HttpMethod method, kj::StringPtr url,
                            const kj::HttpHeaders& headers, kj::AsyncInputStream& body,
                            Response& response) override;

 private:
  kj::Promise<void> accept_loop();
  kj::Promise<void> trace(kj::StringPtr url, Response& response);
  kj::Promise<void> reply(Response& response, unsigned status, kj::StringPtr status_text,
                          const char* content_type, std::string body);

  kj::AsyncIoContext& io_;
  settings settings_;
  kj::HttpHeaderTable::Builder table_builder_;
  kj::HttpHeaderId content_type_;
  kj::HttpHeaderId cache_control_;
  kj::Own<kj::HttpHeaderTable> table_;
  kj::Own<kj::HttpServer> server_;
  kj::Own<tcp_listener> socket_;
  uint32_t connections_ = 0;
  /// Set just before a response's headers start when its request asked
  /// "Connection: close"; shouldClose() reads and clears it.
  bool close_next_ = false;
  friend class http_connection;
  std::chrono::milliseconds backoff_{0};
  log_limiter shortage_log_{std::chrono::seconds(5)};
  kj::TaskSet tasks_;
};

}  // namespace actormq::broker
