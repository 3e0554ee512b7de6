// Integration: the `actormq` command line against the real broker.
#include <catch2/catch.hpp>

#include <set>
#include <sstream>

#include "fixtures.h"
#include "subprocess.h"

#ifndef ACTORMQ_CLI_BIN
#error "ACTORMQ_CLI_BIN must name the actormq binary"
#endif

using namespace actormq;
using namespace std::chrono_literals;

namespace {

test::subprocess_result cli(const test::broker_process& b, std::vector<std::string> args,
                            const std::string& input = {}) {
  std::vector<std::string> argv = {ACTORMQ_CLI_BIN, "--broker", b.address()};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run_subprocess(argv, input, 60s);
}

/// A consumer of topic in group that holds an assignment (a live member).
std::unique_ptr<client::consumer> live_member(const test::broker_process& b,
                                              const std::string& group, const std::string& topic) {
  auto member = client::consumer::create(test::group_config(b, group));
  REQUIRE(member);
  REQUIRE((*member)->subscribe({topic}));
  REQUIRE(test::eventually(
      [&] {
        (void)(*member)->poll(std::chrono::milliseconds(100));
        return !(*member)->assignment().empty();
      },
      std::chrono::seconds(15)));
  return std::move(*member);
}

/// "jobs" with the given partitions and j0..j9 in it, read and committed
/// (up to max_messages) by each of groups through the CLI.
void seed_jobs(const test::broker_process& b, const std::string& partitions,
               const std::vector<std::string>& groups, const std::string& max_messages) {
  REQUIRE(cli(b, {"topic", "create", "jobs", "--partitions", partitions}).exit_code == 0);
  std::string input;
  for (int i = 0; i < 10; ++i) input += "j" + std::to_string(i) + "\n";
  REQUIRE(cli(b, {"produce", "jobs"}, input).exit_code == 0);
  for (const auto& g : groups) {
    REQUIRE(cli(b, {"consume", "jobs", "--group", g, "--from-beginning", "--max-messages",
                    max_messages, "--timeout-ms", "10000"})
                .exit_code == 0);
  }
}

}  // namespace

