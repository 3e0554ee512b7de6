// Integration: backlog diversion (client/backlog_diversion.h, `actormq
// backlog ...`; docs/operations.md, "Divert a backlog"). A group's backlog
// moves to a temporary topic with more partitions through the CLI; the
// diverter is SIGKILLed in the middle and resumed; the temporary topic then
// holds every message of the backlog exactly once by id, each key in one
// partition in its original order; a drain group of several consumers
// empties it and `backlog finish` removes it.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "actormq/client/backlog_diversion.h"
#include "actormq/client/reader.h"
#include "fixtures.h"
#include "subprocess.h"

#ifndef ACTORMQ_CLI_BIN
#error "ACTORMQ_CLI_BIN must name the actormq binary"
#endif

extern char** environ;

using namespace actormq;
using namespace std::chrono_literals;

namespace {

test::subprocess_result cli(const test::broker_process& b, std::vector<std::string> args,
                            std::chrono::seconds limit = 60s) {
  std::vector<std::string> argv = {ACTORMQ_CLI_BIN, "--broker", b.address()};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run_subprocess(argv, {}, limit);
}

/// Starts the CLI in the background (output discarded); its pid.
pid_t spawn_cli(const test::broker_process& b, std::vector<std::string> args) {
  std::vector<std::string> all = {ACTORMQ_CLI_BIN, "--broker", b.address()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  return pid;
}

/// Backlog size: ACTORMQ_DIVERT_TEST_MESSAGES (the 1M for a full
/// run), 100,000 by default to keep the sanitized suite within CI's time.
int backlog_messages() {
  if (const char* v = std::getenv("ACTORMQ_DIVERT_TEST_MESSAGES")) return std::atoi(v);
  return 100000;
}

/// Produces n records keyed k0..k(keys-1) with value "KEY:SEQ", SEQ
/// counting per key; their ids go into ids.
void produce_keyed(const test::broker_process& b, const std::string& topic, int n, int keys,
                   std::map<std::string, int>& seq, std::set<std::string>* ids = nullptr) {
  client::producer_config pc;
  pc.connection = test::connection_to(b);
  pc.acks = client::acks::leader;
  pc.batch_bytes = 256 * 1024;
  pc.max_in_flight_per_partition = 5;
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  std::mutex mu;
  uint64_t failed = 0;
  for (int i = 0; i < n; ++i) {
    auto key = "k" + std::to_string(i % keys);
    auto value = key + ":" + std::to_string(seq[key]++);
    (*prod)->send(test::record(topic, key, value), [&, ids](const client::delivery_report& d) {
      std::lock_guard lk(mu);
      if (!d.ok()) ++failed;
      if (ids) ids->insert(d.id.to_string());
    });
  }
  REQUIRE((*prod)->flush(120s));
  std::lock_guard lk(mu);
  REQUIRE(failed == 0);
}

client::diversion_progress status_of(const test::broker_process& b, const std::string& temp) {
  auto p = client::backlog_diversion::status(test::connection_to(b), temp);
  INFO(p.err().to_string());
  REQUIRE(p);
  return *p;
}

}  // namespace

TEST_CASE(
    "a diverted backlog survives a SIGKILLed diverter: every message once by id, key order "
    "kept, drained by more consumers, then finished") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "orders", 2);
  const int n = backlog_messages();
  const int consumed = 1000;  // per partition, committed by the group before
  std::map<std::string, int> seq;
  std::set<std::string> ids;
  produce_keyed(b, "orders", n, 200, seq, &ids);
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  REQUIRE((*adm)->commit_offsets("billing", {{"orders", 0, consumed}, {"orders", 1, consumed}}));
  const uint64_t backlog = static_cast<uint64_t>(n - 2 * consumed);

  // The diverter, SIGKILLed once about a third has moved.
  auto pid = spawn_cli(b, {"backlog", "divert", "orders", "--group", "billing", "--to",
                           "orders.backlog", "--partitions", "8"});
  bool mid_way = test::eventually(
      [&] {
        auto p = client::backlog_diversion::status(test::connection_to(b), "orders.backlog");
        return p && p->moved >= backlog / 3;
      },
      300s);
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
  REQUIRE(mid_way);
  auto at_kill = status_of(b, "orders.backlog");
  INFO("moved at the kill " << at_kill.moved << " of " << at_kill.backlog);
  CHECK(at_kill.backlog == backlog);
  CHECK(at_kill.moved < backlog);
  // Produced after the start: stays in orders for the group.
  std::map<std::string, int> later_seq;
  produce_keyed(b, "orders", 10, 10, later_seq);

  // A second divert into the same topic is refused; resume goes on.
  auto again = cli(b, {"backlog", "divert", "orders", "--group", "billing", "--to",
                       "orders.backlog", "--partitions", "8"});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("backlog resume") != std::string::npos);
  auto resumed = cli(b, {"backlog", "resume", "orders.backlog"}, 600s);
  INFO(resumed.out << resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK(resumed.out.find("moved the backlog of group billing") != std::string::npos);
  auto done = status_of(b, "orders.backlog");
  CHECK(done.moved == backlog);
  CHECK(done.in_temp == backlog);  // nothing moved twice

  // The temporary topic, read whole: each id once, the backlog's exactly
  // (the first `consumed` of each partition were the group's already);
  // each key in one partition, its sequence numbers rising.
  {
    auto rd = client::reader::create(test::group_config(b, "unused"));
    REQUIRE(rd);
    REQUIRE((*rd)->assign_topic("orders.backlog", client::reader::earliest));
    std::set<std::string> seen;
    uint64_t duplicates = 0, out_of_order = 0, split_keys = 0, without_origin = 0;
    std::map<std::string, int> last_seq;
    std::map<std::string, uint32_t> partition_of;
    auto deadline = std::chrono::steady_clock::now() + 300s;
    while (seen.size() + duplicates < backlog && std::chrono::steady_clock::now() < deadline) {
      auto batch = (*rd)->poll(500ms);
      REQUIRE(batch);
      for (auto& m : *batch) {
        if (!seen.insert(m.id.to_string()).second) ++duplicates;
        auto value = m.value.value_or("");
        auto key = value.substr(0, value.find(':'));
        int s = std::stoi(value.substr(value.find(':') + 1));
        auto [it, fresh] = partition_of.emplace(key, m.partition);
        if (!fresh && it->second != m.partition) ++split_keys;
        if (last_seq.count(key) && s <= last_seq[key]) ++out_of_order;
        last_seq[key] = s;
        bool origin = false;
        for (auto& h : m.headers) origin |= h.key == "amq-diverted-from";
        if (!origin) ++without_origin;
      }
    }
    CHECK(seen.size() == backlog);
    CHECK(duplicates == 0);
    CHECK(out_of_order == 0);
    CHECK(split_keys == 0);
    CHECK(without_origin == 0);
    for (const auto& id : seen) {
      if (!ids.count(id)) FAIL("an id in orders.backlog that was never produced: " << id);
    }
  }

  // The group's offsets moved past the backlog: its consumer gets only
  // the 10 produced after the start.
  {
    auto c = client::consumer::create(test::group_config(b, "billing"));
    REQUIRE(c);
    REQUIRE((*c)->subscribe({"orders"}));
    auto got = test::consume_n(**c, 10, 30s);
    CHECK(got.size() == 10);
    auto extra = test::consume_n(**c, 1, 1s);
    CHECK(extra.empty());
  }

  // Not drained yet: finish is refused. Three drain consumers empty it.
  auto early = cli(b, {"backlog", "finish", "orders.backlog"});
  CHECK(early.exit_code == 1);
  CHECK(early.err.find("not over") != std::string::npos);
  {
    std::vector<std::unique_ptr<client::consumer>> drain;
    for (int i = 0; i < 3; ++i) {
      auto c = client::consumer::create(test::group_config(b, "billing.drain"));
      REQUIRE(c);
      REQUIRE((*c)->subscribe({"orders.backlog"}));
      drain.push_back(std::move(*c));
    }
    bool drained = test::eventually(
        [&] {
          for (auto& c : drain) {
            auto r = c->poll(100ms);
            if (r && !r->empty()) (void)c->commit_sync();
          }
          auto p = client::backlog_diversion::status(test::connection_to(b), "orders.backlog");
          return p && p->drained_all();
        },
        300s);
    CHECK(drained);
    auto s = cli(b, {"backlog", "status", "orders.backlog"});
    CHECK(s.exit_code == 0);
    CHECK(s.out.find("drained: actormq backlog finish orders.backlog") != std::string::npos);
    // Still consuming: finish refuses while the drain group has members.
    auto busy = cli(b, {"backlog", "finish", "orders.backlog"});
    CHECK(busy.exit_code == 1);
    CHECK(busy.err.find("live members") != std::string::npos);
  }
  auto fin = cli(b, {"backlog", "finish", "orders.backlog"});
  INFO(fin.out << fin.err);
  CHECK(fin.exit_code == 0);
  auto left = (*adm)->describe_topic("orders.backlog");
  CHECK(left.err().is(client::errc::unknown_topic));
  CHECK((*adm)->describe_topic("orders.backlog.diversion").err().is(client::errc::unknown_topic));
}

