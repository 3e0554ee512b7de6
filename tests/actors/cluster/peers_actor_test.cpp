// PEERS actor across real CAF nodes: failure detection, reconnection of a
// restarted broker, requests to a peer that is down or frozen.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "support/cluster_fixture.h"
#include "support/process_state.h"

using namespace actormq;
using namespace actormq::test;
using namespace std::chrono_literals;

namespace {

using ms = std::chrono::milliseconds;

/// Detection bound: the connection timeout plus scheduling slack on the
/// shared 2-core machines.
constexpr ms detection_bound = 1000ms + 1000ms;

ms since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() - t);
}

caf::expected<std::vector<partition_stats>> stats_from(test_node& n, int32_t broker_id,
                                                       caf::timespan timeout) {
  caf::scoped_actor self{n.sys()};
  return ask<std::vector<partition_stats>>(self, n.peers, partition_stats_atom::value, broker_id,
                                           std::vector<topic_partition>{{"t", 0}}, timeout);
}

/// The forked child of the SIGSTOP test: a broker with a published NODE
/// actor; writes its port to fd and serves until killed. No Catch2 macros
/// here: a failed REQUIRE would throw and run the rest of the suite in the
/// child.
[[noreturn]] void serve_node_until_killed(int fd) {
  ::alarm(60);  // never outlive a parent that died
  cluster_settings cs;
  cs.cluster_id = "c1";
  cluster_system_config cfg(cs);
  caf::actor_system sys(cfg);
  node_settings ns;
  ns.broker_id = 2;
  ns.cluster_id = "c1";
  auto node = spawn_node(sys, ns);
  auto bound = publish_node(sys, node, loopback, 0);
  uint16_t port = bound ? *bound : 0;
  if (::write(fd, &port, sizeof port) != sizeof port) ::_exit(2);
  for (;;) ::pause();
}

}  // namespace

TEST_CASE("peers reports each other broker up with its incarnation", "[cluster]") {
  test_node c({.broker_id = 3});
  test_node b({.broker_id = 2});
  test_node a({.broker_id = 1});
  caf::anon_send(a.peers, set_peers_atom::value,
                 std::vector<peer_address>{a.address(), c.address(), b.address()});
  REQUIRE(wait_for_state(a.sys(), a.peers, 2, peer_state::up));
  REQUIRE(wait_for_state(a.sys(), a.peers, 3, peer_state::up));
  caf::scoped_actor self{a.sys()};
  auto all = ask<std::vector<peer_status>>(self, a.peers, peers_atom::value);
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].broker_id == 2);
  CHECK((*all)[1].broker_id == 3);
  auto info = ask<node_info>(self, b.node, node_info_atom::value);
  REQUIRE(info);
  CHECK((*all)[0].incarnation == info->incarnation);
  CHECK((*all)[0].last_error.empty());
  CHECK((*all)[0].since_ms > 0);
  auto node = ask<node_actor>(self, a.peers, node_atom::value, int32_t{3});
  REQUIRE(node);
  CHECK(ask<pong_atom>(self, *node, ping_atom::value));

  // Removing a peer forgets it; the rest stays up.
  caf::anon_send(a.peers, set_peers_atom::value, std::vector<peer_address>{b.address()});
  REQUIRE(poll_until([&] { return !status_of(a.sys(), a.peers, 3); }));
  CHECK(status_of(a.sys(), a.peers, 2)->state == peer_state::up);
  CHECK(code_of(ask<node_actor>(self, a.peers, node_atom::value, int32_t{3})) ==
        errc::invalid_request);
}

TEST_CASE("a peer whose actor system shuts down is reported down within the connection timeout",
          "[cluster]") {
  auto b = std::make_unique<test_node>(test_node_options{.broker_id = 2});
  test_node a({.broker_id = 1});
  caf::anon_send(a.peers, set_peers_atom::value, std::vector<peer_address>{b->address()});
  REQUIRE(wait_for_state(a.sys(), a.peers, 2, peer_state::up));

  auto t = std::chrono::steady_clock::now();
  b.reset();
  auto took = wait_for_state(a.sys(), a.peers, 2, peer_state::down, detection_bound);
  REQUIRE(took);
  WARN("shut-down peer detected after " << since(t).count() << " ms (shutdown included)");
  auto s = status_of(a.sys(), a.peers, 2);
  CHECK(s->last_error.find("connection lost") != std::string::npos);

  // A request to it now fails at once, well within its timeout.
  auto start = std::chrono::steady_clock::now();
  auto stats = stats_from(a, 2, 2s);
  CHECK(code_of(stats) == errc::shutting_down);
  CHECK(since(start) < 1000ms);
}

