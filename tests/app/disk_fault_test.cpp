// Integration: disk faults under the real broker, injected through
// ACTORMQ_FAULTS_FILE (storage/fault_injector.h), so they run without root.
// For each fault (a full disk, EIO on write, a torn write, a failed
// fdatasync, EIO on read): a clear error to the producers (or consumers) of
// the topic it hits, the other topics keep serving, nothing acknowledged is
// lost, and the topic serves again once the fault clears, without a broker
// restart (a failed fdatasync restarts the partition, whose reopen recovers).

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fixtures.h"
#include "support/eventually.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

client::delivery_report send_one(client::producer& p, const std::string& topic,
                                 const std::string& value) {
  return p.send_sync({topic, value, value, {}, std::nullopt, std::nullopt});
}

std::set<std::string> values_of(const test::broker_process& b, const std::string& topic,
                                size_t expect) {
  auto c = client::consumer::create(test::group_config(b, "verify-" + topic));
  REQUIRE(c);
  REQUIRE((*c)->subscribe({topic}));
  std::set<std::string> seen;
  for (auto& m : test::consume_n(**c, expect, 20s)) seen.insert(*m.value);
  // Nothing more arrives (a refused record must not show up later).
  auto more = (*c)->poll(500ms);
  if (more) {
    for (auto& m : *more) seen.insert(*m.value);
  }
  return seen;
}

/// A running broker that reads its fault rules from `rules` (none yet):
/// write a rule line there to arm it, remove the file to clear it.
struct faulty_broker {
  test::temp_dir dir{"disk-faults"};
  std::filesystem::path rules = dir.path() / "faults";
  test::broker_process broker;
  faulty_broker() {
    broker.set_env("ACTORMQ_FAULTS_FILE", rules.string());
    test::require_started(broker);
  }
};

}  // namespace

TEST_CASE(
    "a full disk under one topic is a clear error to its producers while other topics keep "
    "serving, and produce resumes once space is back",
    "[app][faults]") {
  faulty_broker fb;
  auto& broker = fb.broker;
  const auto& rules = fb.rules;
  test::create_topic(broker, "full", 1);
  test::create_topic(broker, "fine", 1);

  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  pc.retries = 0;  // see the broker's answer, not the client's retries
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  std::set<std::string> acked_full, acked_fine;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(send_one(**prod, "full", "before-" + std::to_string(i)).ok());
    acked_full.insert("before-" + std::to_string(i));
  }

  std::ofstream(rules) << "write ENOSPC path=/topics/full/\n";
  // Picked up on a file operation within 50 ms: the next produce to full
  // (at the latest the one after) meets the full disk.
  client::delivery_report refused;
  REQUIRE(test::eventually(
      [&] {
        refused = send_one(**prod, "full", "refused");
        if (refused.ok()) acked_full.insert("refused");
        return !refused.ok();
      },
      10s));
  INFO(refused.err.to_string());
  CHECK(refused.err.is(client::errc::disk_full));
  // The other topic is served throughout.
  for (int i = 0; i < 5; ++i) {
    auto r = send_one(**prod, "fine", "fine-" + std::to_string(i));
    REQUIRE(r.ok());
    acked_fine.insert("fine-" + std::to_string(i));
  }
  CHECK_FALSE(send_one(**prod, "full", "refused-again").ok());

  std::filesystem::remove(rules);  // space is back
  REQUIRE(test::eventually([&] { return send_one(**prod, "full", "after").ok(); }, 10s));
  acked_full.insert("after");

  auto full = values_of(broker, "full", acked_full.size());
  CHECK(full == acked_full);
  CHECK(values_of(broker, "fine", acked_fine.size()) == acked_fine);
  CHECK(broker.output().find("injected fault: write ENOSPC") != std::string::npos);
}

