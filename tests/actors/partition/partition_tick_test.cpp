// PARTITION actor: the housekeeping timer (tick_atom) runs when there is
// work, not on a fixed short period. An idle partition wakes once per
// idle_tick_interval; a time-based flush comes at its interval.

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "support/actor_fixture.h"
#include "support/eventually.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace actormq::test;
using namespace std::chrono_literals;

namespace {

/// What the recorder saw; shared with the test thread.
struct flush_log {
  std::atomic<int> jobs{0};
  std::atomic<int64_t> first_job_ns{0};  ///< steady clock, since its epoch
};

/// Stands in for the flusher: counts the sync jobs and passes them on to
/// the real flusher, which answers the partition itself.
caf::behavior flush_recorder(caf::event_based_actor* self, caf::actor real,
                             std::shared_ptr<flush_log> log) {
  return {
      [=](flush_atom, sync_job& job) {
        if (log->jobs++ == 0) {
          log->first_job_ns = std::chrono::steady_clock::now().time_since_epoch().count();
        }
        self->send(real, flush_atom::value, std::move(job));
      },
  };
}

}  // namespace

TEST_CASE("an idle partition wakes once per idle interval, not every tick interval",
          "[actors][partition][tick]") {
  temp_dir dir;
  partition_env env;
  partition_settings ps;
  ps.flush = storage::flush_policy::never();  // no flush falls due
  ps.tick_interval = 20ms;                    // the retry interval, unused while idle
  ps.idle_tick_interval = 1s;
  auto p = env.spawn(dir.path() / "p0", ps);
  caf::scoped_actor self{env.sys()};
  REQUIRE(ask<produce_reply>(self, p, produce_atom::value, make_produce({"a"})));

  std::this_thread::sleep_for(1500ms);
  auto r = ask<actor_report>(self, p, inspect_atom::value);
  REQUIRE(r);
  // The produce, one tick (two if this inspect came late), this inspect. A
  // timer fixed at the 20 ms tick interval was about 75 messages.
  CHECK(r->handled <= 4);
  // Still serving.
  CHECK(values_of(read_partition(self, p)) == std::vector<std::string>{"a"});
}

TEST_CASE("a time-based flush comes at its interval, however long the partition idles",
          "[actors][partition][tick]") {
  temp_dir dir;
  partition_env env;
  auto log = std::make_shared<flush_log>();
  auto recorder = env.sys().spawn(flush_recorder, env.flusher, log);
  env.adopt(recorder);
  partition_settings ps;
  ps.flush = storage::flush_policy{0, 200};  // every 200 ms, no count rule
  ps.idle_tick_interval = 60s;
  auto p = env.spawn(dir.path() / "p0", ps, recorder);
  caf::scoped_actor self{env.sys()};

  const auto start = std::chrono::steady_clock::now();
  REQUIRE(ask<produce_reply>(self, p, produce_atom::value, make_produce({"a"})));
  // Long before the idle interval: the append armed the timer for its flush.
  REQUIRE(eventually([&] { return log->jobs >= 1; }, 10s));
  const auto after = std::chrono::steady_clock::time_point(
                         std::chrono::steady_clock::duration(log->first_job_ns.load())) -
                     start;
  CHECK(after >= 150ms);  // not before the interval (a timer may round a little)
  CHECK(log->jobs == 1);

  // Flushed, nothing is due: the next append arms it again.
  REQUIRE(ask<produce_reply>(self, p, produce_atom::value, make_produce({"b"})));
  CHECK(eventually([&] { return log->jobs >= 2; }, 10s));
  CHECK(values_of(read_partition(self, p)) == std::vector<std::string>{"a", "b"});
}
