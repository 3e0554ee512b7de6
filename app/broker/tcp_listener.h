#pragma once
// tcp_listener: a listening TCP socket served on the KJ loop, whose accept
// failures come back as values (the errno) instead of exceptions, so the
// loop that accepts can tell a connection that died in the backlog from a
// descriptor shortage from a broken listener (kj's ConnectionReceiver throws
// for all three, and an exception ends the accept loop). The peer address is
// taken from accept(2) itself: a connection reset before it was served has
// no peer name left to ask for.
//
// Accepted sockets are non-blocking, close-on-exec and TCP_NODELAY.
// Thread-safety: KJ thread only. The listener must outlive its accept().

#include <kj/async-io.h>
#include <kj/async-unix.h>

#include <cstdint>
#include <string>

namespace actormq::broker {

/// What an accept(2) error means for the loop that accepts.
enum class accept_failure {
  transient,   ///< one connection died before it was served: accept the next at once
  overloaded,  ///< descriptors or memory ran out: back off and retry
  fatal,       ///< the listening socket itself is unusable
};

/// Classifies an errno from accept(2) (Linux accept(2), "Error handling").
accept_failure classify_accept_errno(int err);

struct accepted_connection {
  kj::Own<kj::AsyncIoStream> stream;  ///< null when error != 0
  std::string peer;                   ///< "host:port" of the client
  int error = 0;                      ///< errno of a failed accept
};

class tcp_listener {
 public:
  /// Binds host:port (port 0 picks a free one; host "*" or "" = any) and
  /// listens. Throws kj::Exception with the reason when it cannot (startup
  /// only, before any client is served).
  tcp_listener(kj::AsyncIoContext& io, const std::string& host, uint16_t port);
  ~tcp_listener();
  tcp_listener(const tcp_listener&) = delete;
  tcp_listener& operator=(const tcp_listener&) = delete;

  uint16_t port() const { return port_; }

  /// The next connection, or the errno of a failed accept. Never rejects
  /// for an accept(2) error.
  kj::Promise<accepted_connection> accept();

 private:
  kj::AsyncIoContext& io_;
  int fd_ = -1;
  uint16_t port_ = 0;
  kj::Own<kj::UnixEventPort::FdObserver> observer_;
};

}  // namespace actormq::broker
