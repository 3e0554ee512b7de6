// Integration: no error on one connection stops the broker from accepting
// the next (app/broker/broker_server, tcp_listener). Each case misbehaves on
// the RPC or the fetch-stream port and then requires a good client to be
// served within a second.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "app/broker/log_limiter.h"
#include "app/broker/tcp_listener.h"
#include "fixtures.h"
#include "raw_client.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

/// Closes fd with an RST instead of a FIN (SO_LINGER 0).
void reset(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::close(fd);
}

std::string stream_address(const test::broker_process& b) {
  auto c = client::connection::connect(test::connection_to(b));
  REQUIRE(c);
  auto port = (*c)->broker_info().stream_port;
  REQUIRE(port != 0);
  return "127.0.0.1:" + std::to_string(port);
}

/// A new client connects and lists topics within the limit (connect and
/// request both bounded by it).
bool served_within(const test::broker_process& b, std::chrono::milliseconds limit) {
  auto cfg = test::connection_to(b);
  cfg.connect_timeout_ms = static_cast<uint32_t>(limit.count());
  cfg.request_timeout_ms = static_cast<uint32_t>(limit.count());
  auto start = std::chrono::steady_clock::now();
  auto adm = client::admin::create(cfg);
  if (!adm) return false;
  auto topics = (*adm)->list_topics();
  return topics && std::chrono::steady_clock::now() - start <= limit;
}

/// Produces n messages to topic (one partition) and requires them acked.
void produce_n(const test::broker_process& b, const std::string& topic, int n) {
  client::producer_config pc;
  pc.connection = test::connection_to(b);
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  for (int i = 0; i < n; ++i) (*prod)->send(topic, std::to_string(i), std::to_string(i));
  REQUIRE((*prod)->flush(30s));
}

