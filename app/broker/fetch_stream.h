#pragma once
// The zero-copy fetch stream: a plain TCP connection, bound to one RPC
// session by a 16-byte token, on which the broker writes stored batch bytes
// straight from segment files with sendfile(2). Runs on the KJ thread; the
// socket is non-blocking and the loop waits for writability only after
// EAGAIN. Each step sends at most 1 MiB and yields, so one large transfer
// cannot starve other connections on the loop.
//
// Sends are serialised: send() chains after the previous send, so bytes
// appear on the socket in the order fetch replies were produced.

#include <kj/async-io.h>
#include <kj/async-unix.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "storage/segment.h"

namespace actormq::broker {

class fetch_stream {
 public:
  /// Takes ownership of the accepted stream; fd is a dup of its descriptor.
  fetch_stream(kj::UnixEventPort& port, kj::Own<kj::AsyncIoStream> stream, int fd);
  ~fetch_stream();
  fetch_stream(const fetch_stream&) = delete;
  fetch_stream& operator=(const fetch_stream&) = delete;

  /// Writes every slice's bytes, in order, after all earlier sends.
  kj::Promise<void> send(std::vector<storage::read_slice> slices);

 private:
  kj::Promise<void> send_slices(std::shared_ptr<std::vector<storage::read_slice>> slices, size_t i,
                                uint64_t done);

  kj::Own<kj::AsyncIoStream> stream_;
  int fd_;
  kj::Own<kj::UnixEventPort::FdObserver> observer_;
  kj::ForkedPromise<void> tail_;
};

}  // namespace actormq::broker
