// Unit: the bootstrap list of connection_config::broker, no broker needed.
#include <catch2/catch.hpp>

#include "app/client/src/broker_address.h"

using namespace actormq::client;
using detail::bootstrap_list;
using detail::parse_broker_list;

TEST_CASE("a single broker address is a bootstrap list of one", "[client][bootstrap]") {
  auto l = parse_broker_list("127.0.0.1:9292");
  REQUIRE(l);
  CHECK(*l == std::vector<std::string>{"127.0.0.1:9292"});
}

TEST_CASE("a bootstrap list keeps its order and ignores blanks around entries",
          "[client][bootstrap]") {
  auto l = parse_broker_list("a:1, b:2 ,[::1]:3");
  REQUIRE(l);
  CHECK(*l == std::vector<std::string>{"a:1", "b:2", "[::1]:3"});
}

TEST_CASE("a bootstrap list drops repeated addresses", "[client][bootstrap]") {
  auto l = parse_broker_list("a:1,b:2,a:1");
  REQUIRE(l);
  CHECK(*l == std::vector<std::string>{"a:1", "b:2"});
}

TEST_CASE("a bootstrap list with an empty entry is refused", "[client][bootstrap]") {
  for (const char* bad : {"", "a:1,", ",a:1", "a:1,,b:2", " "}) {
    INFO(bad);
    auto l = parse_broker_list(bad);
    REQUIRE_FALSE(l);
    CHECK(l.err().is(errc::invalid_argument));
  }
}

TEST_CASE("a bootstrap list with a bad entry names it", "[client][bootstrap]") {
  auto l = parse_broker_list("a:1,b:99999");
  REQUIRE_FALSE(l);
  CHECK(l.err().is(errc::invalid_argument));
  CHECK(l.err().message.find("b:99999") != std::string::npos);
  CHECK_FALSE(parse_broker_list("a:1,nohostport"));
}

TEST_CASE("the bootstrap list moves to the next address and wraps around", "[client][bootstrap]") {
  bootstrap_list b({"a:1", "b:2", "c:3"});
  CHECK(b.current() == "a:1");
  b.advance();
  CHECK(b.current() == "b:2");
  b.advance();
  b.advance();
  CHECK(b.current() == "a:1");
  CHECK(b.to_string() == "a:1,b:2,c:3");
}