TEST_CASE("a peer that comes back on its port is reconnected with its new incarnation",
          "[cluster]") {
  auto b = std::make_unique<test_node>(test_node_options{.broker_id = 2});
  auto port = b->port;
  test_node a({.broker_id = 1});
  caf::anon_send(a.peers, set_peers_atom::value, std::vector<peer_address>{b->address()});
  REQUIRE(wait_for_state(a.sys(), a.peers, 2, peer_state::up));
  auto first = status_of(a.sys(), a.peers, 2)->incarnation;

  b.reset();
  REQUIRE(wait_for_state(a.sys(), a.peers, 2, peer_state::down, detection_bound));
  // Let a few attempts fail against the closed port before it comes back.
  REQUIRE(poll_until([&] {
    auto s = status_of(a.sys(), a.peers, 2);
    return s->last_error.find("connect:") != std::string::npos;
  }));

  auto t = std::chrono::steady_clock::now();
  b = std::make_unique<test_node>(test_node_options{.broker_id = 2, .port = port});
  REQUIRE(b->port == port);
  // Bound: one backoff step at most (2 s) plus the handshake.
  auto took = wait_for_state(a.sys(), a.peers, 2, peer_state::up, 2000ms + 2000ms);
  REQUIRE(took);
  WARN("restarted peer up again after " << since(t).count() << " ms");
  auto again = status_of(a.sys(), a.peers, 2);
  CHECK(again->incarnation != 0);
  CHECK(again->incarnation != first);
  auto stats = stats_from(a, 2, 5s);
  REQUIRE(stats);
  CHECK(stats->at(0).error == errc::unknown_topic);
}

TEST_CASE("a peer that never listened is down and requests to it fail at once", "[cluster]") {
  test_node a({.broker_id = 1});
  uint16_t closed_port = 0;
  {
    // A port that was just free: bind an ephemeral one and let it go.
    test_node gone({.broker_id = 9});
    closed_port = gone.port;
  }
  caf::anon_send(a.peers, set_peers_atom::value,
                 std::vector<peer_address>{{2, loopback, closed_port}});
  REQUIRE(wait_for_state(a.sys(), a.peers, 2, peer_state::down));
  auto s = status_of(a.sys(), a.peers, 2);
  CHECK(s->last_error.find("connect:") != std::string::npos);
  auto start = std::chrono::steady_clock::now();
  CHECK(code_of(stats_from(a, 2, 2s)) == errc::shutting_down);
  CHECK(since(start) < 1000ms);
}

TEST_CASE(
    "a frozen peer (SIGSTOP) times out requests and is reported down after the "
    "connection timeout",
    "[cluster]") {
  // The frozen broker runs in a forked child: this process has no actor
  // system at this point, so the child starts from a single thread.
  int to_parent[2];
  REQUIRE(::pipe(to_parent) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(to_parent[0]);
    serve_node_until_killed(to_parent[1]);
  }
  ::close(to_parent[1]);
  struct child_guard {
    pid_t pid;
    ~child_guard() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } guard{child};
  pollfd pfd{to_parent[0], POLLIN, 0};
  REQUIRE(::poll(&pfd, 1, 10'000) == 1);
  uint16_t port = 0;
  REQUIRE(::read(to_parent[0], &port, sizeof port) == sizeof port);
  REQUIRE(port != 0);
  ::close(to_parent[0]);

  test_node a({.broker_id = 1});
  caf::anon_send(a.peers, set_peers_atom::value, std::vector<peer_address>{{2, loopback, port}});
  REQUIRE(wait_for_state(a.sys(), a.peers, 2, peer_state::up));
  REQUIRE(stats_from(a, 2, 5s));

  REQUIRE(::kill(child, SIGSTOP) == 0);
  // kill() only queues the signal: wait until the child is really stopped,
  // or a loaded machine lets it answer one more request.
  REQUIRE(test::wait_stopped(child));
  auto t = std::chrono::steady_clock::now();
  // Before the connection timeout the peer still looks up: the request
  // itself must fail on its own timeout.
  auto stats = stats_from(a, 2, 300ms);
  CHECK(code_of(stats) == errc::timeout);
  CHECK(since(t) < 1000ms);
  auto took = wait_for_state(a.sys(), a.peers, 2, peer_state::down, detection_bound);
  REQUIRE(took);
  WARN("frozen peer detected after " << since(t).count() << " ms");
  CHECK(since(t) >= 500ms);
}
