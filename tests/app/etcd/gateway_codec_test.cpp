// The gateway's JSON quirks and the stream line splitter, without a server.
// The bodies are what etcd 3.4.23 answered on this machine.

#include <catch2/catch.hpp>

#include "app/etcd/etcd_client.h"
#include "app/etcd/gateway_codec.h"
#include "app/etcd/line_buffer.h"

using namespace actormq::etcd;

TEST_CASE("prefix_end increments the last byte below 0xff and drops trailing 0xff bytes") {
  CHECK(prefix_end("abc") == "abd");
  CHECK(prefix_end(std::string("a\xff", 2)) == "b");
  CHECK(prefix_end(std::string("a\x01\xff\xff", 4)) == std::string("a\x02", 2));
  CHECK(prefix_end(std::string("\xff\xff", 2)) == std::string(1, '\0'));
  CHECK(prefix_end("") == std::string(1, '\0'));
}

TEST_CASE("line_buffer returns a line split across reads only once its newline arrives") {
  line_buffer lb;
  lb.append("{\"a\":1}\n{\"b\"");
  REQUIRE(lb.next_line() == std::optional<std::string>("{\"a\":1}"));
  CHECK_FALSE(lb.next_line());
  lb.append(":2}");
  CHECK_FALSE(lb.next_line());
  lb.append("\r\n\n{\"c\":3}\n");
  CHECK(lb.next_line() == std::optional<std::string>("{\"b\":2}"));
  CHECK(lb.next_line() == std::optional<std::string>("{\"c\":3}"));
  CHECK_FALSE(lb.next_line());
  CHECK(lb.pending() == 0);
}

TEST_CASE("line_buffer reports overflow when no newline comes within the bound") {
  line_buffer lb(8);
  lb.append("0123456789");
  CHECK_FALSE(lb.next_line());
  CHECK(lb.overflowed());
}

TEST_CASE("a range answer decodes base64 keys and string revisions") {
  auto r = gateway::decode_range(
      R"({"header":{"cluster_id":"1","member_id":"2","revision":"7","raft_term":"2"},)"
      R"("kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"6","version":"3",)"
      R"("value":"AP8=","lease":"4111120371889787665"}],"count":"1"})");
  REQUIRE(r);
  CHECK(r->header_revision == revision{7});
  REQUIRE(r->kvs.size() == 1);
  CHECK(r->kvs[0].key == "foo");
  CHECK(r->kvs[0].value == std::string("\0\xff", 2));
  CHECK(r->kvs[0].create_revision == revision{2});
  CHECK(r->kvs[0].mod_revision == revision{6});
  CHECK(r->kvs[0].version == 3);
  CHECK(r->kvs[0].lease == lease_id{4111120371889787665});
}

TEST_CASE("an empty range answer has no kvs field and decodes as empty") {
  auto r = gateway::decode_range(R"({"header":{"revision":"2"}})");
  REQUIRE(r);
  CHECK(r->kvs.empty());
  CHECK(r->count == 0);
}

TEST_CASE("a failed txn has no succeeded field and decodes as not succeeded") {
  auto r = gateway::decode_txn(
      R"({"header":{"revision":"2"},"responses":[{"response_range":{"header":{"revision":"2"},)"
      R"("kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}],)"
      R"("count":"1"}}]})");
  REQUIRE(r);
  CHECK_FALSE(r->succeeded);
  REQUIRE(r->responses.size() == 1);
  CHECK(r->responses[0].what == txn_op::kind::range);
  CHECK(r->responses[0].range.kvs.at(0).value == "bar");
}

TEST_CASE("a keepalive answer without TTL means the lease is gone") {
  auto r =
      gateway::decode_lease_keepalive(R"({"result":{"header":{"revision":"4"},"ID":"12345"}})");
  REQUIRE_FALSE(r);
  CHECK(r.code() == errc::lease_not_found);
  auto ok = gateway::decode_lease_keepalive(
      R"({"result":{"header":{"revision":"4"},"ID":"1","TTL":"5"}})");
  REQUIRE(ok);
  CHECK(ok->ttl == std::chrono::seconds(5));
}

TEST_CASE("a lease grant answer reads the upper-case ID and TTL fields") {
  auto r = gateway::decode_lease_grant(
      R"({"header":{"revision":"2"},"ID":"4111120371889787659","TTL":"5"})");
  REQUIRE(r);
  CHECK(r->id == lease_id{4111120371889787659});
  CHECK(r->ttl == std::chrono::seconds(5));
}

