#include "app/broker/flow_stream.h"

namespace actormq::broker {

flow_stream::flow_stream(kj::Own<kj::AsyncIoStream> inner, std::shared_ptr<connection_flow> flow)
    : forwarding_stream(kj::mv(inner)), flow_(std::move(flow)) {}

kj::Promise<size_t> flow_stream::tryRead(void* buffer, size_t min_bytes, size_t max_bytes) {
  return flow_->readable().then([this, buffer, min_bytes, max_bytes]() {
    return inner().tryRead(buffer, min_bytes, max_bytes);
  });
}

kj::Promise<void> flow_stream::write(const void* buffer, size_t size) {
  return inner().write(buffer, size).then([flow = flow_, size]() { flow->written(size); });
}

kj::Promise<void> flow_stream::write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) {
  size_t size = 0;
  for (auto& p : pieces) size += p.size();
  return inner().write(pieces).then([flow = flow_, size]() { flow->written(size); });
}

}  // namespace actormq::broker
