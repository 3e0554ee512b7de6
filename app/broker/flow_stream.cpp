#include "app/broker/flow_stream.h"

namespace actormq::broker {

flow_stream::flow_stream(kj::Own<kj::AsyncIoStream> inner, std::shared_ptr<connection_flow> flow)
    : inner_(kj::mv(inner)), flow_(std::move(flow)) {}

kj::Promise<size_t> flow_stream::tryRead(void* buffer, size_t min_bytes, size_t max_bytes) {
  return flow_->readable().then([this, buffer, min_bytes, max_bytes]() {
    return inner_->tryRead(buffer, min_bytes, max_bytes);
  });
}

kj::Promise<void> flow_stream::write(const void* buffer, size_t size) {
  return inner_->write(buffer, size).then([flow = flow_, size]() { flow->written(size); });
}

kj::Promise<void> flow_stream::write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) {
  size_t size = 0;
  for (auto& p : pieces) size += p.size();
  return inner_->write(pieces).then([flow = flow_, size]() { flow->written(size); });
}

kj::Promise<void> flow_stream::whenWriteDisconnected() {
  return inner_->whenWriteDisconnected();
}
void flow_stream::shutdownWrite() {
  inner_->shutdownWrite();
}
void flow_stream::abortRead() {
  inner_->abortRead();
}
kj::Maybe<int> flow_stream::getFd() const {
  return inner_->getFd();
}

void flow_stream::getsockopt(int level, int option, void* value, kj::uint* length) {
  inner_->getsockopt(level, option, value, length);
}
void flow_stream::setsockopt(int level, int option, const void* value, kj::uint length) {
  inner_->setsockopt(level, option, value, length);
}
void flow_stream::getsockname(struct sockaddr* addr, kj::uint* length) {
  inner_->getsockname(addr, length);
}
void flow_stream::getpeername(struct sockaddr* addr, kj::uint* length) {
  inner_->getpeername(addr, length);
}

}  // namespace actormq::broker
