#include "app/broker/tcp_listener.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <kj/debug.h>

namespace actormq::broker {

namespace {

std::string format_peer(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf));
    port = ntohs(a->sin6_port);
    return fmt::format("[{}]:{}", buf, port);
  }
  return fmt::format("{}:{}", buf, port);
}

}  // namespace

accept_failure classify_accept_errno(int err) {
  switch (err) {
    // Linux passes network errors already pending on the new connection
    // as accept's own error; the man page says to treat them like EAGAIN.
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case ETIMEDOUT:
    case EPERM:  // a firewall rule refused this one connection
    case EINTR:
    case EAGAIN:
      return accept_failure::transient;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      return accept_failure::overloaded;
    default:  // EBADF, EINVAL, ENOTSOCK, EFAULT: the listener is broken
      return accept_failure::fatal;
  }
}

tcp_listener::tcp_listener(kj::AsyncIoContext& io, const std::string& host, uint16_t port)
    : io_(io) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  std::string h = host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const char* node = (h.empty() || h == "*") ? nullptr : h.c_str();
  auto service = std::to_string(port);
  addrinfo* res = nullptr;
  int gai = ::getaddrinfo(node, service.c_str(), &hints, &res);
  if (gai != 0) KJ_FAIL_REQUIRE("cannot resolve listen address", host, ::gai_strerror(gai));
  KJ_DEFER(::freeaddrinfo(res));
  int last_err = 0;
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_err = errno;
      continue;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      last_err = errno;
      ::close(fd);
      continue;
    }
    fd_ = fd;
    break;
  }
  if (fd_ < 0) KJ_FAIL_SYSCALL("bind/listen", last_err, host, port);
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                   : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  observer_ = kj::heap<kj::UnixEventPort::FdObserver>(io_.unixEventPort, fd_,
                                                      kj::UnixEventPort::FdObserver::OBSERVE_READ);
}

tcp_listener::~tcp_listener() {
  observer_ = nullptr;  // the observer must go before the descriptor
  if (fd_ >= 0) ::close(fd_);
}

kj::Promise<accepted_connection> tcp_listener::accept() {
  for (;;) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        return observer_->whenBecomesReadable().then([this]() { return accept(); });
      }
      accepted_connection failed;
      failed.error = err;
      return failed;
    }
    accepted_connection c;
    c.peer = format_peer(ss);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    // Registering the descriptor with epoll can fail (ENOMEM, the
    // max_user_watches limit). The stream owns fd from its first member
    // on, so a failure there has already closed it.
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() {
                   c.stream = io_.lowLevelProvider->wrapSocketFd(
                       fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                               kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC |
                               kj::LowLevelAsyncIoProvider::ALREADY_NONBLOCK);
                 })) {
      (void)e;
      c.error = ENOMEM;
    }
    return c;
  }
}

}  // namespace actormq::broker
