#pragma once
// The zero-copy fetch stream: a plain TCP connection, bound to one RPC
// session by a 16-byte token, on which the broker writes stored batch bytes
// straight from segment files with sendfile(2). Runs on the KJ thread; the
// socket is non-blocking and the loop waits for writability only after
// EAGAIN. Each step sends at most 1 MiB and yields, so one large transfer
// cannot starve other connections on the loop.
//
// Sends are serialised: send() chains after the previous send, so bytes
// appear on the socket in the order fetch replies were produced. A fetch's
// reply does not wait for its bytes: the client reads the stream only once
// it has the reply (which carries the sizes), so a reply held until the bytes
// drained would deadlock as soon as they outgrew the sockets' buffers. The
// stream owns its queued sends (destroying it cancels them). A send that
// fails leaves the stream out of step with the replies, so it breaks the
// stream: the socket is shut down (the client's read ends early and it opens
// a new stream) and later sends are dropped.

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

  /// Queues every slice's bytes, to be written in order after all earlier
  /// sends; returns at once.
  void send(std::vector<storage::read_slice> slices);
  /// A send failed: nothing more is written on this stream.
  bool broken() const { return broken_; }

 private:
  kj::Promise<void> send_slices(std::shared_ptr<std::vector<storage::read_slice>> slices, size_t i,
                                uint64_t done);
  void fail(const kj::Exception& e);

  kj::Own<kj::AsyncIoStream> stream_;
  int fd_;
  kj::Own<kj::UnixEventPort::FdObserver> observer_;
  kj::ForkedPromise<void> tail_;  ///< the last queued send, done or failed
  bool broken_ = false;
};

}  // namespace actormq::broker
