// topic_config: the topic.conf text format, including the bounded-topic and
// TTL settings.

#include <catch2/catch.hpp>

#include "actors/topic/topic_config.h"

using namespace actormq;

TEST_CASE("topic config round trips max messages full policy and ttl") {
  topic_config c;
  c.partitions = 3;
  c.max_messages = 1000;
  c.when_full = full_policy::dead_letter_oldest;
  c.ttl_ms = 60000;
  auto text = c.encode();
  CHECK(text.find("full_policy = dead-letter-oldest\n") != std::string::npos);
  auto d = topic_config::decode(text);
  REQUIRE(d);
  CHECK(d->partitions == 3);
  CHECK(d->max_messages == 1000);
  CHECK(d->when_full == full_policy::dead_letter_oldest);
  CHECK(d->ttl_ms == 60000);
  CHECK(d->encode() == text);
}

TEST_CASE("a topic conf written before bounded topics decodes as unbounded without ttl") {
  auto d = topic_config::decode(
      "partitions = 2\nretention_ms = -1\nretention_bytes = -1\nsegment_bytes = 1024\n"
      "segment_ms = 1000\nflush_messages = 0\nflush_ms = 1000\nmax_batch_bytes = 4096\n");
  REQUIRE(d);
  CHECK(d->max_messages == 0);
  CHECK(d->when_full == full_policy::reject_new);
  CHECK(d->ttl_ms == 0);
}

TEST_CASE("a topic conf with an unknown full policy or a negative bound is refused") {
  CHECK_FALSE(topic_config::decode("partitions = 1\nfull_policy = drop-everything\n"));
  CHECK_FALSE(topic_config::decode("partitions = 1\nmax_messages = -5\n"));
  CHECK_FALSE(topic_config::decode("partitions = 1\nttl_ms = -1\n"));
}

TEST_CASE("full policy names parse back to their values") {
  CHECK(parse_full_policy("reject-new") == full_policy::reject_new);
  CHECK(parse_full_policy("dead-letter-oldest") == full_policy::dead_letter_oldest);
  CHECK_FALSE(parse_full_policy("reject_new"));
  CHECK(std::string(to_string(full_policy::dead_letter_oldest)) == "dead-letter-oldest");
}

TEST_CASE("topic config round trips the produce quotas") {
  topic_config c;
  c.producer_byte_rate = 200000;
  c.producer_message_rate = 500;
  auto d = topic_config::decode(c.encode());
  REQUIRE(d);
  CHECK(d->producer_byte_rate == 200000);
  CHECK(d->producer_message_rate == 500);
}

TEST_CASE("a topic conf written before quotas decodes as unlimited and a negative rate is refused") {
  auto d = topic_config::decode("partitions = 2\nretention_ms = -1\n");
  REQUIRE(d);
  CHECK(d->producer_byte_rate == 0);
  CHECK(d->producer_message_rate == 0);
  CHECK_FALSE(topic_config::decode("partitions = 1\nproducer_byte_rate = -1\n"));
  CHECK_FALSE(topic_config::decode("partitions = 1\nproducer_message_rate = -7\n"));
}