TEST_CASE("cli manages topics", "[app][cli]") {
  test::broker_process broker;
  test::require_started(broker);
  auto r = cli(broker, {"topic", "create", "clicks", "--partitions", "3"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = cli(broker, {"topic", "list"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "clicks\n");  // the broker's own topics stay out of the way
  r = cli(broker, {"topic", "list", "--internal"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "__consumer_offsets\n__delay_schedule\n__transaction_state\nclicks\n");
  r = cli(broker, {"topic", "describe", "clicks"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("Partitions: 3") != std::string::npos);
  CHECK(r.out.find("HIGH-WATERMARK") != std::string::npos);
  r = cli(broker, {"topic", "create", "clicks", "--partitions", "3"});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("already exists") != std::string::npos);
  r = cli(broker, {"topic", "delete", "clicks"});
  REQUIRE(r.exit_code == 0);
  r = cli(broker, {"topic", "describe", "clicks"});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("unknown topic") != std::string::npos);
}

TEST_CASE("cli produces and consumes a round trip", "[app][cli]") {
  test::broker_process broker;
  test::require_started(broker);
  REQUIRE(cli(broker, {"topic", "create", "lines", "--partitions", "2"}).exit_code == 0);
  std::string input;
  for (int i = 0; i < 50; ++i)
    input += "k" + std::to_string(i % 5) + ":line " + std::to_string(i) + "\n";
  auto p = cli(broker, {"produce", "lines", "--key-separator", ":", "--acks", "fsync"}, input);
  INFO(p.err);
  REQUIRE(p.exit_code == 0);

  auto c =
      cli(broker, {"consume", "lines", "--group", "cli-g", "--from-beginning", "--max-messages",
                   "30", "--timeout-ms", "10000", "--format", "%k|%v|%p|%o"});
  INFO(c.err);
  REQUIRE(c.exit_code == 0);
  auto count_lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
  REQUIRE(count_lines(c.out) == 30);
  CHECK(c.out.find("|line ") != std::string::npos);

  // The group committed what was printed: the rest comes next.
  auto c2 = cli(broker, {"consume", "lines", "--group", "cli-g", "--timeout-ms", "3000"});
  INFO(c2.err);
  REQUIRE(c2.exit_code == 0);
  CHECK(count_lines(c2.out) == 20);

  auto g = cli(broker, {"group", "list"});
  REQUIRE(g.exit_code == 0);
  CHECK(g.out.find("cli-g") != std::string::npos);
  auto d = cli(broker, {"group", "describe", "cli-g"});
  INFO(d.err);
  REQUIRE(d.exit_code == 0);
  CHECK(d.out.find("LAG") != std::string::npos);
}

TEST_CASE("cli reports errors on stderr with a non zero exit", "[app][cli]") {
  test::broker_process broker;
  test::require_started(broker);
  auto r = cli(broker, {"produce", "missing"}, "x\n");
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("unknown topic") != std::string::npos);
  r = cli(broker, {"consume", "missing", "--group", "g", "--timeout-ms", "100"});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("unknown topic") != std::string::npos);
  r = cli(broker, {"topic", "create", "x", "--no-such-flag"});
  CHECK(r.exit_code != 0);
  CHECK_FALSE(r.err.empty());
  auto addr = broker.address();
  broker.stop();
  auto u = test::run_subprocess({ACTORMQ_CLI_BIN, "--broker", addr, "topic", "list"}, {}, 30s);
  CHECK(u.exit_code != 0);
  CHECK(u.err.find("broker unreachable") != std::string::npos);
}

TEST_CASE(
    "cli produce prints each message's id, consume shows ids and headers, and message find "
    "locates a message by its id",
    "[app][cli][id]") {
  test::broker_process broker;
  test::require_started(broker);
  REQUIRE(cli(broker, {"topic", "create", "ids", "--partitions", "2"}).exit_code == 0);
  auto p = cli(broker,
               {"produce", "ids", "--key-separator", ":", "--header", "trace=t-1", "--header",
                "origin=cli", "--print-ids"},
               "a:one\nb:two\nc:three\n");
  INFO(p.err);
  REQUIRE(p.exit_code == 0);
  // "PARTITION OFFSET ID" per input line, in input order.
  std::istringstream lines(p.out);
  std::vector<std::string> ids;
  for (std::string part, off, id; lines >> part >> off >> id;) {
    CHECK(id.size() == 32);
    ids.push_back(id);
  }
  REQUIRE(ids.size() == 3);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 3);

  auto c = cli(broker, {"consume", "ids", "--group", "g-ids", "--from-beginning", "--max-messages",
                        "3", "--timeout-ms", "10000", "--format", "%i %v %h"});
  INFO(c.err);
  REQUIRE(c.exit_code == 0);
  for (const auto& [id, value] : std::vector<std::pair<std::string, std::string>>{
           {ids[0], "one"}, {ids[1], "two"}, {ids[2], "three"}}) {
    CHECK(c.out.find(id + " " + value + " trace=t-1,origin=cli\n") != std::string::npos);
  }

  auto f = cli(broker, {"message", "find", "ids", "--id", ids[1], "--format", "%v"});
  INFO(f.err);
  REQUIRE(f.exit_code == 0);
  CHECK(f.out == "two\n");
  auto missing = cli(broker, {"message", "find", "ids", "--id", std::string(32, 'f')});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("no message with id ffff") != std::string::npos);
  CHECK(missing.err.find("(3 messages read)") != std::string::npos);
  auto bad = cli(broker, {"message", "find", "ids", "--id", "xyz"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("expected 32 hex digits") != std::string::npos);
  auto reserved = cli(broker, {"produce", "ids", "--header", "amq-id=x"}, "v\n");
  CHECK(reserved.exit_code == 1);
  CHECK(reserved.err.find("sets the message id itself") != std::string::npos);
}

