// Unit: message ids as users write and parse them.
#include <catch2/catch.hpp>

#include <set>
#include <unordered_set>

#include "actormq/client/message_id.h"
#include "actors/retry/retry_headers.h"
#include "app/client/src/message_id_source.h"

using actormq::client::message_id;
using actormq::client::detail::message_id_source;

TEST_CASE("a message id prints as 32 lowercase hex digits and parses back", "[client][id]") {
  message_id id(0x0123456789abcdefULL, 42);
  CHECK(id.to_string() == "0123456789abcdef000000000000002a");
  auto back = message_id::parse(id.to_string());
  REQUIRE(back);
  CHECK(*back == id);
  CHECK(message_id::parse("0123456789ABCDEF000000000000002A") == id);
  CHECK(id.prefix() == 0x0123456789abcdefULL);
  CHECK(id.counter() == 42);
}

TEST_CASE("malformed message ids are refused", "[client][id]") {
  CHECK_FALSE(message_id::parse(""));
  CHECK_FALSE(message_id::parse("0123"));
  CHECK_FALSE(message_id::parse("0123456789abcdef000000000000002g"));
  CHECK_FALSE(message_id::parse("0123456789abcdef000000000000002a0"));
  CHECK_FALSE(message_id::from_header("short"));
  CHECK_FALSE(message_id::from_header(std::string(17, 'x')));
}

TEST_CASE("the client and the broker's retry builders name the id header alike", "[client][id]") {
  // The retry builders keep this header on every copy; a rename on one side
  // only would drop ids from retries and dead letters.
  CHECK(message_id::header_key == actormq::retry::header::message_id);
  CHECK_FALSE(actormq::retry::is_retry_header(message_id::header_key));
}

TEST_CASE("the empty id prints as nothing", "[client][id]") {
  message_id none;
  CHECK(none.empty());
  CHECK(none.to_string().empty());
  CHECK_FALSE(message_id(1, 0).empty());
}

TEST_CASE("a header value of 16 bytes is the id those bytes spell", "[client][id]") {
  message_id id(7, 9);
  auto again = message_id::from_header(id.bytes());
  REQUIRE(again);
  CHECK(*again == id);
}

TEST_CASE("one producer's ids are distinct and ordered, two producers' prefixes differ",
          "[client][id]") {
  message_id_source a, b;
  CHECK(a.prefix() != b.prefix());
  std::unordered_set<message_id> seen;
  message_id last;
  for (int i = 0; i < 10000; ++i) {
    auto id = a.next();
    CHECK_FALSE(id.empty());
    CHECK(last < id);
    last = id;
    seen.insert(id);
    seen.insert(b.next());
  }
  CHECK(seen.size() == 20000);
}
