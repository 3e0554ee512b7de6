#pragma once
// The socket of one RPC connection as Cap'n Proto sees it: reads wait while
// the connection's connection_flow is paused (too many requests in flight
// or too many reply bytes not yet written), and every write that completes
// is reported to it. Everything else goes straight to the socket.

#include <kj/async-io.h>

#include <memory>

#include "app/broker/connection_flow.h"
#include "app/kj_support/forwarding_stream.h"

namespace actormq::broker {

class flow_stream final : public kj_support::forwarding_stream {
 public:
  flow_stream(kj::Own<kj::AsyncIoStream> inner, std::shared_ptr<connection_flow> flow);

  kj::Promise<size_t> tryRead(void* buffer, size_t min_bytes, size_t max_bytes) override;
  kj::Promise<void> write(const void* buffer, size_t size) override;
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override;

 private:
  std::shared_ptr<connection_flow> flow_;
};

}  // namespace actormq::broker