namespace {

/// What one injected write-side fault must do to the topic it hits.
struct write_fault {
  std::string rule;                    ///< the ACTORMQ_FAULTS_FILE line, under /topics/hit/
  client::acks acks;                   ///< of every produce
  client::errc first_error;            ///< what the first refused produce gets
  bool refused_may_be_stored;          ///< a failed sync: the batch was written, not synced
  std::vector<std::string> log_lines;  ///< the broker logs these
  /// The partition stays down while the fault lasts (its reopen fails):
  /// a listing of topics shows it unavailable.
  bool stays_down = false;
};

/// Produces to "hit" and "fine", arms the fault on hit's files until removed,
/// then checks the errors, that fine keeps serving, that produce to hit
/// resumes once the rule is gone, and that every acknowledged message is
/// read back once (and no refused one, unless it may have been stored).
void check_write_fault(const write_fault& f) {
  faulty_broker fb;
  auto& broker = fb.broker;
  const auto& rules = fb.rules;
  test::create_topic(broker, "hit", 1);
  test::create_topic(broker, "fine", 1);

  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  pc.acks = f.acks;
  pc.retries = 0;  // see the broker's answer, not the client's retries
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  std::set<std::string> acked_hit, acked_fine, refused;
  for (int i = 0; i < 5; ++i) {
    auto v = "before-" + std::to_string(i);
    REQUIRE(send_one(**prod, "hit", v).ok());
    acked_hit.insert(v);
  }

  std::ofstream(rules) << f.rule << "\n";
  client::delivery_report first;
  int n = 0;
  REQUIRE(test::eventually(
      [&] {
        auto v = "during-" + std::to_string(n++);
        first = send_one(**prod, "hit", v);
        (first.ok() ? acked_hit : refused).insert(v);
        return !first.ok();
      },
      10s));
  INFO(first.err.to_string());
  CHECK(first.err.is(f.first_error));
  // While the fault lasts: hit refuses (or its restart is under way), fine serves.
  for (int i = 0; i < 5; ++i) {
    auto v = "fine-" + std::to_string(i);
    auto fr = send_one(**prod, "fine", v);
    INFO(fr.err.to_string());
    REQUIRE(fr.ok());
    acked_fine.insert(v);
    auto h = "still-" + std::to_string(i);
    auto r = send_one(**prod, "hit", h);
    (r.ok() ? acked_hit : refused).insert(h);
    CHECK_FALSE(r.ok());
  }
  // Listing every topic works meanwhile: a partition that is restarting
  // shows as unavailable instead of failing the whole list.
  auto admin = client::admin::create(test::connection_to(broker));
  REQUIRE(admin);
  auto topics = (*admin)->list_topics();
  INFO(topics.err().to_string());
  REQUIRE(topics);
  CHECK(topics->size() == 2);
  if (f.stays_down) {
    client::error why;
    CHECK(test::eventually(
        [&] {
          auto l = (*admin)->list_topics();
          if (!l) return false;
          for (const auto& t : *l) {
            if (t.name == "hit" && t.partitions.size() == 1) why = t.partitions[0].unavailable;
          }
          return static_cast<bool>(why);
        },
        10s));
    INFO(why.to_string());
    CHECK(why.is(client::errc::timeout));  // the partition actor is down
  }

  std::filesystem::remove(rules);  // the fault clears
  int k = 0;
  REQUIRE(test::eventually(
      [&] {
        auto v = "after-" + std::to_string(k++);
        auto r = send_one(**prod, "hit", v);
        (r.ok() ? acked_hit : refused).insert(v);
        return r.ok();
      },
      30s));
  for (int i = 0; i < 5; ++i) {
    auto v = "later-" + std::to_string(i);
    REQUIRE(send_one(**prod, "hit", v).ok());
    acked_hit.insert(v);
  }

  // Every acknowledged message once; a refused one only if it may have been
  // stored; nothing else.
  auto c = client::consumer::create(test::group_config(broker, "verify"));
  REQUIRE(c);
  REQUIRE((*c)->subscribe({"hit"}));
  std::map<std::string, int> seen;
  for (auto& m : test::consume_n(**c, acked_hit.size(), 20s)) ++seen[*m.value];
  if (auto more = (*c)->poll(500ms)) {
    for (auto& m : *more) ++seen[*m.value];
  }
  for (const auto& v : acked_hit) {
    INFO(v);
    CHECK(seen[v] == 1);
  }
  for (const auto& [v, count] : seen) {
    INFO(v);
    CHECK(count == 1);
    if (acked_hit.count(v) == 0) {
      CHECK(refused.count(v) == 1);
      CHECK(f.refused_may_be_stored);
    }
  }
  CHECK(values_of(broker, "fine", acked_fine.size()) == acked_fine);
  for (const auto& line : f.log_lines) {
    INFO(line);
    CHECK(broker.output().find(line) != std::string::npos);
  }
}

}  // namespace

TEST_CASE(
    "an EIO on write is a clear error to the topic's producers, other topics keep serving, and "
    "produce resumes once it clears",
    "[app][faults]") {
  check_write_fault({"write EIO path=/topics/hit/",
                     client::acks::leader,
                     client::errc::storage_error,
                     false,
                     {"injected fault: write EIO"}});
}

TEST_CASE("a torn write is refused and never served, and produce resumes once the fault clears",
          "[app][faults]") {
  // 25 bytes of each failing write reach the file before the error.
  check_write_fault({"write EIO path=/topics/hit/ after=25",
                     client::acks::fsync,
                     client::errc::storage_error,
                     false,
                     {"injected fault: write EIO"}});
}

TEST_CASE(
    "a failed fdatasync fails the acks fsync produces, restarts the partition, which recovers "
    "and serves again once syncs work, without a broker restart",
    "[app][faults]") {
  // Until the rule goes, the restarted partition's recovery fails too, and
  // the registry retries it after a growing backoff.
  check_write_fault(
      {"sync EIO path=/topics/hit/",
       client::acks::fsync,
       client::errc::storage_error,
       true,
       {"injected fault: sync EIO", "restarting the partition", "partition hit/0 restarted"}});
}

