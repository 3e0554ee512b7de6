#pragma once
// The broker's HTTP port (http_server.h) on a thread of its own, with its
// own KJ event loop. Answering /metrics and /api/cluster builds tens of KB
// of text per request (Prometheus scrapes every second, the open page polls
// every second); on the RPC loop that work stalled every client connection
// for its duration and showed in W4's p99 (docs/benchmarks.md, "Inspector
// cost"). Here it runs beside the RPC loop. The server's requests go to the
// INSPECTOR and the RETRY actor through ask() (actor_call.h), whose
// cross-thread fulfillers work on any KJ loop.

#include <kj/async.h>

#include <cstdint>
#include <thread>

#include "app/broker/http_server.h"

namespace actormq::broker {

class http_thread {
 public:
  /// Starts the thread and binds the port (0 picks one); throws
  /// kj::Exception, as http_server::listen does, when it cannot.
  explicit http_thread(http_server::settings s);
  /// Stops serving (open connections are closed) and joins the thread.
  ~http_thread();
  http_thread(const http_thread&) = delete;
  http_thread& operator=(const http_thread&) = delete;

  /// The bound port.
  uint16_t port() const { return port_; }

 private:
  void run(http_server::settings s);

  std::thread thread_;
  uint16_t port_ = 0;
  /// Set by the thread before the constructor returns; fulfilled to stop.
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop_;
};

}  // namespace actormq::broker