/// A consumer on the zero-copy stream reads n messages of topic within limit.
bool stream_consumer_reads(const test::broker_process& b, const std::string& topic, size_t n,
                           const std::string& group, std::chrono::milliseconds limit) {
  client::consumer_config cc;
  cc.connection = test::connection_to(b);
  cc.group_id = group;
  cc.auto_offset_reset = client::offset_reset::earliest;
  cc.use_fetch_stream = true;
  auto c = client::consumer::create(cc);
  if (!c || !(*c)->subscribe({topic})) return false;
  auto msgs = test::consume_n(**c, n, limit);
  return msgs.size() == n && (*c)->fetch_stream_active();
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("connections reset before the broker accepted them leave it accepting new clients",
          "[app][broker_server]") {
  test::broker_process broker;
  test::require_started(broker);
  // Frozen, the broker cannot accept: the kernel completes the handshakes
  // into the backlog, and the resets land there before accept(2) runs.
  // (Each one used to end the accept loop: getpeername failed with ENOTCONN.)
  broker.pause();
  for (int i = 0; i < 20; ++i) {
    int fd = test::tcp_connect(broker.address());
    REQUIRE(fd >= 0);
    reset(fd);
  }
  broker.resume();
  CHECK(served_within(broker, 1s));
  CHECK(served_within(broker, 1s));
}

TEST_CASE("connections reset after their first bytes leave the broker accepting new clients",
          "[app][broker_server]") {
  test::broker_process broker;
  test::require_started(broker);
  for (int i = 0; i < 20; ++i) {
    int fd = test::tcp_connect(broker.address());
    REQUIRE(fd >= 0);
    // Half of a Cap'n Proto frame header, then an RST.
    const char partial[4] = {0, 0, 0, 0};
    REQUIRE(::send(fd, partial, sizeof(partial), MSG_NOSIGNAL) == 4);
    reset(fd);
  }
  CHECK(served_within(broker, 1s));
}

TEST_CASE("half-open connections that never speak do not hold up other clients",
          "[app][broker_server]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "quiet", 1);
  produce_n(broker, "quiet", 10);
  std::vector<int> idle;
  auto stream = stream_address(broker);
  for (int i = 0; i < 50; ++i) {
    idle.push_back(test::tcp_connect(broker.address()));
    idle.push_back(test::tcp_connect(stream));
  }
  for (int fd : idle) REQUIRE(fd >= 0);
  CHECK(served_within(broker, 1s));
  CHECK(stream_consumer_reads(broker, "quiet", 10, "g-half-open", 10s));
  for (int fd : idle) ::close(fd);
}

TEST_CASE("resets and unknown tokens on the fetch-stream port leave it serving streams",
          "[app][broker_server]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "zs", 1);
  produce_n(broker, "zs", 10);
  auto stream = stream_address(broker);

  broker.pause();
  for (int i = 0; i < 10; ++i) {
    int fd = test::tcp_connect(stream);
    REQUIRE(fd >= 0);
    reset(fd);
  }
  broker.resume();
  for (int i = 0; i < 10; ++i) {
    int fd = test::tcp_connect(stream);
    REQUIRE(fd >= 0);
    REQUIRE(::send(fd, "12345", 5, MSG_NOSIGNAL) == 5);
    reset(fd);
  }
  // A scanner presenting 100 wrong tokens gets one warning line, not 100.
  for (int i = 0; i < 100; ++i) {
    int fd = test::tcp_connect(stream);
    REQUIRE(fd >= 0);
    REQUIRE(::send(fd, "0123456789abcdef", 16, MSG_NOSIGNAL) == 16);
    ::close(fd);
  }
  CHECK(stream_consumer_reads(broker, "zs", 10, "g-stream", 10s));
  CHECK(served_within(broker, 1s));
  auto warned = count_of(broker.output(), "presented an unknown token");
  CHECK(warned >= 1);
  CHECK(warned <= 2);
}

TEST_CASE("running out of file descriptors backs off and serves new clients once they free",
          "[app][broker_server]") {
  test::temp_dir dir("actormq-fd");
  auto config = dir.path() / "broker.toml";
  // The connection limit must not be what refuses the flood.
  std::ofstream(config) << "[broker]\nmax_connections = 100000\n";
  test::broker_process broker({"--config", config.string()});
  broker.set_fd_limit(160);
  test::require_started(broker);
  test::create_topic(broker, "fd", 1);
  // A client connected before the shortage keeps being served during it.
  auto early = client::admin::create(test::connection_to(broker));
  REQUIRE(early);

  std::vector<int> flood;
  for (int i = 0; i < 250; ++i) {
    int fd = test::tcp_connect(broker.address());
    if (fd >= 0) flood.push_back(fd);
  }
  REQUIRE(test::eventually(
      [&] { return broker.output().find("Too many open files") != std::string::npos; }, 10s));
  CHECK((*early)->list_topics());
  CHECK(broker.running());

  for (int fd : flood) ::close(fd);
  CHECK(served_within(broker, 1s));
  CHECK(served_within(broker, 1s));
  // The shortage is reported, but not once per failed accept.
  CHECK(count_of(broker.output(), "Too many open files") <= 3);
  auto status = broker.stop();
  REQUIRE(status);
  CHECK(*status == 0);
}

TEST_CASE("a listener error that is not about one connection is classified as fatal",
          "[app][broker_server]") {
  using broker::accept_failure;
  using broker::classify_accept_errno;
  CHECK(classify_accept_errno(ECONNABORTED) == accept_failure::transient);
  CHECK(classify_accept_errno(EPROTO) == accept_failure::transient);
  CHECK(classify_accept_errno(EMFILE) == accept_failure::overloaded);
  CHECK(classify_accept_errno(ENFILE) == accept_failure::overloaded);
  CHECK(classify_accept_errno(ENOBUFS) == accept_failure::overloaded);
  CHECK(classify_accept_errno(EBADF) == accept_failure::fatal);
  CHECK(classify_accept_errno(EINVAL) == accept_failure::fatal);
  CHECK(classify_accept_errno(ENOTSOCK) == accept_failure::fatal);
}

TEST_CASE("log_limiter lets one line through per interval and counts the rest",
          "[app][broker_server]") {
  broker::log_limiter limiter(5s);
  auto t0 = broker::log_limiter::clock::time_point{} + 1h;
  REQUIRE(limiter.admit(t0) == std::optional<uint64_t>(0));
  CHECK_FALSE(limiter.admit(t0 + 1s));
  CHECK_FALSE(limiter.admit(t0 + 4s));
  CHECK(limiter.admit(t0 + 5s) == std::optional<uint64_t>(2));
  CHECK_FALSE(limiter.admit(t0 + 6s));
  CHECK(limiter.admit(t0 + 20s) == std::optional<uint64_t>(1));
}

TEST_CASE("info reports the address the broker bound, not port 0", "[app][broker_server]") {
  test::broker_process broker;
  test::require_started(broker, "127.0.0.1:0");
  auto c = client::connection::connect(test::connection_to(broker));
  REQUIRE(c);
  CHECK((*c)->broker_info().broker_id == broker.address());
}

TEST_CASE("a new broker does not report an unclean shutdown; one killed does",
          "[app][broker_server]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "fresh", 2);
  produce_n(broker, "fresh", 5);
  CHECK(count_of(broker.output(), "unclean") == 0);

  REQUIRE(broker.restart(false));  // SIGTERM: clean
  CHECK(count_of(broker.output(), "unclean") == 0);
  CHECK(count_of(broker.output(), "clean shutdown") > 0);

  REQUIRE(broker.restart(true));  // SIGKILL
  CHECK(count_of(broker.output(), "unclean shutdown") > 0);
}
