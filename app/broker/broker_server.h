#pragma once
// The network side of the broker on one KJ event loop: the Cap'n Proto RPC
// listener (one rpc_service + SESSION actor per connection, with a
// connection limit) and the zero-copy fetch stream listener.

#include <capnp/message.h>
#include <kj/async-io.h>

#include <cstdint>
#include <string>

#include "app/broker/rpc_service.h"

namespace actormq::broker {

class broker_server : private kj::TaskSet::ErrorHandler {
 public:
  broker_server(kj::AsyncIoContext& io, service_context ctx);
  ~broker_server();

  /// Binds both listeners; returns the RPC port (the actual one for port 0).
  kj::Promise<uint16_t> listen(const std::string& host, uint16_t port, int32_t stream_port);
  uint16_t stream_port() const { return ctx_.stream_port; }

 private:
  struct connection;
  void taskFailed(kj::Exception&& e) override;
  kj::Promise<void> accept_loop(kj::ConnectionReceiver& listener);
  kj::Promise<void> stream_accept_loop(kj::ConnectionReceiver& listener);
  kj::Promise<void> bind_stream(kj::Own<kj::AsyncIoStream> stream);

  kj::AsyncIoContext& io_;
  service_context ctx_;
  stream_registry streams_;
  capnp::ReaderOptions reader_options_;
  uint32_t connections_ = 0;
  kj::Own<kj::ConnectionReceiver> rpc_listener_;
  kj::Own<kj::ConnectionReceiver> stream_listener_;
  kj::TaskSet tasks_;
};

}  // namespace actormq::broker
