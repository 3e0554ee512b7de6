// Unit: kj_inbox, the hand-off from other threads to a KJ loop that the
// broker's CAF threads and the client's user threads use.
#include <kj/async-io.h>
#include <kj/debug.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "app/kj_support/kj_inbox.h"

using actormq::kj_support::kj_inbox;

namespace {

/// A KJ loop on its own thread serving one inbox until stop(); the loop
/// closes the inbox when it ends.
class loop_thread {
 public:
  explicit loop_thread(kj_inbox::error_reporter on_error = {}) {
    std::promise<void> ready;
    auto f = ready.get_future();
    thread_ = std::thread([this, on_error, &ready] {
      auto io = kj::setupAsyncIo();
      inbox_ = std::make_shared<kj_inbox>(on_error);
      id_ = std::this_thread::get_id();
      auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
      stop_ = kj::mv(paf.fulfiller);
      auto running = inbox_->run().eagerlyEvaluate(nullptr);
      ready.set_value();
      paf.promise.wait(io.waitScope);
      inbox_->close();
    });
    f.wait();
  }
  ~loop_thread() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    stop_->fulfill();
    thread_.join();
  }
  kj_inbox& inbox() { return *inbox_; }
  std::thread::id id() const { return id_; }

 private:
  std::thread thread_;
  std::shared_ptr<kj_inbox> inbox_;
  std::thread::id id_;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop_;
};

/// Set once by the loop thread; waited for, bounded, by the test.
struct loop_event {
  std::promise<void> p;
  std::future<void> f = p.get_future();
  void fire() { p.set_value(); }
  bool fired() { return f.wait_for(std::chrono::seconds(10)) == std::future_status::ready; }
};

}  // namespace

TEST_CASE("functions posted from other threads run on the loop thread, in the order posted",
          "[kj_support][kj_inbox]") {
  loop_thread loop;
  std::mutex mu;
  std::vector<int> seen;
  std::atomic<int> on_loop{0};
  std::atomic<int> refused{0};
  constexpr int n = 2000;
  loop_event last;
  std::thread poster([&] {
    for (int i = 0; i < n; ++i) {
      bool queued = loop.inbox().post([&, i] {
        if (std::this_thread::get_id() == loop.id()) on_loop++;
        std::lock_guard lk(mu);
        seen.push_back(i);
        if (i == n - 1) last.fire();
      });
      if (!queued) refused++;
    }
  });
  poster.join();
  CHECK(refused == 0);
  REQUIRE(last.fired());
  CHECK(on_loop == n);
  std::lock_guard lk(mu);
  REQUIRE(seen.size() == n);
  for (int i = 0; i < n; ++i) REQUIRE(seen[static_cast<size_t>(i)] == i);
}

TEST_CASE("a posted function that throws is reported and the next one still runs",
          "[kj_support][kj_inbox]") {
  std::mutex mu;
  std::vector<std::string> reports;
  loop_thread loop([&](std::string_view what) {
    std::lock_guard lk(mu);
    reports.emplace_back(what);
  });
  loop_event after;
  REQUIRE(loop.inbox().post([] { KJ_FAIL_REQUIRE("boom in a posted function"); }));
  REQUIRE(loop.inbox().post([&] { after.fire(); }));
  REQUIRE(after.fired());
  std::lock_guard lk(mu);
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].find("boom in a posted function") != std::string::npos);
}

TEST_CASE("after the loop closes its inbox a post is refused and drops the function unrun",
          "[kj_support][kj_inbox]") {
  loop_thread loop;
  auto& inbox = loop.inbox();
  loop.stop();
  // The function is destroyed without running: what it owns is released.
  auto owned = std::make_shared<int>(7);
  std::weak_ptr<int> watch = owned;
  bool ran = false;
  CHECK_FALSE(inbox.post([owned = std::move(owned), &ran] { ran = true; }));
  CHECK_FALSE(ran);
  CHECK(watch.expired());
}

TEST_CASE("functions still queued when the inbox closes are dropped unrun, what they own released",
          "[kj_support][kj_inbox]") {
  // A waiting client post() learns of the drop this way: the last copy of
  // its promise goes with the function.
  loop_thread loop;
  auto owned = std::make_shared<int>(7);
  std::weak_ptr<int> watch = owned;
  std::atomic<bool> queued_ran{false};
  bool queued = false;
  loop_event closed;
  // Runs on the loop: queues a second function behind itself, then closes
  // the inbox before the loop can drain it.
  REQUIRE(loop.inbox().post([&, owned = std::move(owned)]() mutable {
    queued = loop.inbox().post([&, held = std::move(owned)] { queued_ran = true; });
    loop.inbox().close();
    closed.fire();
  }));
  REQUIRE(closed.fired());
  loop.stop();
  CHECK(queued);
  CHECK_FALSE(queued_ran);
  CHECK(watch.expired());
  CHECK_FALSE(loop.inbox().post([] {}));
}
