#pragma once
// What the etcd client tests share: a KJ event loop for the test's thread, a
// real etcd (support/etcd_process.h) and a client of it, and bounded waits.

#include <kj/async-io.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/etcd/etcd_client.h"
#include "support/etcd_process.h"

namespace actormq::test {

/// A KJ event loop on this thread, with blocking waits for the test body.
struct kj_loop {
  kj::AsyncIoContext io = kj::setupAsyncIo();

  template <typename T>
  T wait(kj::Promise<T>&& p) {
    return p.wait(io.waitScope);
  }

  /// Runs the loop until pred() holds or timeout passes; false on timeout.
  bool run_until(const std::function<bool()>& pred,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io.provider->getTimer().afterDelay(5 * kj::MILLISECONDS).wait(io.waitScope);
    }
    return true;
  }
};

inline etcd::client_config config_for(std::vector<std::string> urls,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
  etcd::client_config c;
  for (auto& u : urls) {
    auto parsed = etcd::etcd_client::parse_endpoints(u);
    c.endpoints.insert(c.endpoints.end(), parsed->begin(), parsed->end());
  }
  c.request_timeout = timeout;
  return c;
}

/// One etcd and one client of it.
struct etcd_fixture {
  etcd_process etcd;
  kj_loop loop;
  std::unique_ptr<etcd::etcd_client> client;

  // The functional tests do not test the bound: 5 s leaves room for etcd's
  // WAL fsync on a loaded 2-core machine (a put once took over 2 s there).
  // The failure tests (failover_test.cpp) set their own short bounds.
  explicit etcd_fixture(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    if (!etcd.start()) throw std::runtime_error(etcd.error());
    client = std::make_unique<etcd::etcd_client>(loop.io, config_for({etcd.client_url()}, timeout));
  }

  template <typename T>
  T wait(kj::Promise<T>&& p) {
    return loop.wait(kj::mv(p));
  }
};

/// Milliseconds a call took.
template <typename F>
auto timed(F&& f) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = f();
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  return std::make_pair(std::move(r), ms);
}

}  // namespace actormq::test

// A failed REQUIRE(r) shows the error, not {?}.
namespace Catch {
template <typename T>
struct StringMaker<actormq::etcd::result<T>> {
  static std::string convert(const actormq::etcd::result<T>& r) {
    return r ? std::string("ok") : "error: " + r.err().to_string();
  }
};
}  // namespace Catch
