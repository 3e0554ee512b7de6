#pragma once
// A client's TCP stream to a broker that lets the broker have the last
// word. A broker that refuses a connection (max_connections) writes a
// Cap'n Proto Abort saying why and closes; when the client's own write
// reaches the closed socket first, the kernel answers with a reset and
// the write fails with "Broken pipe" or "Connection reset", while the
// Abort still waits, unread, in the receive buffer (Linux keeps received
// bytes through a reset). Reported as is, the user would see the write
// error, not the reason.
//
// So a write that fails with DISCONNECTED does not fail at once: it waits
// up to `grace` for the read side, which then reads the Abort (or the end
// of the stream) and ends the session with that; only if the read side
// stays silent that long does the write fail with its own error. Reads
// and everything else pass straight through (forwarding_stream).

#include <kj/async-io.h>
#include <kj/timer.h>

#include "app/kj_support/forwarding_stream.h"

namespace actormq::client::detail {

class last_words_stream final : public kj_support::forwarding_stream {
 public:
  last_words_stream(kj::Own<kj::AsyncIoStream> inner, kj::Timer& timer, kj::Duration grace)
      : forwarding_stream(kj::mv(inner)), timer_(timer), grace_(grace) {}

  kj::Promise<void> write(const void* buffer, size_t size) override {
    return defer_disconnect(kj::evalNow([&] { return inner().write(buffer, size); }));
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    return defer_disconnect(kj::evalNow([&] { return inner().write(pieces); }));
  }

 private:
  // (The unix stream's write throws at once when the socket is already
  // reset: callers wrap it in kj::evalNow.)
  kj::Promise<void> defer_disconnect(kj::Promise<void> written) {
    return written.catch_([this](kj::Exception&& e) -> kj::Promise<void> {
      if (e.getType() != kj::Exception::Type::DISCONNECTED) return kj::mv(e);
      return timer_.afterDelay(grace_).then(
          [e = kj::mv(e)]() mutable -> kj::Promise<void> { return kj::mv(e); });
    });
  }

  kj::Timer& timer_;
  kj::Duration grace_;
};

}  // namespace actormq::client::detail
