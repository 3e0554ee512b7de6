// topic_cache: handles from the cache or the registry, answered in the order
// the calls were made.

#include <catch2/catch.hpp>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "actors/topic/topic_cache.h"

#include "support/actor_fixture.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace actormq::test;

namespace {

/// What each call of a test saw, "name:partitions" ("name:error" for an
/// error), in the order the continuations ran.
using call_log = std::vector<std::string>;

topic_cache::continuation note_handle(const std::shared_ptr<call_log>& log, std::string name) {
  return [log, name](caf::expected<topic_handle> h) {
    log->push_back(name + ":" + (h ? std::to_string(h->partitions.size()) : "error"));
  };
}

/// An actor owning one topic_cache; each message runs a step on it.
using cache_step = std::function<void(caf::event_based_actor*, topic_cache&)>;

caf::behavior cache_owner(caf::event_based_actor* self, std::shared_ptr<topic_cache> cache) {
  return {[=](const cache_step& step) { step(self, *cache); }};
}

}  // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cache_step)

TEST_CASE(
    "a call the cache could answer waits for the lookup in flight before it (produces stay in "
    "order)",
    "[actors][topic][topic_cache]") {
  temp_dir dir;
  broker_env env(dir.path());
  env.create_topic("grows", 1);
  auto cache = std::make_shared<topic_cache>();
  auto owner = env.sys().spawn(cache_owner, cache);
  auto log = std::make_shared<call_log>();
  auto run = [&](cache_step step) {
    auto done = std::make_shared<std::promise<void>>();
    auto f = done->get_future();
    caf::anon_send(owner, cache_step{[step, done](caf::event_based_actor* self, topic_cache& c) {
                     step(self, c);
                     done->set_value();
                   }});
    REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  };
  auto registry = env.registry;
  // Cached with its one partition.
  run([&](caf::event_based_actor* self, topic_cache& c) {
    c.with(self, registry, "grows", note_handle(log, "warm"));
  });
  // The log is written by the actor: read on it, between its messages.
  auto calls = [&] {
    size_t n = 0;
    run([&](caf::event_based_actor*, topic_cache&) { n = log->size(); });
    return n;
  };
  auto wait_for_calls = [&](size_t n) {
    for (int i = 0; i < 3000 && calls() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE(calls() == n);
  };
  wait_for_calls(1);
  {
    caf::scoped_actor self{env.sys()};
    REQUIRE(
        ask<topic_handle>(self, env.registry, grow_atom::value, std::string("grows"), uint32_t{2}));
  }
  // A call for partition 1, which the cached handle lacks, looks the topic
  // up again; the call after it, for partition 0, could be answered from the
  // cache at once but must not overtake it.
  run([&](caf::event_based_actor* self, topic_cache& c) {
    c.with(self, registry, "grows", note_handle(log, "to partition 1"), 1);
    c.with(self, registry, "grows", note_handle(log, "to partition 0"), 0);
  });
  wait_for_calls(3);
  CHECK(*log == call_log{"warm:1", "to partition 1:2", "to partition 0:2"});

  // Calls for an unknown topic all get the registry's error, in order.
  run([&](caf::event_based_actor* self, topic_cache& c) {
    c.with(self, registry, "nope", note_handle(log, "first"));
    c.with(self, registry, "nope", note_handle(log, "second"));
  });
  wait_for_calls(5);
  CHECK(*log ==
        call_log{"warm:1", "to partition 1:2", "to partition 0:2", "first:error", "second:error"});

  // A handle put() while a lookup is on its way (a grow's answer) is newer
  // than the lookup's: the calls that waited get it, and it stays cached.
  auto one = env.create_topic("put", 1);
  auto two = one;
  two.partitions.push_back(one.partitions[0]);
  two.budgets.push_back(one.budgets[0]);
  run([&](caf::event_based_actor* self, topic_cache& c) {
    c.with(self, registry, "put", note_handle(log, "before put"));
    c.put("put", two);
    c.with(self, registry, "put", note_handle(log, "after put"), 1);
  });
  wait_for_calls(7);
  run([&](caf::event_based_actor* self, topic_cache& c) {
    c.with(self, registry, "put", note_handle(log, "later"));
  });
  CHECK(*log == call_log{"warm:1", "to partition 1:2", "to partition 0:2", "first:error",
                         "second:error", "before put:2", "after put:2", "later:2"});
  caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
}
