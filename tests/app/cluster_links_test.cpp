// Integration: metadata and `actormq cluster status` tell a broker registered
// in etcd (alive) from one the answering broker has a live CAF connection to
// (link, from its PEERS actor).
#include <catch2/catch.hpp>

#include <map>
#include <sstream>
#include <thread>

#include "cluster_fixtures.h"
#include "subprocess.h"

#ifndef ACTORMQ_CLI_BIN
#error "ACTORMQ_CLI_BIN must name the actormq binary"
#endif

using namespace actormq;
using namespace std::chrono_literals;

namespace {

/// broker id -> (alive, link) as broker b sees it; empty when b does not answer.
std::map<int32_t, std::pair<bool, client::peer_link>> links_at(test::broker_process& b) {
  std::map<int32_t, std::pair<bool, client::peer_link>> out;
  auto adm = client::admin::create(test::connection_to(b));
  if (!adm) return out;
  auto m = (*adm)->metadata({});
  if (!m) return out;
  for (auto& n : m->brokers) out[n.id] = {n.alive, n.link};
  return out;
}

/// The line of `cluster status` (asked at b) that starts with broker id.
std::string status_line(test::broker_process& b, int32_t id) {
  auto r = test::run_subprocess({ACTORMQ_CLI_BIN, "--broker", b.address(), "cluster", "status"}, {},
                                30s);
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(std::to_string(id) + " ", 0) == 0) return line;
  }
  return {};
}

}  // namespace

TEST_CASE("a frozen broker stays registered while the link to it is reported down",
          "[app][cluster][links]") {
  // A long lease: the frozen broker stays registered for the whole test,
  // while CAF's connection timeout (1 s) cuts the link.
  test::cluster_process c(10000);
  (void)test::require_formed(c, 3);
  auto& at = c.broker(0);
  using link = client::peer_link;
  std::map<int32_t, std::pair<bool, link>> seen;
  REQUIRE(test::eventually(
      [&] {
        seen = links_at(at);
        return seen.size() == 3 && seen[0].second == link::self && seen[1].second == link::up &&
               seen[2].second == link::up;
      },
      15s));
  CHECK(seen[1].first);
  CHECK(seen[2].first);

  c.broker(2).pause();
  auto paused = std::chrono::steady_clock::now();
  REQUIRE(test::eventually(
      [&] {
        seen = links_at(at);
        return seen.count(2) && seen[2].second == link::down;
      },
      8s));
  CHECK(std::chrono::steady_clock::now() - paused < 8s);
  CHECK(seen[2].first);  // still registered: its lease has not expired
  CHECK(seen[1].second == link::up);
  auto line = status_line(at, 2);
  INFO(line);
  CHECK(line.find(c.broker(2).address()) != std::string::npos);
  CHECK(line.find("alive") != std::string::npos);
  CHECK(line.find("down for") != std::string::npos);
  auto self_line = status_line(at, 0);
  INFO(self_line);
  CHECK(self_line.find("self") != std::string::npos);
  // The crash fast path (peers revoke the lease of a broker whose link
  // closed and whose port refuses) must not fire: a frozen broker's kernel
  // still accepts the reconnect, whose handshake times out instead. Past the
  // first reconnect (100 ms backoff + the 2 s connect bound) it is still
  // registered, at every broker.
  std::this_thread::sleep_for(2500ms);
  seen = links_at(at);
  CHECK(seen.count(2) == 1);
  CHECK(seen[2].first);
  auto from_other = links_at(c.broker(1));
  CHECK(from_other.count(2) == 1);
  CHECK(from_other[2].first);

  c.broker(2).resume();
  CHECK(test::eventually(
      [&] {
        seen = links_at(at);
        return seen.count(2) && seen[2].second == link::up;
      },
      10s));
}
