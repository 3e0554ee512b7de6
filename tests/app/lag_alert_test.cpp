// Integration: a consumer group's lag alert ([lag_alerts], lag_watch.h)
// against the real broker: raised by lag in messages and by the age of the
// oldest unconsumed message, with its log line, hook run and inspector
// state, and cleared once the group caught up.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

struct alerting_broker {
  test::temp_dir dir{"lag-alert-test"};
  std::unique_ptr<test::broker_process> broker;

  explicit alerting_broker(const std::string& lag_section) {
    auto cfg = dir.path() / "broker.toml";
    std::ofstream(cfg) << lag_section
                       << "\n[alerts]\n"
                          "hook = \"echo $AMQ_REASON $AMQ_GROUP $AMQ_LAG $AMQ_AGE_MS "
                          "$AMQ_PARTITION >> "
                       << (dir.path() / "alerts.txt").string() << "\"\n";
    broker = std::make_unique<test::broker_process>(
        dir.path() / "data", std::vector<std::string>{"--config", cfg.string()});
    test::require_started(*broker);
  }

  std::string alerts() const {
    std::ifstream in(dir.path() / "alerts.txt");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

/// A group that committed offset 0 of topic-0 and has no member left: its
/// consumer is gone.
void abandoned_group(const test::broker_process& b, const std::string& topic,
                     const std::string& group) {
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  REQUIRE((*adm)->commit_offsets(group, {{topic, 0, 0}}));
}

/// Consumes everything of group and commits it.
void catch_up(const test::broker_process& b, const std::string& topic, const std::string& group,
              size_t n) {
  auto c = client::consumer::create(test::group_config(b, group));
  REQUIRE(c);
  REQUIRE((*c)->subscribe({topic}));
  size_t got = 0;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (got < n && std::chrono::steady_clock::now() < deadline) {
    auto msgs = (*c)->poll(200ms);
    if (!msgs) continue;
    got += msgs->size();
    REQUIRE((*c)->commit_sync());
  }
  REQUIRE(got == n);
  REQUIRE((*c)->close());
}

/// The inspector's lag_alert object of group's actor (null when absent).
json lag_alert(const test::broker_process& b, const std::string& group) {
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  auto text = (*adm)->inspect(false);
  REQUIRE(text);
  auto doc = json::parse(*text);
  for (const auto& a : doc["brokers"][0]["actors"]) {
    if (a["path"] == "group/" + group) return a["state"]["lag_alert"];
  }
  return nullptr;
}

/// Waits (bounded) until group's actor has made n more lag checks than
/// it had made at the call; returns its lag_alert then.
json after_checks(const test::broker_process& b, const std::string& group, uint64_t n) {
  auto first = lag_alert(b, group);
  uint64_t from = first.is_null() ? 0 : first["checks"].get<uint64_t>();
  json now;
  REQUIRE(test::eventually(
      [&] {
        now = lag_alert(b, group);
        return !now.is_null() && now["checks"].get<uint64_t>() >= from + n;
      },
      10s));
  return now;
}

}  // namespace

TEST_CASE(
    "a group whose lag reaches max_messages raises an alert with a log line, a hook run and "
    "inspector state, and clears it once caught up",
    "[app][lag]") {
  alerting_broker ab("[lag_alerts]\nmax_messages = 5\ncheck_interval = \"250ms\"\n");
  auto& b = *ab.broker;
  test::create_topic(b, "orders", 1);
  abandoned_group(b, "orders", "billing");
  test::produce_values(b, "orders", 4);
  auto seen = after_checks(b, "billing", 2);  // checks at lag 4: under the bound
  CHECK(seen["lag"] == 4);
  CHECK(seen["alerting"] == false);
  CHECK(ab.alerts().empty());
  test::produce_values(b, "orders", 6);
  REQUIRE(test::eventually([&] { return ab.alerts().find("lag billing 10 ") != std::string::npos; },
                           10s));
  // Logged before the hook runs, but read from the broker's pipe by another
  // thread: it may reach the test after the hook's file does.
  CHECK(test::eventually(
      [&] { return b.output().find("ALERT group billing: lag 10 messages") != std::string::npos; },
      5s));
  // Raised once, not per check.
  auto state = after_checks(b, "billing", 3);
  CHECK(state["alerting"] == true);
  CHECK(state["raised"] == 1);
  CHECK(state["lag"] == 10);
  auto so_far = ab.alerts();
  CHECK(std::count(so_far.begin(), so_far.end(), '\n') == 1);

  catch_up(b, "orders", "billing", 10);
  REQUIRE(test::eventually(
      [&] { return ab.alerts().find("lag_cleared billing 0 0") != std::string::npos; }, 10s));
  // Logged before the hook runs, but read from the broker's pipe by another
  // thread: it may reach the test after the hook's file does.
  CHECK(test::eventually(
      [&] { return b.output().find("group billing: lag alert cleared") != std::string::npos; },
      5s));
  CHECK(lag_alert(b, "billing")["alerting"] == false);
}

TEST_CASE("a group whose oldest unconsumed message grows older than max_age raises an alert",
          "[app][lag]") {
  alerting_broker ab("[lag_alerts]\nmax_age = \"2s\"\ncheck_interval = \"250ms\"\n");
  auto& b = *ab.broker;
  test::create_topic(b, "jobs", 1);
  abandoned_group(b, "jobs", "workers");
  after_checks(b, "workers", 2);  // the group's checks see the empty log first
  auto produced = std::chrono::steady_clock::now();
  test::produce_values(b, "jobs", 1);
  REQUIRE(test::eventually([&] { return ab.alerts().find("lag workers 1 ") != std::string::npos; },
                           10s));
  auto took = std::chrono::steady_clock::now() - produced;
  CHECK(took >= 1500ms);  // not before the message was about 2 s old
  std::istringstream line(ab.alerts());
  std::string reason, group, lag, age_ms, partition;
  line >> reason >> group >> lag >> age_ms >> partition;
  CHECK(std::stoll(age_ms) >= 2000);
  CHECK(std::stoll(age_ms) <= 5000);
  CHECK(partition == "jobs-0");
}

TEST_CASE("a bad [lag_alerts] section is refused at start with its reason", "[app][lag]") {
  test::temp_dir dir("lag-alert-bad");
  auto cfg = dir.path() / "broker.toml";
  std::ofstream(cfg) << "[lag_alerts]\nmax_age = \"soon\"\n";
  test::broker_process b(dir.path() / "data", {"--config", cfg.string()});
  CHECK_FALSE(b.start("127.0.0.1:0"));
  CHECK(b.error().find("[lag_alerts].max_age: 'soon' is not a duration") != std::string::npos);
}
