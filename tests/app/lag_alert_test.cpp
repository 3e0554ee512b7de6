// Integration: a consumer group's lag alert ([lag_alerts], lag_watch.h)
// against the real broker: raised by lag in messages and by the age of the
// oldest unconsumed message, with its log line, hook run and inspector
// state, and cleared once the group caught up.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;

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

void produce_n(const test::broker_process& b, const std::string& topic, int n) {
  client::producer_config pc;
  pc.connection = test::connection_to(b);
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  for (int i = 0; i < n; ++i) (void)(*prod)->send(topic, std::nullopt, "m" + std::to_string(i));
  REQUIRE((*prod)->flush(30s));
}

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

std::string group_state(const test::broker_process& b, const std::string& group) {
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  auto json = (*adm)->inspect(false);
  REQUIRE(json);
  auto at = json->find("\"group\":\"" + group + "\"");
  return at == std::string::npos ? std::string() : json->substr(at, 4000);
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
  produce_n(b, "orders", 4);
  std::this_thread::sleep_for(1s);  // four checks at lag 4: under the bound
  CHECK(ab.alerts().empty());
  produce_n(b, "orders", 6);
  REQUIRE(test::eventually([&] { return ab.alerts().find("lag billing 10 ") != std::string::npos; },
                           10s));
  CHECK(b.output().find("ALERT group billing: lag 10 messages") != std::string::npos);
  auto state = group_state(b, "billing");
  CHECK(state.find("\"alerting\":true") != std::string::npos);
  CHECK(state.find("\"raised\":1") != std::string::npos);
  // Raised once, not per check.
  std::this_thread::sleep_for(1s);
  auto so_far = ab.alerts();
  CHECK(std::count(so_far.begin(), so_far.end(), '\n') == 1);

  catch_up(b, "orders", "billing", 10);
  REQUIRE(test::eventually(
      [&] { return ab.alerts().find("lag_cleared billing 0 0") != std::string::npos; }, 10s));
  CHECK(b.output().find("group billing: lag alert cleared") != std::string::npos);
  CHECK(group_state(b, "billing").find("\"alerting\":false") != std::string::npos);
}

TEST_CASE("a group whose oldest unconsumed message grows older than max_age raises an alert",
          "[app][lag]") {
  alerting_broker ab("[lag_alerts]\nmax_age = \"2s\"\ncheck_interval = \"250ms\"\n");
  auto& b = *ab.broker;
  test::create_topic(b, "jobs", 1);
  abandoned_group(b, "jobs", "workers");
  std::this_thread::sleep_for(600ms);  // the group's checks see the empty log first
  auto produced = std::chrono::steady_clock::now();
  produce_n(b, "jobs", 1);
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
