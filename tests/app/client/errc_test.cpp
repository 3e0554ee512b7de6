// The error codes of the schema, the broker (actors/errc.h) and the client
// (actormq/client/errc.h) agree code by code. The schema is read here by
// capnp's own parser, independently of cmake/error_codes.cmake which
// generates the list both sides are built from.

#include "actormq/client/errc.h"

#include <capnp/schema-parser.h>
#include <kj/filesystem.h>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "actors/errc.h"
#include "app/client/src/connection_impl.h"
#include "schema/actormq.capnp.h"

namespace client = actormq::client;
namespace rpc = actormq::rpc;

namespace {

struct code_entry {
  std::string name;
  int number;
  std::string text;
  bool retriable;
  rpc::ErrorCode wire;
  client::errc client_code;
  actormq::errc broker_code;
};

const std::vector<code_entry>& generated_codes() {
  static const std::vector<code_entry> codes = {
#define ACTORMQ_TEST_ENTRY(name, number, snake_name, upper_name, text, retriable) \
  {#name,                                                                         \
   number,                                                                        \
   text,                                                                          \
   retriable,                                                                     \
   rpc::ErrorCode::upper_name,                                                    \
   client::errc::snake_name,                                                      \
   actormq::errc::snake_name},
      ACTORMQ_ERROR_CODES(ACTORMQ_TEST_ENTRY)
#undef ACTORMQ_TEST_ENTRY
  };
  return codes;
}

std::string first_line(kj::StringPtr doc) {
  std::string s(doc.cStr());
  return s.substr(0, s.find('\n'));
}

}  // namespace

TEST_CASE("the generated error codes are the schema's names numbers texts and retriable markers",
          "[client][errc]") {
  auto fs = kj::newDiskFilesystem();
  const auto& root = fs->getRoot();
  auto schema_dir = root.openSubdir(fs->getCurrentPath().eval(ACTORMQ_SCHEMA_DIR));
  auto capnp_dir = root.openSubdir(fs->getCurrentPath().eval(ACTORMQ_CAPNP_INCLUDE_DIR));
  const kj::ReadableDirectory* import_path[] = {capnp_dir.get()};
  capnp::SchemaParser parser;
  auto file = parser.parseFromDirectory(*schema_dir, kj::Path::parse("actormq.capnp"),
                                        kj::arrayPtr(import_path, 1));
  auto error_code = file.getNested("ErrorCode");
  auto retriable_id = file.getNested("retriable").getProto().getId();
  auto enumerants = error_code.asEnum().getEnumerants();
  auto docs = error_code.getSourceInfo().getMembers();

  REQUIRE(enumerants.size() == generated_codes().size() + 1);
  REQUIRE(docs.size() == enumerants.size());
  CHECK(std::string(enumerants[0].getProto().getName().cStr()) == "none");
  for (const auto& c : generated_codes()) {
    INFO("code " << c.number << " " << c.name);
    REQUIRE(c.number < static_cast<int>(enumerants.size()));
    auto e = enumerants[c.number];
    CHECK(e.getOrdinal() == c.number);
    CHECK(std::string(e.getProto().getName().cStr()) == c.name);
    CHECK(first_line(docs[c.number].getDocComment()) == c.text);
    bool marked = false;
    for (auto a : e.getProto().getAnnotations()) marked = marked || a.getId() == retriable_id;
    CHECK(marked == c.retriable);
  }
}

TEST_CASE("every broker error code is the client code of the same number and text",
          "[client][errc]") {
  for (const auto& c : generated_codes()) {
    INFO("code " << c.number << " " << c.name);
    CHECK(static_cast<int>(c.wire) == c.number);
    CHECK(static_cast<int>(c.client_code) == c.number);
    CHECK(static_cast<int>(c.broker_code) == c.number);
    CHECK(client::make_error_code(c.client_code).message() == c.text);
    CHECK(std::string(actormq::to_string(c.broker_code)) == c.text);
    CHECK(client::is_retriable(c.client_code) == c.retriable);
    CHECK(actormq::is_retriable(c.broker_code) == c.retriable);
    CHECK(client::detail::errc_from_rpc(c.wire) == c.client_code);
  }
  CHECK(client::detail::errc_from_rpc(rpc::ErrorCode::NONE) == client::errc::success);
}

TEST_CASE("an error code unknown to the client is a protocol error", "[client][errc]") {
  auto newer = static_cast<rpc::ErrorCode>(ACTORMQ_ERROR_CODE_MAX + 1);
  CHECK(client::detail::errc_from_rpc(newer) == client::errc::protocol_error);
}

TEST_CASE("the client's own errors that a resend may cure are retriable", "[client][errc]") {
  CHECK(client::is_retriable(client::errc::broker_unreachable));
  CHECK(client::is_retriable(client::errc::disconnected));
  CHECK(client::is_retriable(client::errc::request_timeout));
  CHECK_FALSE(client::is_retriable(client::errc::protocol_error));
  CHECK_FALSE(client::is_retriable(client::errc::invalid_argument));
  CHECK_FALSE(client::is_retriable(client::errc::success));
}

TEST_CASE("the cluster's error codes are retriable for the client", "[client][errc]") {
  CHECK(client::is_retriable(client::errc::not_leader));
  CHECK(client::is_retriable(client::errc::not_controller));
  CHECK(client::is_retriable(client::errc::not_enough_replicas));
  CHECK(client::is_retriable(client::errc::cluster_unavailable));
  CHECK(client::is_retriable(client::errc::stale_leader_epoch));
  CHECK_FALSE(client::is_retriable(client::errc::queue_full));
  CHECK(client::make_error_code(client::errc::cluster_unavailable).message() ==
        "cluster unavailable");
}
