#include "actors/inspect/json_writer.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using actormq::json_writer;

TEST_CASE("json_writer separates members and nests objects and arrays", "[inspect]") {
  json_writer w;
  w.begin_object().field("a", 1).field("b", "x").key("c").begin_array();
  w.value(1).value(true).null().begin_object().end_object();
  w.end_array().key("d").begin_object().field("e", -5).end_object().end_object();
  CHECK(w.take() == R"({"a":1,"b":"x","c":[1,true,null,{}],"d":{"e":-5}})");
}

TEST_CASE("json_writer escapes quotes, backslashes and control characters", "[inspect]") {
  json_writer w;
  w.value(std::string("a\"b\\c\nd\x01"));
  CHECK(w.take() == R"("a\"b\\c\nd\u0001")");
}

TEST_CASE("json_writer writes doubles shortest and non-finite ones as null", "[inspect]") {
  json_writer w;
  w.begin_array().value(0.1).value(2.5).value(1e300).value(std::nan(""));
  w.value(std::numeric_limits<double>::infinity()).end_array();
  CHECK(w.take() == "[0.1,2.5,1e+300,null,null]");
}

TEST_CASE("json_writer inserts raw JSON as one value and is empty after take", "[inspect]") {
  json_writer w;
  w.begin_object().key("state").raw(R"({"x":1})").field("y", uint64_t{18446744073709551615u});
  w.end_object();
  CHECK(w.take() == R"({"state":{"x":1},"y":18446744073709551615})");
  w.begin_array().end_array();
  CHECK(w.take() == "[]");
}
