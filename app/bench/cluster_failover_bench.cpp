// actormq-cluster-failover-bench: how long a cluster takes to notice a dead
// broker and to elect a new controller (docs/benchmarks.md, "Cluster").
// Starts a real etcd and N real brokers (the test support's
// cluster_process), then K times: SIGKILLs the controller, polls a
// surviving broker's metadata every 5 ms until the dead broker is gone from
// it (detection) and another broker is controller (failover), restarts the
// killed broker on its data dir and waits until it is back. Prints one line
// per kill and the medians.

#include <capnp/ez-rpc.h>
#include <kj/async-io.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <set>
#include <vector>

#include "schema/actormq.capnp.h"
#include "support/cluster_process.h"
#include "support/eventually.h"

using namespace actormq;
using clock_type = std::chrono::steady_clock;

namespace {

struct view {
  int32_t controller = -1;
  std::set<int32_t> brokers;
};

std::optional<view> metadata_of(const std::string& address) {
  std::optional<view> out;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() {
                 capnp::EzRpcClient client(address);
                 auto broker = client.getMain<rpc::Broker>();
                 auto resp = broker.metadataRequest().send().wait(client.getWaitScope());
                 view v;
                 v.controller = resp.getMetadata().getControllerId();
                 for (auto b : resp.getMetadata().getBrokers()) v.brokers.insert(b.getId());
                 out = v;
               })) {
    (void)e;
  }
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0
                   : (v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ActorMQ cluster failover benchmark"};
  int brokers = 3, kills = 10;
  int64_t ttl_ms = 3000;
  app.add_option("--brokers", brokers, "brokers in the cluster (>= 2)");
  app.add_option("--kills", kills, "controller kills to measure");
  app.add_option("--lease-ttl-ms", ttl_ms, "[cluster].lease_ttl_ms of every broker");
  CLI11_PARSE(app, argc, argv);
  if (brokers < 2 || kills < 1) {
    std::fprintf(stderr, "need --brokers >= 2 and --kills >= 1\n");
    return 2;
  }
  test::cluster_process c(ttl_ms);
  if (!c.start(brokers)) {
    std::fprintf(stderr, "cluster did not start: %s\n", c.error().c_str());
    return 1;
  }
  auto formed = test::eventually(
      [&] {
        auto v = metadata_of(c.broker(0).address());
        return v && v->controller >= 0 && static_cast<int>(v->brokers.size()) == brokers;
      },
      std::chrono::seconds(30));
  if (!formed) {
    std::fprintf(stderr, "cluster did not form\n");
    return 1;
  }
  std::vector<double> detect_ms, failover_ms;
  for (int k = 0; k < kills; ++k) {
    auto v = metadata_of(c.broker(0).address());
    if (!v) v = metadata_of(c.broker(1).address());
    if (!v || v->controller < 0) {
      std::fprintf(stderr, "no controller before kill %d\n", k + 1);
      return 1;
    }
    int victim = v->controller;
    int witness = (victim + 1) % brokers;
    c.broker(static_cast<size_t>(victim)).stop(true);
    auto killed = clock_type::now();
    std::optional<double> detected, failed_over;
    while ((!detected || !failed_over) &&
           clock_type::now() - killed < std::chrono::milliseconds(ttl_ms * 4 + 5000)) {
      auto w = metadata_of(c.broker(static_cast<size_t>(witness)).address());
      auto since = std::chrono::duration<double, std::milli>(clock_type::now() - killed).count();
      if (w && !detected && !w->brokers.count(victim)) detected = since;
      if (w && !failed_over && w->controller >= 0 && w->controller != victim) failed_over = since;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!detected || !failed_over) {
      std::fprintf(stderr, "kill %d: the cluster did not recover in time\n", k + 1);
      return 1;
    }
    detect_ms.push_back(*detected);
    failover_ms.push_back(*failed_over);
    std::printf(
        "kill %d: controller %d SIGKILLed; dead broker detected in %.0f ms, new controller "
        "in %.0f ms\n",
        k + 1, victim, *detected, *failed_over);
    std::fflush(stdout);
    if (!c.broker(static_cast<size_t>(victim)).restart(false)) {
      std::fprintf(stderr, "restart of broker %d failed\n", victim);
      return 1;
    }
    test::eventually(
        [&] {
          auto w = metadata_of(c.broker(static_cast<size_t>(witness)).address());
          return w && static_cast<int>(w->brokers.size()) == brokers;
        },
        std::chrono::seconds(30));
  }
  std::printf(
      "brokers=%d lease_ttl_ms=%lld kills=%d detect_median_ms=%.0f "
      "failover_median_ms=%.0f detect_max_ms=%.0f failover_max_ms=%.0f\n",
      brokers, static_cast<long long>(ttl_ms), kills, median(detect_ms), median(failover_ms),
      *std::max_element(detect_ms.begin(), detect_ms.end()),
      *std::max_element(failover_ms.begin(), failover_ms.end()));
  return 0;
}
