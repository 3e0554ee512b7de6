// connection_flow (app/broker/connection_flow.h): when a connection's
// reading pauses and resumes, and the metrics that show it
// (actormq_connections_paused, actormq_connection_pauses_total).

#include "app/broker/connection_flow.h"

#include <kj/async.h>
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "app/broker/rpc_metrics.h"

using namespace actormq;
using namespace actormq::broker;

namespace {

double sample(const rpc_metrics& m, const std::string& name) {
  std::vector<metric_sample> out;
  m.samples(out);
  for (const auto& s : out) {
    if (s.name == name) return s.value;
  }
  FAIL("no sample " << name);
  return -1;
}

}  // namespace

TEST_CASE("a connection pauses at max calls in flight and reads again when one ends",
          "[app][broker][flow]") {
  kj::EventLoop loop;
  kj::WaitScope ws(loop);
  rpc_metrics metrics;
  connection_flow flow(2, 1 << 20, &metrics);
  flow.call_started();
  CHECK(flow.readable().poll(ws));
  flow.call_started();
  CHECK(flow.paused());
  auto readable = flow.readable();
  CHECK_FALSE(readable.poll(ws));
  CHECK(sample(metrics, "actormq_connections_paused") == 1);
  CHECK(sample(metrics, "actormq_connection_pauses_total") == 1);
  flow.call_ended(100);
  CHECK(readable.poll(ws));
  readable.wait(ws);
  CHECK(sample(metrics, "actormq_connections_paused") == 0);
  CHECK(sample(metrics, "actormq_connection_pauses_total") == 1);
}

TEST_CASE("a connection pauses while its unread replies reach the bound", "[app][broker][flow]") {
  kj::EventLoop loop;
  kj::WaitScope ws(loop);
  rpc_metrics metrics;
  connection_flow flow(100, 1000, &metrics);
  // A fetch in flight reserves its maximum reply.
  flow.call_started(600);
  CHECK_FALSE(flow.paused());
  flow.call_started(600);
  CHECK(flow.paused());
  auto readable = flow.readable();
  CHECK_FALSE(readable.poll(ws));
  // Both answered with 500 bytes each, which the socket has not taken.
  flow.call_ended(500, 600);
  flow.call_ended(500, 600);
  CHECK(flow.unwritten_bytes() == 1000);
  CHECK_FALSE(readable.poll(ws));
  flow.written(1);
  CHECK(readable.poll(ws));
  CHECK(sample(metrics, "actormq_connections_paused") == 0);
}

TEST_CASE("a connection closed while paused no longer counts as paused", "[app][broker][flow]") {
  kj::EventLoop loop;
  kj::WaitScope ws(loop);
  rpc_metrics metrics;
  {
    auto flow = std::make_unique<connection_flow>(1, 1 << 20, &metrics);
    flow->call_started();
    auto readable = flow->readable();
    CHECK(sample(metrics, "actormq_connections_paused") == 1);
    flow.reset();
  }
  CHECK(sample(metrics, "actormq_connections_paused") == 0);
  CHECK(sample(metrics, "actormq_connection_pauses_total") == 1);
}
