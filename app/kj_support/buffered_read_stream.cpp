#include "app/kj_support/buffered_read_stream.h"

#include <algorithm>
#include <cstring>

namespace actormq::kj_support {

buffered_read_stream::buffered_read_stream(kj::Own<kj::AsyncIoStream> inner, size_t capacity)
    : forwarding_stream(kj::mv(inner)), capacity_(std::max<size_t>(capacity, 1)) {}

size_t buffered_read_stream::take(kj::byte* out, size_t max) {
  size_t n = std::min(max, end_ - begin_);
  if (n > 0) std::memcpy(out, buf_.begin() + begin_, n);
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
  return n;
}

kj::Promise<size_t> buffered_read_stream::tryRead(void* buffer, size_t min_bytes,
                                                  size_t max_bytes) {
  auto* out = static_cast<kj::byte*>(buffer);
  const size_t have = take(out, max_bytes);
  if (have >= min_bytes) return have;
  // The buffer is empty now and the caller still needs more.
  const size_t need = min_bytes - have;
  const size_t room = max_bytes - have;
  if (room >= capacity_) {
    return inner().tryRead(out + have, need, room).then([have](size_t n) { return have + n; });
  }
  if (buf_.size() == 0) buf_ = kj::heapArray<kj::byte>(capacity_);
  return inner().tryRead(buf_.begin(), need, capacity_).then([this, out, have, room](size_t n) {
    end_ = n;
    // n < need only at the end of the stream: a short read, as KJ's.
    return have + take(out + have, room);
  });
}

void buffered_read_stream::abortRead() {
  begin_ = end_ = 0;
  inner().abortRead();
}

}  // namespace actormq::kj_support