TEST_CASE(
    "a diversion is refused for a group with live members, too few partitions or an unknown "
    "topic") {
  test::broker_process b;
  test::require_started(b);
  test::create_topic(b, "jobs", 2);
  (void)test::produce_values(b, "jobs", 20);
  auto few =
      cli(b, {"backlog", "divert", "jobs", "--group", "g", "--to", "jobs.t", "--partitions", "2"});
  CHECK(few.exit_code == 1);
  CHECK(few.err.find("more than that") != std::string::npos);
  auto unknown =
      cli(b, {"backlog", "divert", "nope", "--group", "g", "--to", "nope.t", "--partitions", "4"});
  CHECK(unknown.exit_code == 1);
  auto none = cli(b, {"backlog", "resume", "never.diverted"});
  CHECK(none.exit_code == 1);
  CHECK(none.err.find("no backlog diversion") != std::string::npos);

  auto member = client::consumer::create(test::group_config(b, "g"));
  REQUIRE(member);
  REQUIRE((*member)->subscribe({"jobs"}));
  REQUIRE(test::eventually(
      [&] {
        (void)(*member)->poll(100ms);
        return !(*member)->assignment().empty();
      },
      15s));
  auto live =
      cli(b, {"backlog", "divert", "jobs", "--group", "g", "--to", "jobs.t", "--partitions", "4"});
  CHECK(live.exit_code == 1);
  CHECK(live.err.find("live member") != std::string::npos);
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  CHECK((*adm)->describe_topic("jobs.t").err().is(client::errc::unknown_topic));
}