TEST_CASE("HTTP errors map etcd's gRPC codes to errc") {
  CHECK(
      gateway::decode_http_error(
          404,
          R"({"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5})")
          .code == errc::lease_not_found);
  auto c = gateway::decode_http_error(
      400,
      R"({"error":"etcdserver: mvcc: required revision has been compacted","message":"etcdserver: mvcc: required revision has been compacted","code":11})");
  CHECK(c.code == errc::compacted);
  auto f = gateway::decode_http_error(
      400,
      R"({"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3})");
  CHECK(f.code == errc::request_failed);
  CHECK(f.message.find("key is not provided") != std::string::npos);
  CHECK(gateway::decode_http_error(502, "<html>bad gateway</html>").code == errc::request_failed);
}

TEST_CASE("malformed JSON is a protocol_error and not an exception") {
  CHECK(gateway::decode_range("{\"header\":").code() == errc::protocol_error);
  CHECK(gateway::decode_range(R"({"kvs":[{"key":"!!notbase64"}]})").code() == errc::protocol_error);
  CHECK(gateway::decode_range(R"({"header":{"revision":"x12"}})").code() == errc::protocol_error);
  CHECK(gateway::decode_watch_message("[1,2]").code() == errc::protocol_error);
}

TEST_CASE(
    "watch messages: put events have no type while deletes say DELETE and a compacted cancel "
    "carries its revision") {
  auto put = gateway::decode_watch_message(
      R"({"result":{"header":{"revision":"5"},"events":[{"kv":{"key":"Zm9vMQ==","create_revision":"5","mod_revision":"5","version":"1","value":"YQ=="}}]}})");
  REQUIRE(put);
  REQUIRE(put->update.events.size() == 1);
  CHECK(put->update.events[0].what == watch_event::type::put);
  CHECK(put->update.events[0].kv.key == "foo1");
  CHECK_FALSE(put->update.events[0].prev_kv);
  auto del = gateway::decode_watch_message(
      R"({"result":{"header":{"revision":"7"},"events":[{"type":"DELETE","kv":{"key":"Zm9vMQ==","mod_revision":"7"},"prev_kv":{"key":"Zm9vMQ==","value":"Yg=="}}]}})");
  REQUIRE(del);
  CHECK(del->update.events.at(0).what == watch_event::type::erase);
  REQUIRE(del->update.events[0].prev_kv);
  CHECK(del->update.events[0].prev_kv->value == "b");
  auto cancel = gateway::decode_watch_message(
      R"({"result":{"header":{"raft_term":"2"},"canceled":true,"compact_revision":"4"}})");
  REQUIRE(cancel);
  CHECK(cancel->canceled);
  CHECK(cancel->compact_revision == revision{4});
}

TEST_CASE("txn requests name the compare target and its union member") {
  auto body = gateway::encode_txn(
      {compare::absent("k"), compare::value_is("v", compare::op::not_equal, "x")},
      {txn_op::put("k", "v", lease_id{7})}, {txn_op::get("k")});
  CHECK(body ==
        R"({"compare":[{"result":"EQUAL","target":"CREATE","key":"aw==","create_revision":"0"},)"
        R"({"result":"NOT_EQUAL","target":"VALUE","key":"dg==","value":"eA=="}],)"
        R"("success":[{"request_put":{"key":"aw==","value":"dg==","lease":"7"}}],)"
        R"("failure":[{"request_range":{"key":"aw=="}}]})");
}

TEST_CASE("parse_endpoints accepts a comma-separated list and rejects https and bad ports") {
  auto eps = etcd_client::parse_endpoints("http://127.0.0.1:2379, 10.0.0.2:2380/");
  REQUIRE(eps);
  REQUIRE(eps->size() == 2);
  CHECK((*eps)[0].host == "127.0.0.1");
  CHECK((*eps)[0].port == 2379);
  CHECK((*eps)[1].host == "10.0.0.2");
  CHECK((*eps)[1].port == 2380);
  CHECK(etcd_client::parse_endpoints("https://a:1").code() == errc::invalid_argument);
  CHECK(etcd_client::parse_endpoints("http://a:99999").code() == errc::invalid_argument);
  CHECK(etcd_client::parse_endpoints("http://a").code() == errc::invalid_argument);
  CHECK(etcd_client::parse_endpoints("").code() == errc::invalid_argument);
}