TEST_CASE(
    "cli consume without a group reads a partition from an offset or from a time and commits "
    "nothing",
    "[app][cli]") {
  test::broker_process broker;
  test::require_started(broker);
  REQUIRE(cli(broker, {"topic", "create", "log", "--partitions", "1"}).exit_code == 0);
  std::string input;
  for (int i = 0; i < 10; ++i) input += "m" + std::to_string(i) + "\n";
  REQUIRE(cli(broker, {"produce", "log"}, input).exit_code == 0);
  auto from_offset = cli(broker, {"consume", "log", "--partition", "0", "--offset", "7",
                                  "--timeout-ms", "1500", "--format", "%o %v"});
  INFO(from_offset.err);
  REQUIRE(from_offset.exit_code == 0);
  CHECK(from_offset.out == "7 m7\n8 m8\n9 m9\n");
  auto everything = cli(broker, {"consume", "log", "--from-beginning", "--timeout-ms", "1500"});
  REQUIRE(everything.exit_code == 0);
  CHECK(std::count(everything.out.begin(), everything.out.end(), '\n') == 10);
  // Everything was produced before now: from now on there is nothing; from
  // an hour ago, everything.
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auto later = cli(broker, {"consume", "log", "--from-time", std::to_string(now_ms + 1000),
                            "--timeout-ms", "1000"});
  REQUIRE(later.exit_code == 0);
  CHECK(later.out.empty());
  auto earlier = cli(broker, {"consume", "log", "--from-time", "2020-01-01T00:00:00Z",
                              "--timeout-ms", "1500", "--max-messages", "4"});
  REQUIRE(earlier.exit_code == 0);
  CHECK(earlier.out == "m0\nm1\nm2\nm3\n");
  // No group was created or committed.
  auto groups = cli(broker, {"group", "list"});
  REQUIRE(groups.exit_code == 0);
  CHECK(groups.out.find("log") == std::string::npos);
  auto unknown = cli(broker, {"consume", "nope", "--partition", "0", "--offset", "0"});
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.err.find("unknown topic 'nope'") != std::string::npos);
}

