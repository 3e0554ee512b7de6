// Integration: the zero-copy fetch stream returns the same bytes as the
// copying path.
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <map>
#include <memory>
#include <optional>

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
  ps[0].setMaxBytes(32u << 20);
  req.setMaxWaitMs(0);
  req.setMinBytes(0);
  auto resp = req.send().wait(rc.ws());
  auto r = resp.getResults()[0];
  auto rec = r.getRecords();
  return {r.getError().getCode(), r.getStreamBytes(),
          std::string(reinterpret_cast<const char*>(rec.begin()), rec.size())};
}

/// Opens rc's session's fetch stream: openStream, connect, send the token.
/// rcvbuf > 0 fixes the socket's receive buffer (no autotuning).
kj::Own<kj::AsyncIoStream> open_stream(test::raw_client& rc, int rcvbuf = 0) {
  auto open = rc.broker().openStreamRequest().send().wait(rc.ws());
  REQUIRE(open.getError().getCode() == rpc::ErrorCode::NONE);
  auto token = open.getToken();
  REQUIRE(token.size() == 16);
  auto addr = rc.io().getNetwork().parseAddress("127.0.0.1", open.getPort()).wait(rc.ws());
  auto stream = addr->connect().wait(rc.ws());
  if (rcvbuf > 0) {
    KJ_IF_MAYBE (fd, stream->getFd()) {
      REQUIRE(::setsockopt(*fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) == 0);
    }
  }
  stream->write(token.begin(), token.size()).wait(rc.ws());
  return stream;
}

kj::Promise<capnp::Response<rpc::Broker::FetchResults>> fetch_streamed(test::raw_client& rc,
                                                                       const std::string& topic) {
  auto req = rc.broker().fetchRequest();
  auto ps = req.initPartitions(1);
  ps[0].setTopic(topic);
  ps[0].setPartition(0);
  ps[0].setOffset(0);
  ps[0].setMaxBytes(32u << 20);
  req.setMaxWaitMs(0);
  req.setUseStream(true);
  return req.send();
}

/// The first stream fetch: the broker binds the stream once it has read the
/// token, so the fetch is retried (bounded) until it is. Each try is bounded
/// too: a reply that never comes fails the test instead of hanging it.
kj::Maybe<capnp::Response<rpc::Broker::FetchResults>> first_stream_fetch(test::raw_client& rc,
                                                                         const std::string& topic) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    bool answered = true;
    auto timed_out = rc.io().getTimer().afterDelay(20 * kj::SECONDS).then([&answered]() {
      answered = false;
      return kj::Maybe<capnp::Response<rpc::Broker::FetchResults>>(nullptr);
    });
    try {
      auto r = fetch_streamed(rc, topic)
                   .then([](capnp::Response<rpc::Broker::FetchResults>&& r) {
                     return kj::Maybe<capnp::Response<rpc::Broker::FetchResults>>(kj::mv(r));
                   })
                   .exclusiveJoin(kj::mv(timed_out))
                   .wait(rc.ws());
      if (!answered) FAIL("the stream fetch was not answered within 20 s");
      return r;
    } catch (const kj::Exception&) {
      rc.io().getTimer().afterDelay(20 * kj::MILLISECONDS).wait(rc.ws());
    }
  }
  return nullptr;
}

void produce_kib_records(const test::broker_process& broker, const std::string& topic, int n) {
  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  pc.batch_bytes = 64 << 10;
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  std::string big(1000, 'x');
  for (int i = 0; i < n; ++i) (*prod)->send(topic, std::to_string(i), big + std::to_string(i));
  REQUIRE((*prod)->flush(60s));
}

/// Reads want.size() bytes off stream (bounded: 20 s) and checks they are
/// want.
void check_stream_reads(kj::AsyncIoStream& stream, test::raw_client& rc, const std::string& want) {
  std::string got(want.size(), '\0');
  bool in_time =
      stream.read(got.data(), got.size(), got.size())
          .then([](size_t) { return true; })
          .exclusiveJoin(rc.io().getTimer().afterDelay(20 * kj::SECONDS).then([] { return false; }))
          .wait(rc.ws());
  REQUIRE(in_time);
  CHECK(got == want);
}

