// Integration: the client library against the real broker.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "actormq/client/partitioner.h"
#include "fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;
using client::errc;

TEST_CASE("client produces and consumes a round trip through the broker", "[app][client]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "orders", 3);

  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  std::vector<std::future<client::delivery_report>> reports;
  for (int i = 0; i < 300; ++i) {
    reports.push_back((*prod)->send("orders", "k" + std::to_string(i % 10), "v" + std::to_string(i),
                                    {{"h", std::string("x")}}));
  }
  REQUIRE((*prod)->flush(30s));
  for (auto& f : reports) {
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    auto r = f.get();
    INFO(r.err.to_string());
    REQUIRE(r.ok());
    CHECK(r.offset >= 0);
  }

  client::consumer_config cc;
  cc.connection = test::connection_to(broker);
  cc.group_id = "g1";
  cc.auto_offset_reset = client::offset_reset::earliest;
  auto cons = client::consumer::create(cc);
  REQUIRE(cons);
  REQUIRE((*cons)->subscribe({"orders"}));
  auto msgs = test::consume_n(**cons, 300);
  REQUIRE(msgs.size() == 300);
  std::set<std::string> values;
  for (const auto& m : msgs) {
    values.insert(*m.value);
    REQUIRE(m.headers.size() == 1);
    CHECK(m.headers[0].key == "h");
    CHECK(m.partition == client::partition_for_key(*m.key, 3));
  }
  CHECK(values.size() == 300);
  REQUIRE((*cons)->commit_sync());
  REQUIRE((*cons)->close());
}

TEST_CASE("producer reports an unknown topic as an error", "[app][client]") {
  test::broker_process broker;
  test::require_started(broker);
  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  auto f = (*prod)->send("no-such-topic", std::nullopt, "x");
  REQUIRE(f.wait_for(20s) == std::future_status::ready);
  auto r = f.get();
  CHECK(r.err.is(errc::unknown_topic));
}

TEST_CASE("connecting to a dead address fails with broker unreachable", "[app][client]") {
  test::broker_process broker;
  test::require_started(broker);
  auto addr = broker.address();
  broker.stop();
  client::connection_config cfg;
  cfg.broker = addr;
  cfg.connect_timeout_ms = 2000;
  auto adm = client::admin::create(cfg);
  REQUIRE_FALSE(adm);
  CHECK(adm.err().is(errc::broker_unreachable));
}

TEST_CASE("admin creates describes grows and deletes a topic", "[app][client]") {
  test::broker_process broker;
  test::require_started(broker);
  auto adm = client::admin::create(test::connection_to(broker));
  REQUIRE(adm);
  client::topic_config cfg;
  cfg.partitions = 2;
  REQUIRE((*adm)->create_topic("t", cfg));
  CHECK((*adm)->create_topic("t", cfg).err().is(errc::topic_exists));
  auto d = (*adm)->describe_topic("t");
  REQUIRE(d);
  CHECK(d->partitions.size() == 2);
  REQUIRE((*adm)->add_partitions("t", 4));
  CHECK(test::eventually([&] {
    auto d2 = (*adm)->describe_topic("t");
    return d2 && d2->partitions.size() == 4;
  }));
  auto list = (*adm)->list_topics();
  REQUIRE(list);
  CHECK(list->size() == 1);
  REQUIRE((*adm)->delete_topic("t"));
  CHECK((*adm)->describe_topic("t").err().is(errc::unknown_topic));
}

TEST_CASE("poll_batch views stay valid after later polls and match what was produced",
          "[app][client]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "views", 2);
  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    std::vector<client::header> headers;
    if (i % 3 == 0) headers.push_back({"n", std::to_string(i)});
    if (i % 7 == 0) headers.push_back({"null", std::nullopt});
    (*prod)->send("views", "k" + std::to_string(i % 5), "value-" + std::to_string(i), headers);
  }
  REQUIRE((*prod)->flush(30s));

  client::consumer_config cc;
  cc.connection = test::connection_to(broker);
  cc.group_id = "gv";
  cc.auto_offset_reset = client::offset_reset::earliest;
  cc.max_poll_records = 64;  // many batches, each holding its own buffers
  auto cons = client::consumer::create(cc);
  REQUIRE(cons);
  REQUIRE((*cons)->subscribe({"views"}));
  std::vector<client::message_batch> kept;
  size_t got = 0;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (got < n && std::chrono::steady_clock::now() < deadline) {
    auto b = (*cons)->poll_batch(500ms);
    REQUIRE(b);
    got += b->size();
    kept.push_back(std::move(*b));
  }
  REQUIRE(got == n);
  // Read every view only now, after all later polls and fetches.
  std::set<int> seen;
  std::map<uint32_t, int64_t> last_offset;
  for (const auto& batch : kept) {
    for (const auto& m : batch) {
      REQUIRE(m.topic == "views");
      REQUIRE(m.value);
      REQUIRE(m.value->substr(0, 6) == "value-");
      int i = std::stoi(std::string(m.value->substr(6)));
      seen.insert(i);
      REQUIRE(m.key == std::optional<std::string_view>("k" + std::to_string(i % 5)));
      CHECK(m.partition == client::partition_for_key("k" + std::to_string(i % 5), 2));
      size_t want_headers = (i % 3 == 0) + (i % 7 == 0);
      REQUIRE(m.headers.size() == want_headers);
      if (i % 3 == 0)
        CHECK(m.headers[0].value == std::optional<std::string_view>(std::to_string(i)));
      if (i % 7 == 0) CHECK_FALSE(m.headers.back().value);
      // Offsets rise within a partition across batches.
      if (auto it = last_offset.find(m.partition); it != last_offset.end()) {
        CHECK(m.offset == it->second + 1);
      }
      last_offset[m.partition] = m.offset;
      auto copy = m.to_message();
      CHECK(copy.value == std::string(*m.value));
      CHECK(copy.headers.size() == m.headers.size());
    }
  }
  CHECK(seen.size() == static_cast<size_t>(n));
  // poll_batch advanced the position like poll(): a commit covers all of it.
  REQUIRE((*cons)->commit_sync());
  auto pos0 = (*cons)->position({"views", 0});
  auto pos1 = (*cons)->position({"views", 1});
  REQUIRE(pos0);
  REQUIRE(pos1);
  CHECK(*pos0 + *pos1 == n);
}

namespace {

/// The names of this process's threads (/proc/self/task/*/comm).
std::multiset<std::string> round_trip_thread_names() {
  std::multiset<std::string> names;
  for (const auto& t : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(t.path() / "comm");
    std::string name;
    if (std::getline(in, name)) names.insert(name);
  }
  return names;
}

}  // namespace

TEST_CASE("the client names its threads: the connection's loop and the producer's sender",
          "[app][client]") {
  test::broker_process broker;
  test::require_started(broker);
  auto before = round_trip_thread_names();
  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  auto after = round_trip_thread_names();
  // One more of each (a test binary may hold other connections' threads).
  CHECK(after.count("amq-conn") == before.count("amq-conn") + 1);
  CHECK(after.count("amq-sender") == before.count("amq-sender") + 1);
  REQUIRE((*prod)->close());
}
