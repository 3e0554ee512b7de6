// Unit: a write that meets the reset after a peer's last message leaves
// the read side time to read that message (the broker's Abort at its
// connection limit), over a real TCP connection on 127.0.0.1.
#include <kj/async-io.h>
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <string>

#include "app/client/src/last_words_stream.h"

using actormq::client::detail::last_words_stream;

namespace {

struct tcp_pair {
  kj::Own<kj::AsyncIoStream> client;
  kj::Own<kj::AsyncIoStream> server;
};

tcp_pair connect_pair(kj::AsyncIoContext& io) {
  auto& net = io.provider->getNetwork();
  auto listener = net.parseAddress("127.0.0.1", 0).wait(io.waitScope)->listen();
  auto addr = net.parseAddress("127.0.0.1", listener->getPort()).wait(io.waitScope);
  auto connected = addr->connect();
  auto server = listener->accept().wait(io.waitScope);
  return {connected.wait(io.waitScope), kj::mv(server)};
}

// Resets the connection the way a broker's close with unread bytes does:
// the peer says its last words, the client writes, the peer closes
// without reading.
// Waits (at most 5 s) on the events, not on time: the client's bytes
// queued at the peer, then the reset arrived at the client.
void last_words_then_reset(kj::AsyncIoContext& io, tcp_pair& p, kj::StringPtr words) {
  p.server->write(words.begin(), words.size()).wait(io.waitScope);
  p.client->write("unread", 6).wait(io.waitScope);
  int server_fd = -1, client_fd = -1;
  KJ_IF_MAYBE (fd, p.server->getFd()) {
    server_fd = *fd;
  }
  KJ_IF_MAYBE (fd, p.client->getFd()) {
    client_fd = *fd;
  }
  REQUIRE(server_fd >= 0);
  REQUIRE(client_fd >= 0);
  int queued = 0;
  for (int i = 0; i < 500 && queued < 6; ++i) {
    REQUIRE(::ioctl(server_fd, FIONREAD, &queued) == 0);
    if (queued < 6) ::usleep(10000);
  }
  REQUIRE(queued == 6);
  p.server = nullptr;  // close with unread bytes: a reset
  pollfd pfd{client_fd, POLLIN, 0};
  // POLLERR (or POLLHUP) once the reset is in; the last words alone give POLLIN.
  for (int i = 0; i < 500 && (pfd.revents & (POLLERR | POLLHUP)) == 0; ++i) {
    pfd.revents = 0;
    REQUIRE(::poll(&pfd, 1, 10) >= 0);
  }
  REQUIRE((pfd.revents & (POLLERR | POLLHUP)) != 0);
}

}  // namespace

TEST_CASE("a raw write after a reset fails at once with DISCONNECTED", "[client][stream]") {
  // What last_words_stream guards against, checked on this kernel.
  auto io = kj::setupAsyncIo();
  auto p = connect_pair(io);
  last_words_then_reset(io, p, "why");
  auto r = kj::runCatchingExceptions([&] { p.client->write("x", 1).wait(io.waitScope); });
  KJ_IF_MAYBE (e, r) {
    CHECK(e->getType() == kj::Exception::Type::DISCONNECTED);
  } else {
    FAIL("a write after a reset succeeded");
  }
  // The peer's last words are still there to read.
  char buf[16];
  auto n = p.client->tryRead(buf, 3, sizeof buf).wait(io.waitScope);
  CHECK(std::string(buf, n) == "why");
}

TEST_CASE("a write after a reset waits for the read side, which gets the peer's last words",
          "[client][stream]") {
  auto io = kj::setupAsyncIo();
  auto p = connect_pair(io);
  last_words_then_reset(io, p, "at its connection limit");
  last_words_stream s(kj::mv(p.client), io.provider->getTimer(), 2 * kj::SECONDS);
  bool write_done = false;
  auto written = s.write("x", 1).then([&] { write_done = true; }).fork();
  char buf[64];
  auto n = s.tryRead(buf, 23, sizeof buf).wait(io.waitScope);
  CHECK(std::string(buf, n) == "at its connection limit");
  io.provider->getTimer().afterDelay(100 * kj::MILLISECONDS).wait(io.waitScope);
  CHECK_FALSE(write_done);  // still waiting: the reader gets to report why
}

TEST_CASE("a write after a reset fails with its own error once the grace runs out",
          "[client][stream]") {
  auto io = kj::setupAsyncIo();
  auto p = connect_pair(io);
  last_words_then_reset(io, p, "why");
  last_words_stream s(kj::mv(p.client), io.provider->getTimer(), 200 * kj::MILLISECONDS);
  auto r = kj::runCatchingExceptions([&] { s.write("x", 1).wait(io.waitScope); });
  KJ_IF_MAYBE (e, r) {
    CHECK(e->getType() == kj::Exception::Type::DISCONNECTED);
  } else {
    FAIL("a write after a reset succeeded");
  }
}

TEST_CASE("writes and reads pass through while the connection is up", "[client][stream]") {
  auto io = kj::setupAsyncIo();
  auto p = connect_pair(io);
  last_words_stream s(kj::mv(p.client), io.provider->getTimer(), 1 * kj::SECONDS);
  s.write("ping", 4).wait(io.waitScope);
  char buf[8];
  CHECK(p.server->tryRead(buf, 4, 4).wait(io.waitScope) == 4);
  CHECK(std::string(buf, 4) == "ping");
  p.server->write("pong", 4).wait(io.waitScope);
  CHECK(s.tryRead(buf, 4, 4).wait(io.waitScope) == 4);
  CHECK(std::string(buf, 4) == "pong");
}
