// Integration: the `actormq` command line against the real broker.
#include <catch2/catch.hpp>

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