/// A broker with n records of 1 KiB in partition 0 of topic, a raw client,
/// and the partition's bytes as the copying fetch returns them.
struct stored_topic {
  test::broker_process broker;
  std::optional<test::raw_client> rc;
  raw_fetch copied;

  stored_topic(const std::string& topic, int n) {
    test::require_started(broker);
    test::create_topic(broker, topic, 1);
    produce_kib_records(broker, topic, n);
    rc.emplace(broker.address());
    copied = fetch_copy(*rc, topic, 0);
    REQUIRE(copied.code == rpc::ErrorCode::NONE);
  }
};

/// Records "0", "1", ... with keys alike, into a new one-partition topic.
void produce_numbered(const test::broker_process& broker, const std::string& topic, int n) {
  test::create_topic(broker, topic, 1);
  client::producer_config pc;
  pc.connection = test::connection_to(broker);
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  for (int i = 0; i < n; ++i) (*prod)->send(topic, std::to_string(i), std::to_string(i));
  REQUIRE((*prod)->flush(60s));
}

/// A group consumer of topic on the fetch stream, with a 1 s request timeout
/// and many small fetches, and what it read by offset.
struct stream_consumer {
  std::unique_ptr<client::consumer> c;
  std::map<int64_t, std::string> seen;

  stream_consumer(const test::broker_process& broker, const std::string& topic) {
    client::consumer_config cc;
    cc.connection = test::connection_to(broker);
    cc.connection.request_timeout_ms = 1000;
    cc.group_id = topic;
    cc.auto_offset_reset = client::offset_reset::earliest;
    cc.use_fetch_stream = true;
    cc.max_poll_records = 100;
    cc.fetch_max_bytes_per_partition = 4096;  // many fetches
    auto made = client::consumer::create(cc);
    REQUIRE(made);
    c = std::move(*made);
    REQUIRE(c->subscribe({topic}));
  }

  /// One poll; false when it failed (a fetch that timed out, say).
  bool poll_once() {
    auto b = c->poll_batch(200ms);
    if (!b) return false;
    for (const auto& m : *b) seen.emplace(m.offset, std::string(*m.value));
    return true;
  }

  /// Polls until `until` records were read (bounded: 60 s); failed polls
  /// (while the broker is away) are retried.
  void read(size_t until) {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (seen.size() < until && std::chrono::steady_clock::now() < deadline) (void)poll_once();
  }

  /// Every record of 0 .. n-1 read, each with its own value.
  void check_all(size_t n) {
    REQUIRE(seen.size() == n);
    CHECK(seen.begin()->first == 0);
    CHECK(seen.rbegin()->first == static_cast<int64_t>(n) - 1);
    for (const auto& [offset, value] : seen) CHECK(value == std::to_string(offset));
  }
};

}  // namespace

TEST_CASE("fetch stream returns byte identical batches to the copying path", "[app][stream]") {
  stored_topic t("zc", 3000);
  auto& rc = *t.rc;
  const auto& copied = t.copied;
  REQUIRE(copied.records.size() > (1u << 20));

  auto stream = open_stream(rc);
  auto resp = first_stream_fetch(rc, "zc");
  KJ_IF_MAYBE (r, resp) {
    auto res = r->getResults()[0];
    REQUIRE(res.getError().getCode() == rpc::ErrorCode::NONE);
    REQUIRE(res.getStreamBytes() == copied.records.size());
    CHECK(res.getRecords().size() == 0);
    check_stream_reads(*stream, rc, copied.records);
  } else {
    FAIL("fetch with useStream never succeeded");
  }
}

TEST_CASE("a stream fetch bigger than the socket's buffers is answered before its bytes are read",
          "[app][stream]") {
  // The reply carries the sizes the client needs to read the stream, so it
  // must not wait for the bytes to drain: with a 64 KiB receive buffer and
  // 4 MiB of send buffer at most, 10 MB cannot be on the wire unread.
  stored_topic t("zc-big", 10000);
  auto& rc = *t.rc;
  const auto& copied = t.copied;
  REQUIRE(copied.records.size() > (9u << 20));
  auto stream = open_stream(rc, 64 << 10);
  auto resp = first_stream_fetch(rc, "zc-big");
  KJ_IF_MAYBE (r, resp) {
    auto res = r->getResults()[0];
    REQUIRE(res.getError().getCode() == rpc::ErrorCode::NONE);
    REQUIRE(res.getStreamBytes() == copied.records.size());
    check_stream_reads(*stream, rc, copied.records);
    // The stream stays in step: a second fetch streams the same bytes again.
    auto again = fetch_streamed(rc, "zc-big").wait(rc.ws());
    REQUIRE(again.getResults()[0].getStreamBytes() == copied.records.size());
    check_stream_reads(*stream, rc, copied.records);
  } else {
    FAIL("fetch with useStream never succeeded");
  }
}

