#include <catch2/catch.hpp>

#include <map>

#include "actors/metrics/metrics_registry.h"
#include "actors/retry/dead_letter_builder.h"
#include "storage/record_batch_builder.h"

using namespace actormq;
using namespace actormq::retry;

namespace {

/// A copy of one decoded record, so tests can keep it past the batch.
struct record {
  int64_t offset = 0;
  int64_t timestamp = 0;
  std::optional<std::string> key, value;
  std::multimap<std::string, std::optional<std::string>> headers;
  std::string header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() || !it->second ? "" : *it->second;
  }
};

template <typename F>
void with_record(const std::string& batch, F f) {
  std::span<const uint8_t> bytes{reinterpret_cast<const uint8_t*>(batch.data()), batch.size()};
  auto v = storage::validate_batch(bytes, bytes.size(), storage::validation::full_records);
  REQUIRE(v);
  int n = 0;
  REQUIRE(storage::for_each_record(bytes, [&](const storage::record_view& r) {
    ++n;
    f(r);
  }));
  REQUIRE(n == 1);
}

record copy(const storage::record_view& r) {
  record out;
  out.offset = r.record_offset();
  out.timestamp = r.timestamp();
  if (r.key) out.key = std::string(*r.key);
  if (r.value) out.value = std::string(*r.value);
  for (const auto& h : r.headers) {
    out.headers.emplace(std::string(h.key),
                        h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt);
  }
  return out;
}

std::string original_batch() {
  storage::record_batch_builder b;
  b.add("k1", "v1", storage::timestamp_ms(1000), {{"trace", std::string("t-1")}});
  return b.build();
}

record decode(const std::string& batch) {
  record out;
  with_record(batch, [&](const storage::record_view& r) { out = copy(r); });
  return out;
}

}  // namespace

TEST_CASE("a first-delivery record is its own origin with delivery count one", "[retry][builder]") {
  with_record(original_batch(), [](const storage::record_view& r) {
    auto info = read_delivery_info(r, "orders", 2);
    CHECK(info.delivery_count == 1);
    CHECK(info.origin.topic == "orders");
    CHECK(info.origin.partition == 2);
    CHECK(info.origin.offset == 0);
    CHECK(info.origin.timestamp_ms == 1000);
    CHECK(info.redrive_count == 0);
    CHECK_FALSE(info.reason);
  });
}

TEST_CASE("a retry copy counts the delivery and keeps origin key value and user headers",
          "[retry][builder]") {
  std::string retry;
  with_record(original_batch(), [&](const storage::record_view& r) {
    auto info = read_delivery_info(r, "orders", 2);
    retry = build_retry_batch(r, info, "boom", 5000);
  });
  auto rec = decode(retry);
  CHECK(rec.key == "k1");
  CHECK(rec.value == "v1");
  CHECK(rec.timestamp == 5000);
  CHECK(rec.header("trace") == "t-1");
  CHECK(rec.header("amq-delivery-count") == "2");
  CHECK(rec.header("amq-original-topic") == "orders");
  CHECK(rec.header("amq-original-partition") == "2");
  CHECK(rec.header("amq-original-offset") == "0");
  CHECK(rec.header("amq-original-timestamp") == "1000");
  CHECK(rec.header("amq-last-error") == "boom");

  // Nacked again from the retry topic: the origin stays, the count grows,
  // no header is duplicated.
  std::string again;
  with_record(retry, [&](const storage::record_view& r) {
    auto info = read_delivery_info(r, "orders.g.retry", 2);
    CHECK(info.delivery_count == 2);
    CHECK(info.origin.topic == "orders");
    again = build_retry_batch(r, info, "boom again", 6000);
  });
  auto rec2 = decode(again);
  CHECK(rec2.header("amq-delivery-count") == "3");
  CHECK(rec2.header("amq-original-offset") == "0");
  CHECK(rec2.header("amq-last-error") == "boom again");
  CHECK(rec2.headers.count("amq-delivery-count") == 1);
  CHECK(rec2.headers.count("trace") == 1);
}

