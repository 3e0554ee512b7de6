#pragma once
// What one RPC connection has in flight, for backpressure and idleness.
//
// A client that sends requests without reading the replies would otherwise
// make the broker queue replies without bound: Cap'n Proto queues each
// reply's message until the socket takes it. The connection stops reading
// new requests (flow_stream gates its reads on readable()) while
//  - max_calls requests of it are being served, or
//  - the replies served but not yet written to its socket, and those its
//    fetches in flight may still build (their maximum bytes), hold
//    max_unwritten_bytes or more (approximately: each reply's message size,
//    less what the socket took),
// and reads again once both are below. TCP then pushes back on the client.
// A connection is idle when nothing of it is in flight; the broker closes
// one idle for idle_timeout and, at its connection limit, one that never
// sent a request or else the one idle the longest (broker_server).
//
// Used on the broker's KJ thread only.

#include <kj/async.h>

#include <chrono>
#include <cstdint>

namespace actormq::broker {

class rpc_metrics;

class connection_flow {
 public:
  using clock = std::chrono::steady_clock;

  /// metrics (may be null) counts the pauses and the paused connections.
  connection_flow(uint32_t max_calls, uint64_t max_unwritten_bytes, rpc_metrics* metrics = nullptr);
  ~connection_flow();
  connection_flow(const connection_flow&) = delete;
  connection_flow& operator=(const connection_flow&) = delete;

  /// A request was dispatched; reserved: the reply bytes it may take (a
  /// fetch's maximum), counted as unwritten until it ends, so that calls in
  /// flight cannot together build more than the bound.
  void call_started(uint64_t reserved = 0);
  /// A request was answered with a reply of about reply_bytes (reserved:
  /// as given to call_started).
  void call_ended(uint64_t reply_bytes, uint64_t reserved = 0);
  /// The socket took bytes of replies.
  void written(uint64_t bytes);

  /// Resolves at once, or once the connection may read requests again.
  kj::Promise<void> readable();
  bool paused() const;

  uint32_t calls() const { return calls_; }
  uint64_t unwritten_bytes() const { return unwritten_; }
  /// Nothing in flight since this time (clock::time_point::max() while a
  /// request is in flight).
  clock::time_point idle_since() const { return calls_ > 0 ? clock::time_point::max() : last_; }
  /// Whether the connection ever sent a request (a client that connects
  /// and never speaks is the first evicted at the connection limit).
  bool spoken() const { return spoken_; }
  /// Times reading was paused, for the logs and tests.
  uint64_t pauses() const { return pauses_; }

 private:
  void wake_if_readable();

  uint32_t max_calls_;
  uint64_t max_unwritten_;
  rpc_metrics* metrics_;
  uint32_t calls_ = 0;
  uint64_t unwritten_ = 0;
  clock::time_point last_ = clock::now();
  uint64_t pauses_ = 0;
  bool spoken_ = false;
  kj::Maybe<kj::Own<kj::PromiseFulfiller<void>>> waiter_;
};

}  // namespace actormq::broker