TEST_CASE(
    "an EIO on read is a clear error to the topic's consumers and the messages are read once it "
    "clears",
    "[app][faults]") {
  faulty_broker fb;
  auto& broker = fb.broker;
  const auto& rules = fb.rules;
  test::create_topic(broker, "hit", 1);
  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  std::set<std::string> acked;
  for (int i = 0; i < 20; ++i) {
    auto v = "m-" + std::to_string(i);
    REQUIRE(send_one(**prod, "hit", v).ok());
    acked.insert(v);
  }
  std::ofstream(rules) << "read EIO path=/topics/hit/\n";
  // The broker reads the rules again at a file operation once 50 ms have
  // passed since it last did: wait that out, so the first fetch's read
  // meets the rule (else it may serve all 20 before, and fetches at the
  // log end read nothing).
  std::this_thread::sleep_for(200ms);
  auto c = client::consumer::create(test::group_config(broker, "readers"));
  REQUIRE(c);
  REQUIRE((*c)->subscribe({"hit"}));
  // The rule is picked up on a file operation within 50 ms: poll until a
  // fetch meets it, keeping what the polls before returned.
  std::set<std::string> seen;
  client::result<std::vector<client::message>> r = std::vector<client::message>{};
  REQUIRE(test::eventually(
      [&] {
        r = (*c)->poll(1s);
        if (r) {
          for (auto& m : *r) seen.insert(*m.value);
        }
        return !r;
      },
      10s));
  INFO(r.err().to_string());
  CHECK(r.err().is(client::errc::storage_error));
  // Writes are not reads: the producers are served meanwhile.
  REQUIRE(send_one(**prod, "hit", "during").ok());
  acked.insert("during");

  std::filesystem::remove(rules);
  for (auto& m : test::consume_n(**c, acked.size() - seen.size(), 20s)) seen.insert(*m.value);
  CHECK(seen == acked);
  CHECK(broker.output().find("injected fault: read EIO") != std::string::npos);
}

TEST_CASE(
    "a partition whose reopen fails after a failed fdatasync is retried after a backoff until it "
    "opens",
    "[app][faults]") {
  // Every open under the topic fails too, so each restart fails and the
  // registry tries again later; once the rules go, the next try opens it.
  check_write_fault({"sync EIO path=/topics/hit/\nopen EIO path=/topics/hit/",
                     client::acks::fsync,
                     client::errc::storage_error,
                     true,
                     {"injected fault: open EIO", "cannot restart", "partition hit/0 restarted"},
                     true});
}

TEST_CASE(
    "a write fault under the committed offsets fails commits with a clear error while produce "
    "and fetch go on, and commits resume and persist once it clears",
    "[app][faults]") {
  // The GROUP COORDINATOR keeps committed offsets in __consumer_offsets, a
  // partition log like any other: the same faults, the same recovery.
  faulty_broker fb;
  auto& broker = fb.broker;
  const auto& rules = fb.rules;
  test::create_topic(broker, "orders", 1);
  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  for (int i = 0; i < 10; ++i) REQUIRE(send_one(**prod, "orders", "a" + std::to_string(i)).ok());
  {
    auto c = client::consumer::create(test::group_config(broker, "billing"));
    REQUIRE(c);
    REQUIRE((*c)->subscribe({"orders"}));
    REQUIRE(test::consume_n(**c, 10, 20s).size() == 10);
    REQUIRE((*c)->commit_sync());

    std::ofstream(rules) << "write EIO path=/topics/__consumer_offsets/\n";
    for (int i = 0; i < 5; ++i) REQUIRE(send_one(**prod, "orders", "b" + std::to_string(i)).ok());
    REQUIRE(test::consume_n(**c, 5, 20s).size() == 5);
    client::result<void> commit;
    REQUIRE(test::eventually(
        [&] {
          commit = (*c)->commit_sync();
          return !commit;
        },
        10s));
    INFO(commit.err().to_string());
    CHECK(commit.err().is(client::errc::storage_error));

    std::filesystem::remove(rules);
    REQUIRE(test::eventually([&] { return static_cast<bool>((*c)->commit_sync()); }, 30s));
    REQUIRE((*c)->close());
  }
  // The broker restarts: the commit made after the fault is what it kept.
  REQUIRE(broker.restart());
  pc.connection = test::connection_to(broker);
  auto after = client::producer::create(pc);
  REQUIRE(after);
  REQUIRE(send_one(**after, "orders", "c0").ok());
  auto again = client::consumer::create(test::group_config(broker, "billing"));
  REQUIRE(again);
  REQUIRE((*again)->subscribe({"orders"}));
  auto rest = test::consume_n(**again, 1, 20s);
  REQUIRE(rest.size() == 1);
  CHECK(*rest[0].value == "c0");
  CHECK(rest[0].offset == 15);
}