TEST_CASE("a dead letter says why when by whom and how often", "[retry][builder]") {
  std::string dl;
  with_record(original_batch(), [&](const storage::record_view& r) {
    auto info = read_delivery_info(r, "orders", 0);
    info.delivery_count = 17;
    dl = build_dead_letter_batch(r, info, dead_letter_reason::max_retries, "billing", "bad", 9000);
  });
  auto rec = decode(dl);
  CHECK(rec.value == "v1");
  CHECK(rec.header("amq-dlq-reason") == "max_retries");
  CHECK(rec.header("amq-dlq-time") == "9000");
  CHECK(rec.header("amq-dlq-group") == "billing");
  CHECK(rec.header("amq-delivery-count") == "17");
  CHECK(rec.header("amq-last-error") == "bad");
  CHECK(rec.header("amq-original-topic") == "orders");
  with_record(dl, [&](const storage::record_view& r) {
    auto info = read_delivery_info(r, "orders.billing.dlq", 0);
    CHECK(info.reason == dead_letter_reason::max_retries);
    CHECK(info.dlq_group == "billing");
    CHECK(info.dlq_time_ms == 9000);
  });
}

TEST_CASE("a re-driven message starts a fresh history with its redrive count raised",
          "[retry][builder]") {
  std::string dl;
  with_record(original_batch(), [&](const storage::record_view& r) {
    auto info = read_delivery_info(r, "orders", 0);
    dl = build_dead_letter_batch(r, info, dead_letter_reason::rejected, "g", "no", 1);
  });
  std::string back;
  with_record(dl, [&](const storage::record_view& r) {
    back = build_redrive_batch(r, read_delivery_info(r, "orders.g.dlq", 0), 2);
  });
  auto rec = decode(back);
  CHECK(rec.header("amq-redrive-count") == "1");
  CHECK(rec.headers.count("amq-dlq-reason") == 0);
  CHECK(rec.headers.count("amq-delivery-count") == 0);
  CHECK(rec.headers.count("amq-original-topic") == 0);
  CHECK(rec.header("trace") == "t-1");
  // Dead-lettered again, the redrive count is kept for the loop guard.
  std::string dl2;
  with_record(back, [&](const storage::record_view& r) {
    dl2 = build_dead_letter_batch(r, read_delivery_info(r, "orders", 0),
                                  dead_letter_reason::rejected, "g", "no", 3);
  });
  with_record(dl2, [&](const storage::record_view& r) {
    CHECK(read_delivery_info(r, "orders.g.dlq", 0).redrive_count == 1);
  });
}

TEST_CASE("malformed retry headers fall back to defaults", "[retry][builder]") {
  storage::record_batch_builder b;
  b.add("k", "v", storage::timestamp_ms(7),
        {{"amq-delivery-count", std::string("x")},
         {"amq-original-topic", std::string("t")},
         {"amq-expires-at", std::string("123")}});
  with_record(b.build(), [](const storage::record_view& r) {
    auto info = read_delivery_info(r, "here", 1);
    CHECK(info.delivery_count == 1);
    CHECK(info.origin.topic == "here");  // incomplete origin headers are ignored
    CHECK(info.expires_at_ms == 123);
  });
}

TEST_CASE("dead-letter reasons round trip through their names", "[retry][builder]") {
  for (auto r : {dead_letter_reason::max_retries, dead_letter_reason::rejected,
                 dead_letter_reason::ttl_expired, dead_letter_reason::queue_full}) {
    CHECK(parse_reason(to_string(r)) == r);
  }
  CHECK_FALSE(parse_reason("bored"));
}

TEST_CASE("the metrics registry counts per name and labels", "[retry][metrics]") {
  metrics_registry m;
  m.add("dl", {{"topic", "a"}, {"reason", "rejected"}});
  m.add("dl", {{"topic", "a"}, {"reason", "rejected"}}, 2);
  m.add("dl", {{"topic", "b"}, {"reason", "rejected"}});
  CHECK(m.value("dl", {{"topic", "a"}, {"reason", "rejected"}}) == 3);
  CHECK(m.value("dl", {{"topic", "c"}}) == 0);
  CHECK(m.snapshot().size() == 2);
}
