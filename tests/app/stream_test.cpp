// Integration: the zero-copy fetch stream returns the same bytes as the
// copying path.
#include <catch2/catch.hpp>

#include <map>

#include "fixtures.h"
#include "raw_client.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

struct raw_fetch {
  rpc::ErrorCode code = rpc::ErrorCode::NONE;
  uint64_t stream_bytes = 0;
  std::string records;
};

raw_fetch fetch_copy(test::raw_client& rc, const std::string& topic, uint32_t partition) {
  auto req = rc.broker().fetchRequest();
  auto ps = req.initPartitions(1);
  ps[0].setTopic(topic);
  ps[0].setPartition(partition);
  ps[0].setOffset(0);
  ps[0].setMaxBytes(8u << 20);
  req.setMaxWaitMs(0);
  req.setMinBytes(0);
  auto resp = req.send().wait(rc.ws());
  auto r = resp.getResults()[0];
  auto rec = r.getRecords();
  return {r.getError().getCode(), r.getStreamBytes(),
          std::string(reinterpret_cast<const char*>(rec.begin()), rec.size())};
}

}  // namespace

TEST_CASE("fetch stream returns byte identical batches to the copying path", "[app][stream]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "zc", 1);
  {
    client::producer_config pc;
    pc.connection = test::connection_to(broker);
    pc.batch_bytes = 64 << 10;
    auto prod = client::producer::create(pc);
    REQUIRE(prod);
    std::string big(1000, 'x');
    for (int i = 0; i < 3000; ++i) (*prod)->send("zc", std::to_string(i), big + std::to_string(i));
    REQUIRE((*prod)->flush(60s));
  }

  test::raw_client rc(broker.address());
  auto copied = fetch_copy(rc, "zc", 0);
  REQUIRE(copied.code == rpc::ErrorCode::NONE);
  REQUIRE(copied.records.size() > (1u << 20));

  auto open = rc.broker().openStreamRequest().send().wait(rc.ws());
  REQUIRE(open.getError().getCode() == rpc::ErrorCode::NONE);
  auto token = open.getToken();
  REQUIRE(token.size() == 16);
  auto addr = rc.io().getNetwork().parseAddress("127.0.0.1", open.getPort()).wait(rc.ws());
  auto stream = addr->connect().wait(rc.ws());
  stream->write(token.begin(), token.size()).wait(rc.ws());

  // The broker binds the socket once it has read the token.
  kj::Maybe<capnp::Response<rpc::Broker::FetchResults>> resp;
  for (int attempt = 0; attempt < 100 && resp == nullptr; ++attempt) {
    auto req = rc.broker().fetchRequest();
    auto ps = req.initPartitions(1);
    ps[0].setTopic("zc");
    ps[0].setPartition(0);
    ps[0].setOffset(0);
    ps[0].setMaxBytes(8u << 20);
    req.setMaxWaitMs(0);
    req.setUseStream(true);
    try {
      resp = req.send().wait(rc.ws());
    } catch (const kj::Exception&) {
      rc.io().getTimer().afterDelay(20 * kj::MILLISECONDS).wait(rc.ws());
    }
  }
  KJ_IF_MAYBE (r, resp) {
    auto res = r->getResults()[0];
    REQUIRE(res.getError().getCode() == rpc::ErrorCode::NONE);
    REQUIRE(res.getStreamBytes() == copied.records.size());
    CHECK(res.getRecords().size() == 0);
    std::string streamed(res.getStreamBytes(), '\0');
    stream->read(streamed.data(), streamed.size(), streamed.size()).wait(rc.ws());
    CHECK(streamed == copied.records);
  } else {
    FAIL("fetch with useStream never succeeded");
  }
}

TEST_CASE("consumer on the fetch stream sees the same messages as the copying consumer",
          "[app][stream]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "zc2", 2);
  {
    client::producer_config pc;
    pc.connection = test::connection_to(broker);
    auto prod = client::producer::create(pc);
    REQUIRE(prod);
    for (int i = 0; i < 1000; ++i) (*prod)->send("zc2", std::to_string(i), std::to_string(i * i));
    REQUIRE((*prod)->flush(60s));
  }
  auto read_all = [&](bool stream) {
    client::consumer_config cc;
    cc.connection = test::connection_to(broker);
    cc.group_id = stream ? "zc-stream" : "zc-copy";
    cc.auto_offset_reset = client::offset_reset::earliest;
    cc.use_fetch_stream = stream;
    auto c = client::consumer::create(cc);
    REQUIRE(c);
    REQUIRE((*c)->subscribe({"zc2"}));
    auto msgs = test::consume_n(**c, 1000);
    CHECK((*c)->fetch_stream_active() == stream);
    std::map<std::pair<uint32_t, int64_t>, std::string> out;
    for (auto& m : msgs) out[{m.partition, m.offset}] = *m.key + "=" + *m.value;
    return out;
  };
  auto copied = read_all(false);
  auto streamed = read_all(true);
  CHECK(copied.size() == 1000);
  CHECK(streamed == copied);
}