TEST_CASE(
    "cli group reset-offsets moves an idle group to the earliest, the latest, a time, a shift or "
    "an offset, and refuses while the group has a live member",
    "[app][cli][reset]") {
  test::broker_process broker;
  test::require_started(broker);
  seed_jobs(broker, "1", {"workers"}, "4");
  auto committed = [&] {
    auto adm = client::admin::create(test::connection_to(broker));
    REQUIRE(adm);
    auto o = (*adm)->fetch_offsets("workers", {{"jobs", 0}});
    REQUIRE(o);
    REQUIRE(o->size() == 1);
    return o->front().offset;
  };
  REQUIRE(committed() == 4);
  auto reset = [&](std::vector<std::string> mode) {
    std::vector<std::string> args = {"group", "reset-offsets", "workers", "--topic", "jobs"};
    args.insert(args.end(), mode.begin(), mode.end());
    return cli(broker, args);
  };
  auto dry = reset({"--to-earliest", "--dry-run"});
  INFO(dry.err);
  REQUIRE(dry.exit_code == 0);
  CHECK(dry.out.find("jobs                 0          4            0") != std::string::npos);
  CHECK(committed() == 4);  // a dry run commits nothing
  REQUIRE(reset({"--to-earliest"}).exit_code == 0);
  CHECK(committed() == 0);
  REQUIRE(reset({"--to-latest"}).exit_code == 0);
  CHECK(committed() == 10);
  REQUIRE(reset({"--shift-by", "-3"}).exit_code == 0);
  CHECK(committed() == 7);
  REQUIRE(reset({"--shift-by", "-100"}).exit_code == 0);
  CHECK(committed() == 0);  // clamped to the log start
  REQUIRE(reset({"--to-offset", "5"}).exit_code == 0);
  CHECK(committed() == 5);
  REQUIRE(reset({"--to-datetime", "2020-01-01T00:00:00Z"}).exit_code == 0);
  CHECK(committed() == 0);
  // The group resumes where it was put.
  REQUIRE(reset({"--to-offset", "8"}).exit_code == 0);
  auto rest = cli(broker, {"consume", "jobs", "--group", "workers", "--timeout-ms", "2000"});
  REQUIRE(rest.exit_code == 0);
  CHECK(rest.out == "j8\nj9\n");
  CHECK(reset({}).exit_code != 0);
  CHECK(reset({"--to-earliest", "--to-latest"}).exit_code != 0);

  // A live member: refused, nothing changes.
  auto member = live_member(broker, "workers", "jobs");
  auto refused = reset({"--to-earliest"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("live member") != std::string::npos);
  CHECK(committed() == 10);
}

TEST_CASE(
    "cli group delete forgets an idle group's offsets for good, and refuses while the group has "
    "a live member or does not exist",
    "[app][cli][group_delete]") {
  test::broker_process broker;
  test::require_started(broker);
  // "others" must keep its offsets through the delete of "workers".
  seed_jobs(broker, "2", {"workers", "others"}, "10");
  auto committed = [&](const std::string& group) {
    auto adm = client::admin::create(test::connection_to(broker));
    REQUIRE(adm);
    auto o = (*adm)->fetch_offsets(group, {{"jobs", 0}, {"jobs", 1}});
    REQUIRE(o);
    REQUIRE(o->size() == 2);
    return std::max(o->at(0).offset, int64_t{0}) + std::max(o->at(1).offset, int64_t{0});
  };
  auto listed = [&](const std::string& group) {
    auto l = cli(broker, {"group", "list"});
    REQUIRE(l.exit_code == 0);
    return ("\n" + l.out).find("\n" + group + "\n") != std::string::npos;
  };
  REQUIRE(committed("workers") == 10);
  REQUIRE(listed("workers"));

  {
    // A live member: refused with the reason, nothing forgotten.
    auto member = live_member(broker, "workers", "jobs");
    auto refused = cli(broker, {"group", "delete", "workers"});
    CHECK(refused.exit_code == 1);
    CHECK(refused.err.find("live member") != std::string::npos);
    CHECK(committed("workers") == 10);
    REQUIRE(member->close());  // leaves the group
  }

  auto deleted = cli(broker, {"group", "delete", "workers"});
  INFO(deleted.err);
  REQUIRE(deleted.exit_code == 0);
  CHECK(deleted.out == "deleted group workers\n");
  CHECK(committed("workers") == 0);
  CHECK_FALSE(listed("workers"));
  CHECK(committed("others") == 10);
  auto again = cli(broker, {"group", "delete", "workers"});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("unknown group 'workers'") != std::string::npos);
  auto never = cli(broker, {"group", "delete", "nobody"});
  CHECK(never.exit_code == 1);
  CHECK(never.err.find("unknown group 'nobody'") != std::string::npos);
  auto internal = cli(broker, {"group", "delete", "__redrive"});
  CHECK(internal.exit_code == 1);
  CHECK(internal.err.find("broker's own") != std::string::npos);

  // Durable: a restart replays the tombstones (SIGKILL: no clean shutdown).
  REQUIRE(broker.restart(/*kill=*/true));
  CHECK(committed("workers") == 0);
  CHECK_FALSE(listed("workers"));
  CHECK(committed("others") == 10);
  // The name is free again: a new consumer of it starts from its reset policy.
  auto fresh = cli(broker, {"consume", "jobs", "--group", "workers", "--from-beginning",
                            "--max-messages", "10", "--timeout-ms", "10000"});
  REQUIRE(fresh.exit_code == 0);
  std::multiset<std::string> got;
  std::istringstream lines(fresh.out);
  for (std::string l; std::getline(lines, l);) got.insert(l);
  CHECK(got.size() == 10);
  CHECK(got.count("j0") == 1);
  CHECK(committed("workers") == 10);
}
