#include "actors/errc.h"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

using actormq::errc;

namespace {

struct code_entry {
  int number;
  errc code;
  std::string text;
};

// The generated list (actormq/error_codes.inc), one entry per code but none.
const std::vector<code_entry>& schema_codes() {
  static const std::vector<code_entry> codes = {
#define ACTORMQ_TEST_ENTRY(name, number, snake_name, upper_name, text, retriable) \
  {number, errc::snake_name, text},
      ACTORMQ_ERROR_CODES(ACTORMQ_TEST_ENTRY)
#undef ACTORMQ_TEST_ENTRY
  };
  return codes;
}

}  // namespace

TEST_CASE("every broker error code has the schema's number and text", "[errc]") {
  CHECK(static_cast<int>(errc::none) == 0);
  CHECK(std::string(to_string(errc::none)) == "none");
  REQUIRE(schema_codes().size() == ACTORMQ_ERROR_CODE_MAX);
  int expected = 1;
  for (const auto& c : schema_codes()) {
    INFO("code " << c.number << " (" << c.text << ")");
    CHECK(c.number == expected++);
    CHECK(static_cast<int>(c.code) == c.number);
    CHECK(std::string(to_string(c.code)) == c.text);
  }
}

TEST_CASE("every broker error code has a text of its own", "[errc]") {
  std::set<std::string> texts;
  for (const auto& c : schema_codes()) {
    INFO("code " << c.number);
    CHECK_FALSE(c.text.empty());
    CHECK(texts.insert(c.text).second);
  }
}

TEST_CASE("a caf error made from a code gives back its code and its text", "[errc]") {
  for (const auto& c : schema_codes()) {
    INFO("code " << c.number << " (" << c.text << ")");
    auto plain = actormq::make_error(c.code);
    CHECK(actormq::code_of(plain) == c.code);
    CHECK(actormq::text_of(plain) == c.text);
    auto with_text = actormq::make_error(c.code, "partition t-0");
    CHECK(actormq::code_of(with_text) == c.code);
    CHECK(actormq::text_of(with_text) == "partition t-0");
  }
}

TEST_CASE("the cluster's error codes follow the existing ones", "[errc]") {
  // Wire numbers: never change them once released.
  CHECK(static_cast<int>(errc::queue_full) == 28);
  CHECK(static_cast<int>(errc::not_leader) == 29);
  CHECK(static_cast<int>(errc::not_controller) == 30);
  CHECK(static_cast<int>(errc::not_enough_replicas) == 31);
  CHECK(static_cast<int>(errc::cluster_unavailable) == 32);
  CHECK(static_cast<int>(errc::stale_leader_epoch) == 33);
  CHECK(std::string(to_string(errc::not_leader)) == "not the partition leader");
  CHECK(std::string(to_string(errc::not_enough_replicas)) == "not enough in-sync replicas");
  for (auto e : {errc::not_leader, errc::not_controller, errc::not_enough_replicas,
                 errc::cluster_unavailable, errc::stale_leader_epoch}) {
    INFO(to_string(e));
    CHECK(actormq::is_retriable(e));
  }
}

TEST_CASE("only the codes the schema marks retriable are retriable", "[errc]") {
  CHECK_FALSE(actormq::is_retriable(errc::none));
  CHECK(actormq::is_retriable(errc::busy));
  CHECK(actormq::is_retriable(errc::timeout));
  CHECK(actormq::is_retriable(errc::disk_full));
  CHECK(actormq::is_retriable(errc::shutting_down));
  CHECK_FALSE(actormq::is_retriable(errc::invalid_request));
  CHECK_FALSE(actormq::is_retriable(errc::queue_full));
  CHECK_FALSE(actormq::is_retriable(errc::internal));
}
