// retry_verdict_of: kill-retry-owner's verdict over the planned values, their
// deliveries and the dead-letter topic read back (app/checker/retry_workload.h).

#include <catch2/catch.hpp>

#include "retry_workload.h"

using actormq::checker::retry_delivery;
using actormq::checker::retry_message;
using actormq::checker::retry_outcome;
using actormq::checker::retry_verdict_of;

namespace {

constexpr uint32_t verdict_max_retries = 3;

/// An acknowledged value: r<nacks> or d (dead), settled per `settled`
/// ("nna": delivery 1 nacked, 2 nacked, 3 acked; "f" = nack failed).
retry_message planned_retry(const std::string& value, const std::string& x_id, bool dead,
                            uint32_t nacks, const std::string& settled) {
  retry_message m;
  m.value = value;
  m.x_id = x_id;
  m.dead = dead;
  m.nacks = nacks;
  m.st = retry_message::state::acked;
  uint32_t number = 0;
  for (char c : settled) {
    retry_delivery d;
    d.number = ++number;
    d.outcome = c == 'a'   ? retry_outcome::acked
                : c == 'n' ? retry_outcome::nacked
                           : retry_outcome::nack_failed;
    m.deliveries.push_back(d);
  }
  return m;
}

actormq::client::dead_letter dead_letter_of(const std::string& value, const std::string& x_id) {
  actormq::client::dead_letter d;
  d.msg.topic = "t.g.dlq";
  d.msg.value = value;
  if (!x_id.empty()) d.msg.headers.push_back({"x-id", x_id});
  d.reason = "max_retries";
  d.group = "g";
  d.original_topic = "t";
  d.deliveries = verdict_max_retries + 1;
  return d;
}

}  // namespace

TEST_CASE("retry verdict passes values acked after their nacks and dead letters with their x-id") {
  std::vector<retry_message> msgs = {planned_retry("r0-0", "x0", false, 0, "a"),
                                     planned_retry("r2-1", "x1", false, 2, "nna"),
                                     planned_retry("d-2", "x2", true, 0, "nnnn")};
  auto v = retry_verdict_of(msgs, {}, {dead_letter_of("d-2", "x2")}, "t", "g", verdict_max_retries);
  CHECK(v.ok());
  CHECK(v.acked == 3);
  CHECK(v.retried_ok == 2);
  CHECK(v.dead == 1);
  CHECK(v.nacks == 6);
  CHECK(v.problems.empty());
}

TEST_CASE("retry verdict fails an acknowledged r value the consumer never acked") {
  std::vector<retry_message> msgs = {planned_retry("r2-0", "x0", false, 2, "nn")};
  auto v = retry_verdict_of(msgs, {}, {}, "t", "g", verdict_max_retries);
  CHECK_FALSE(v.ok());
  CHECK(v.never_acked == 1);
  REQUIRE(v.problems.size() == 1);
  CHECK(v.problems.front().find("1n 2n") != std::string::npos);
}

TEST_CASE("retry verdict fails an r value acked before a delivery it should have nacked") {
  // Delivery 2 never came: the broker numbered a copy 3 without a nack of 2.
  auto m = planned_retry("r2-0", "x0", false, 2, "n");
  m.deliveries.push_back({3, 0, retry_outcome::acked});
  auto v = retry_verdict_of({m}, {}, {}, "t", "g", verdict_max_retries);
  CHECK(v.acked_early == 1);
  CHECK_FALSE(v.ok());
}

TEST_CASE("retry verdict counts a failed nack of a delivery as nacking it") {
  // The nack of delivery 1 failed but was stored: delivery 2 came back first.
  std::vector<retry_message> msgs = {planned_retry("r1-0", "x0", false, 1, "fa")};
  auto v = retry_verdict_of(msgs, {}, {}, "t", "g", verdict_max_retries);
  CHECK(v.ok());
  CHECK(v.nacks_failed == 1);
}