TEST_CASE("a fetch stream closed halfway through a transfer is replaced and streams whole again",
          "[app][stream]") {
  stored_topic t("zc-cut", 10000);
  auto& rc = *t.rc;
  const auto& copied = t.copied;
  REQUIRE(copied.records.size() > (9u << 20));
  {
    auto stream = open_stream(rc, 64 << 10);
    auto resp = first_stream_fetch(rc, "zc-cut");
    REQUIRE(resp != nullptr);
    std::string part(1 << 20, '\0');
    stream->read(part.data(), part.size(), part.size()).wait(rc.ws());
    CHECK(part == copied.records.substr(0, part.size()));
  }  // closed with most of the transfer still to come
  auto stream = open_stream(rc);
  auto resp = first_stream_fetch(rc, "zc-cut");
  KJ_IF_MAYBE (r, resp) {
    REQUIRE(r->getResults()[0].getStreamBytes() == copied.records.size());
    check_stream_reads(*stream, rc, copied.records);
  } else {
    FAIL("no stream fetch after the first stream closed");
  }
}

TEST_CASE(
    "a client that opens a new stream gets its next fetch whole on it, whatever the old one "
    "still had queued",
    "[app][stream]") {
  stored_topic t("zc-again", 10000);
  auto& rc = *t.rc;
  const auto& copied = t.copied;
  REQUIRE(copied.records.size() > (9u << 20));
  auto old_stream = open_stream(rc, 64 << 10);
  REQUIRE(first_stream_fetch(rc, "zc-again") != nullptr);  // its bytes left unread
  auto stream = open_stream(rc);                           // retires the old one on the broker
  // The fetch after openStream waits for the new stream, never writes to the old.
  auto again = fetch_streamed(rc, "zc-again").wait(rc.ws());
  REQUIRE(again.getResults()[0].getError().getCode() == rpc::ErrorCode::NONE);
  REQUIRE(again.getResults()[0].getStreamBytes() == copied.records.size());
  check_stream_reads(*stream, rc, copied.records);
}

TEST_CASE("a stream consumer whose fetch timed out goes on reading on a new stream",
          "[app][stream]") {
  test::broker_process broker;
  test::require_started(broker);
  produce_numbered(broker, "zc-pause", 2000);
  stream_consumer sc(broker, "zc-pause");
  sc.read(500);
  REQUIRE(sc.seen.size() >= 500);
  REQUIRE(sc.c->fetch_stream_active());
  broker.pause();
  // What was fetched already is still handed out; then a fetch times out.
  bool timed_out = false;
  for (auto until = std::chrono::steady_clock::now() + 20s;
       !timed_out && std::chrono::steady_clock::now() < until;) {
    timed_out = !sc.poll_once();
  }
  broker.resume();
  REQUIRE(timed_out);
  sc.read(2000);
  sc.check_all(2000);
  CHECK(sc.c->fetch_stream_active());  // a new stream, not the copying path
}

TEST_CASE(
    "a stream consumer goes on reading after its broker is SIGKILLed mid-stream and restarted",
    "[app][stream]") {
  test::broker_process broker;
  test::require_started(broker);
  produce_numbered(broker, "zc-kill", 2000);
  stream_consumer sc(broker, "zc-kill");
  sc.read(500);
  REQUIRE(sc.seen.size() >= 500);
  REQUIRE(sc.c->fetch_stream_active());
  REQUIRE(broker.restart(true));  // SIGKILL, then the same data directory and port
  sc.read(2000);
  sc.check_all(2000);
  CHECK(sc.c->fetch_stream_active());  // the new session's stream
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
