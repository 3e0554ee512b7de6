// Watches: events in order, compaction, lost connection, cancellation.

#include <catch2/catch.hpp>

#include "etcd_fixture.h"

using namespace actormq::etcd;
using actormq::test::etcd_fixture;

namespace {

// What a watch callback saw.
struct recorder {
  std::vector<watch_event> events;
  std::vector<revision> batch_revisions;
  std::optional<error> ended;

  watch_callback callback() {
    return [this](result<watch_update> r) {
      if (!r) {
        ended = r.err();
        return;
      }
      batch_revisions.push_back(r->header_revision);
      for (auto& e : r->events) events.push_back(std::move(e));
    };
  }
};

}  // namespace

TEST_CASE("a prefix watch sees puts and deletes in revision order with prev_kv") {
  etcd_fixture f;
  REQUIRE(f.wait(f.client->put("/other", "x")));
  recorder rec;
  auto w = f.wait(f.client->watch("/topics/", {.prefix = true, .prev_kv = true}, rec.callback()));
  REQUIRE(w);
  CHECK(w->active());
  CHECK(w->created_revision().value() >= 2);

  REQUIRE(f.wait(f.client->put("/topics/a", "1")));
  REQUIRE(f.wait(f.client->put("/other", "y")));  // outside the prefix
  REQUIRE(f.wait(f.client->put("/topics/a", "2")));
  REQUIRE(f.wait(f.client->put("/topics/b", "3")));
  REQUIRE(f.wait(f.client->erase("/topics/a")));
  REQUIRE(f.loop.run_until([&] { return rec.events.size() >= 4; }));

  REQUIRE(rec.events.size() == 4);
  CHECK(rec.events[0].what == watch_event::type::put);
  CHECK(rec.events[0].kv.key == "/topics/a");
  CHECK(rec.events[0].kv.value == "1");
  CHECK_FALSE(rec.events[0].prev_kv);
  CHECK(rec.events[1].kv.value == "2");
  REQUIRE(rec.events[1].prev_kv);
  CHECK(rec.events[1].prev_kv->value == "1");
  CHECK(rec.events[2].kv.key == "/topics/b");
  CHECK(rec.events[3].what == watch_event::type::erase);
  CHECK(rec.events[3].kv.key == "/topics/a");
  REQUIRE(rec.events[3].prev_kv);
  CHECK(rec.events[3].prev_kv->value == "2");
  for (size_t i = 1; i < rec.events.size(); ++i) {
    CHECK(rec.events[i].kv.mod_revision > rec.events[i - 1].kv.mod_revision);
  }
  CHECK_FALSE(rec.ended);
}

TEST_CASE("a watch from a past revision replays the history since then") {
  etcd_fixture f;
  auto first = f.wait(f.client->put("/k", "1"));
  REQUIRE(first);
  REQUIRE(f.wait(f.client->put("/k", "2")));
  recorder rec;
  auto w =
      f.wait(f.client->watch("/k", {.start_revision = first->header_revision}, rec.callback()));
  REQUIRE(w);
  REQUIRE(f.loop.run_until([&] { return rec.events.size() >= 2; }));
  CHECK(rec.events[0].kv.value == "1");
  CHECK(rec.events[1].kv.value == "2");
}

TEST_CASE("a watch from a compacted revision reports compacted with the compact revision") {
  etcd_fixture f;
  auto first = f.wait(f.client->put("/k", "1"));
  REQUIRE(first);
  auto last = f.wait(f.client->put("/k", "2"));
  REQUIRE(last);
  auto compaction = f.etcd.post(
      "/v3/kv/compaction",
      "{\"revision\":\"" + std::to_string(last->header_revision.value()) + "\",\"physical\":true}");
  REQUIRE(compaction.find(" 200 ") != std::string::npos);

  recorder rec;
  auto w =
      f.wait(f.client->watch("/k", {.start_revision = first->header_revision}, rec.callback()));
  REQUIRE(w);
  REQUIRE(f.loop.run_until([&] { return rec.ended.has_value(); }));
  CHECK(rec.ended->code == errc::compacted);
  CHECK(rec.ended->compact_revision == last->header_revision.value());
  CHECK(rec.events.empty());
  CHECK_FALSE(w->active());
}

TEST_CASE("a watch reports unavailable when etcd is killed") {
  etcd_fixture f;
  recorder rec;
  auto w = f.wait(f.client->watch("/k", {}, rec.callback()));
  REQUIRE(w);
  f.etcd.kill();
  REQUIRE(f.loop.run_until([&] { return rec.ended.has_value(); }, std::chrono::seconds(5)));
  CHECK(rec.ended->code == errc::unavailable);
  CHECK_FALSE(w->active());
}

TEST_CASE("a canceled watch calls its callback no more") {
  etcd_fixture f;
  recorder rec;
  auto w = f.wait(f.client->watch("/k", {}, rec.callback()));
  REQUIRE(w);
  REQUIRE(f.wait(f.client->put("/k", "1")));
  REQUIRE(f.loop.run_until([&] { return rec.events.size() == 1; }));
  w->cancel();
  CHECK_FALSE(w->active());
  REQUIRE(f.wait(f.client->put("/k", "2")));
  // A second watch proves the put was delivered to watchers by now.
  recorder probe;
  auto w2 = f.wait(f.client->watch("/k", {.start_revision = revision{1}}, probe.callback()));
  REQUIRE(w2);
  REQUIRE(f.loop.run_until([&] { return probe.events.size() == 2; }));
  f.loop.run_until([] { return false; }, std::chrono::milliseconds(100));
  CHECK(rec.events.size() == 1);
  CHECK_FALSE(rec.ended);
}

TEST_CASE("a watch handle may be destroyed from inside its own callback") {
  etcd_fixture f;
  std::optional<watch> handle;
  int calls = 0;
  auto w = f.wait(f.client->watch("/k", {}, [&](result<watch_update>) {
    ++calls;
    handle.reset();
  }));
  REQUIRE(w);
  handle.emplace(std::move(*w));
  REQUIRE(f.wait(f.client->put("/k", "1")));
  REQUIRE(f.loop.run_until([&] { return calls == 1; }));
  REQUIRE(f.wait(f.client->put("/k", "2")));
  f.loop.run_until([] { return false; }, std::chrono::milliseconds(200));
  CHECK(calls == 1);
  CHECK_FALSE(handle);
}