TEST_CASE("retry verdict fails an acknowledged d value missing from the DLQ") {
  std::vector<retry_message> msgs = {planned_retry("d-0", "x0", true, 0, "nnnn")};
  auto v = retry_verdict_of(msgs, {}, {}, "t", "g", verdict_max_retries);
  CHECK(v.not_dead == 1);
  CHECK_FALSE(v.ok());
}

TEST_CASE("retry verdict fails a dead letter that lost its x-id header") {
  std::vector<retry_message> msgs = {planned_retry("d-0", "x0", true, 0, "nnnn")};
  auto v = retry_verdict_of(msgs, {}, {dead_letter_of("d-0", "")}, "t", "g", verdict_max_retries);
  CHECK(v.bad_dead_letters == 1);
  CHECK(v.not_dead == 1);
  CHECK_FALSE(v.ok());
}

TEST_CASE("retry verdict fails a dead letter with the wrong reason or delivery count") {
  std::vector<retry_message> msgs = {planned_retry("d-0", "x0", true, 0, "nnnn")};
  auto d = dead_letter_of("d-0", "x0");
  d.reason = "rejected";
  d.deliveries = 2;
  auto v = retry_verdict_of(msgs, {}, {d}, "t", "g", verdict_max_retries);
  CHECK(v.bad_dead_letters == 1);
  CHECK(v.dead == 1);
  CHECK_FALSE(v.ok());
}

TEST_CASE("retry verdict fails an r value in the DLQ") {
  std::vector<retry_message> msgs = {planned_retry("r1-0", "x0", false, 1, "na")};
  auto v =
      retry_verdict_of(msgs, {}, {dead_letter_of("r1-0", "x0")}, "t", "g", verdict_max_retries);
  CHECK(v.wrongly_dead == 1);
  CHECK_FALSE(v.ok());
}

TEST_CASE("retry verdict fails a delivery numbered past max_retries + 1") {
  std::vector<retry_message> msgs = {planned_retry("d-0", "x0", true, 0, "nnnnn")};
  auto v = retry_verdict_of(msgs, {}, {dead_letter_of("d-0", "x0")}, "t", "g", verdict_max_retries);
  CHECK(v.past_max == 1);
  CHECK_FALSE(v.ok());
}

TEST_CASE("retry verdict fails values delivered or dead-lettered that were never planned") {
  auto v = retry_verdict_of({}, {{"zz", 2}}, {dead_letter_of("yy", "x9")}, "t", "g",
                            verdict_max_retries);
  CHECK(v.phantom == 2);
  CHECK_FALSE(v.ok());
}

TEST_CASE("retry verdict counts a second retry chain and a second dead letter, not failing them") {
  // The nack of delivery 1 was stored twice: deliveries 2..4 each came twice.
  auto m = planned_retry("d-0", "x0", true, 0, "nnnn");
  for (uint32_t n = 2; n <= 4; ++n) m.deliveries.push_back({n, 0, retry_outcome::nacked});
  auto r = planned_retry("r0-1", "x1", false, 0, "a");
  r.deliveries.push_back({1, 0, retry_outcome::acked});
  auto v = retry_verdict_of({m, r}, {}, {dead_letter_of("d-0", "x0"), dead_letter_of("d-0", "x0")},
                            "t", "g", verdict_max_retries);
  CHECK(v.ok());
  CHECK(v.duplicated_values == 2);
  CHECK(v.duplicate_deliveries == 4);
  CHECK(v.acked_twice == 1);
  CHECK(v.dead_twice == 1);
}

TEST_CASE("retry verdict does not require a failed send to arrive") {
  auto m = planned_retry("d-0", "x0", true, 0, "");
  m.st = retry_message::state::maybe;
  auto v = retry_verdict_of({m}, {}, {}, "t", "g", verdict_max_retries);
  CHECK(v.ok());
  CHECK(v.maybe == 1);
}
