#include <catch2/catch.hpp>

#include "actors/retry/retry_policy.h"
#include "actors/retry/retry_topics.h"

using namespace actormq::retry;
using std::chrono::milliseconds;

TEST_CASE("the default policy waits 1s 5s 30s 1m 5m and repeats the last", "[retry][policy]") {
  retry_policy p;
  CHECK(p.backoff(1) == milliseconds(1000));
  CHECK(p.backoff(2) == milliseconds(5000));
  CHECK(p.backoff(3) == milliseconds(30000));
  CHECK(p.backoff(4) == milliseconds(60000));
  CHECK(p.backoff(5) == milliseconds(300000));
  CHECK(p.backoff(6) == milliseconds(300000));
  CHECK(p.backoff(100) == milliseconds(300000));
  CHECK(p.max_retries() == 16);
  CHECK(p.to_string() == "1s 5s 30s 1m 5m");
}

TEST_CASE("a message is exhausted once delivered more than max retries times", "[retry][policy]") {
  auto p = retry_policy::parse("100ms 200ms", 3);
  REQUIRE(p);
  CHECK_FALSE(p->exhausted(1));
  CHECK_FALSE(p->exhausted(3));
  CHECK(p->exhausted(4));
  auto none = retry_policy::parse("1s", 0);
  REQUIRE(none);
  CHECK(none->exhausted(1));
}

TEST_CASE("exponential backoff doubles up to its cap", "[retry][policy]") {
  auto p = retry_policy::parse("exponential 100ms 2 1s");
  REQUIRE(p);
  CHECK(p->backoff(1) == milliseconds(100));
  CHECK(p->backoff(2) == milliseconds(200));
  CHECK(p->backoff(4) == milliseconds(800));
  CHECK(p->backoff(5) == milliseconds(1000));
  CHECK(p->backoff(1000) == milliseconds(1000));
  CHECK(p->to_string() == "exponential 100ms 2 1s");
}

TEST_CASE("bad backoff texts are refused", "[retry][policy]") {
  CHECK_FALSE(retry_policy::parse(""));
  CHECK_FALSE(retry_policy::parse("5s 1s"));
  CHECK_FALSE(retry_policy::parse("exponential 1s 0.5 1m"));
  CHECK_FALSE(retry_policy::parse("exponential 1m 2 1s"));
  CHECK_FALSE(retry_policy::parse("exponential 1s 2"));
  CHECK_FALSE(retry_policy::parse("soon"));
}

TEST_CASE("per-group policies override the default", "[retry][policy]") {
  retry_settings s;
  s.groups["fast"] = *retry_policy::parse("10ms", 2);
  CHECK(s.policy_for("fast").max_retries() == 2);
  CHECK(s.policy_for("other").max_retries() == 16);
}

TEST_CASE("retry and dead-letter topic names derive from topic and group", "[retry][topics]") {
  CHECK(retry_topic("orders", "billing") == "orders.billing.retry");
  CHECK(dlq_topic("orders", "billing") == "orders.billing.dlq");
  CHECK(dlq_topic("orders") == "orders.dlq");
  CHECK(base_topic("orders.billing.retry", "billing") == "orders");
  CHECK(base_topic("orders", "billing") == "orders");
  CHECK(base_topic("orders.other.retry", "billing") == "orders.other.retry");
  CHECK(is_retry_topic("orders.billing.retry", "billing"));
  CHECK_FALSE(is_retry_topic("orders", "billing"));
}
