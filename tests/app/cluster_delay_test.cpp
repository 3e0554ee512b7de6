// Integration: delayed messages in a real 3-broker cluster live in the
// replicated internal topic __delay_schedule; the leader of the target's
// partition of it delivers them (actors/delay/delay_schedule_actor.h). Its
// broker is SIGKILLed before they are due.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "actors/delay/delay_schedule_record.h"
#include "app/cluster_fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

using test::bootstrap;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TEST_CASE("delayed messages survive the SIGKILL of their schedule's leader and each arrives once",
          "[app][cluster][delay]") {
  test::cluster_process c;
  test::require_formed(c, 3);
  auto adm = client::admin::create(bootstrap(c, 3));
  REQUIRE(adm);
  client::topic_config tc;
  tc.partitions = 1;
  tc.replication_factor = 3;
  REQUIRE((*adm)->create_topic("orders", tc));
  test::require_led(**adm, "orders", 1);

  client::producer_config pc;
  pc.connection = bootstrap(c, 3);
  pc.idempotent = true;
  auto producer = client::producer::create(pc);
  REQUIRE(producer);
  const int64_t start = wall_ms();
  std::vector<std::string> sent;
  for (int i = 0; i < 20; ++i) {
    client::producer_record r;
    r.topic = "orders";
    r.partition = 0;
    r.value = "m" + std::to_string(i);
    r.deliver_at_ms = start + 3000 + i * 100;  // due after the kill
    auto rep = (*producer)->send_sync(r);
    INFO(rep.err.to_string());
    REQUIRE(rep.ok());
    REQUIRE(rep.scheduled);
    sent.push_back(*r.value);
  }
  const int32_t owner =
      test::state_leader_of(**adm, delay::schedule_topic, std::string("orders\n0"));
  INFO("schedule leader " << owner);
  // The followers keep their index of the partition current: each has
  // checkpointed what it applied, before any takeover.
  const auto sp = delay::schedule_partition_of("orders", 0, 8);
  for (size_t b = 0; b < 3; ++b) {
    if (static_cast<int32_t>(b) == owner) continue;
    auto state =
        c.dir() / ("broker-" + std::to_string(b)) / "delay-schedule" / std::to_string(sp) / "state";
    INFO(state.string());
    CHECK(test::eventually([&] { return std::filesystem::exists(state); }, 10s));
  }
  c.broker(static_cast<size_t>(owner)).stop(true);  // SIGKILL before anything is due

  auto seen = test::read_values(c, "orders", sent.size(), 60s);
  std::sort(seen.begin(), seen.end());
  std::sort(sent.begin(), sent.end());
  CHECK(seen == sent);
  CHECK(wall_ms() >= start + 3000);  // not before their time
  // A surviving broker took the schedule partition over.
  const auto took_over = "delay-schedule: leads " + std::string(delay::schedule_topic) + "-" +
                         std::to_string(sp) + " ";
  bool found = false;
  for (size_t b = 0; b < 3; ++b) {
    if (static_cast<int32_t>(b) != owner &&
        c.broker(b).output().find(took_over) != std::string::npos) {
      found = true;
    }
  }
  CHECK(found);
  // Exactly once: nothing else arrives.
  auto later = test::read_values(c, "orders", sent.size() + 1, 3s);
  CHECK(later.size() == sent.size());
}
