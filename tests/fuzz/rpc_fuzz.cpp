// Fuzzes the RPC layer: the real broker (run_broker, one node, its data in a
// scratch directory) runs on a thread of this process, and each input is a
// script of up to 24 requests sent to it over a real TCP Cap'n Proto
// connection: every Broker method, with fuzzed names, numbers (absurd ones
// included), list counts (up to 20,000 entries), record batches (valid ones
// with fuzzed contents, damaged ones, raw bytes) and a raw-bytes connection
// that speaks no Cap'n Proto at all. What must hold after every input:
//  - no crash, leak or undefined behaviour (ASan+UBSan, in the broker too);
//  - every request that needs no waiting is answered (a value or an error)
//    within 10 s: nothing hangs a client;
//  - every batch acknowledged (acks leader or more) to a topic the script
//    did not delete or recreate reads back at its offsets, value for value;
//  - a fresh client is still served (info, then a produce and fetch).
// Between inputs the topics a script created are deleted again, so the
// broker's state stays small however long the run.

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "actors/logger.h"
#include "app/broker/broker_run.h"
#include "app/broker/logger.h"
#include "schema/actormq.capnp.h"
#include "storage/logger.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"
#include "tests/fuzz/fuzz_check.h"

using namespace actormq;
using actormq::fuzz::fuzz_input;

namespace {

constexpr auto prompt = 10 * kj::SECONDS;                  // a request that needs no waiting
constexpr auto may_wait = 300 * kj::MILLISECONDS;          // joins and heartbeats (rebalances)
const std::vector<std::string> pool = {"f0", "f1", "f2"};  // topics that always exist
constexpr uint32_t pool_partitions = 3;

// The broker, started once per process and stopped at exit.
struct broker_thread {
  std::thread thread;
  uint16_t port = 0;
  std::function<void()> stop;
};

broker_thread& the_broker() {
  static broker_thread* b = [] {
    auto* bt = new broker_thread;
    broker::broker_config cfg;
    cfg.data_dir = fuzz::scratch_dir() / "rpc-broker";
    std::filesystem::remove_all(cfg.data_dir);
    cfg.listen_host = "127.0.0.1";
    cfg.listen_port = 0;
    cfg.stream_port = 0;
    cfg.max_connections = 64;
    cfg.topic_defaults.segment_bytes = 256 << 10;
    cfg.topic_defaults.retention_bytes = 8 << 20;
    cfg.topic_defaults.flush_ms = 0;  // the page cache is enough here
    cfg.min_session_timeout_ms = 100;
    cfg.max_session_timeout_ms = 2000;
    // Refused requests log warnings: only errors and worse are kept.
    storage::logger();
    actor_log();
    broker::broker_log();
    spdlog::set_level(spdlog::level::err);
    std::mutex m;
    std::condition_variable cv;
    broker::broker_run_hooks hooks;
    hooks.stop_on_signals = false;
    hooks.on_listening = [&](uint16_t port, std::function<void()> stop) {
      std::lock_guard lock(m);
      bt->port = port;
      bt->stop = std::move(stop);
      cv.notify_all();
    };
    bt->thread = std::thread([cfg, hooks] {
      int rc = broker::run_broker(cfg, hooks);
      if (rc != 0) {
        std::fprintf(stderr, "rpc fuzz: the broker stopped with %d\n", rc);
        std::abort();
      }
    });
    std::unique_lock lock(m);
    if (!cv.wait_for(lock, std::chrono::seconds(120), [&] { return bt->port != 0; })) {
      std::fprintf(stderr, "rpc fuzz: the broker did not start within 120 s\n");
      std::abort();
    }
    std::atexit([] {
      b->stop();
      b->thread.join();
    });
    return bt;
  }();
  return *b;
}

// This thread's event loop, for the client side.
kj::AsyncIoContext& io() {
  static auto* ctx = new kj::AsyncIoContext(kj::setupAsyncIo());
  return *ctx;
}

enum class outcome { answered, failed, timed_out };

// Waits for a reply at most d; a call the broker failed (an exception) is
// `failed`, which is an answer too.
template <class T>
kj::Maybe<capnp::Response<T>> settle(capnp::RemotePromise<T>&& p, kj::Duration d, outcome& how) {
  using R = kj::Maybe<capnp::Response<T>>;
  kj::Promise<R> answered = p.then([](capnp::Response<T>&& r) -> R { return kj::mv(r); });
  auto timeout = io().provider->getTimer().afterDelay(d).then([]() -> R { return nullptr; });
  try {
    R r = answered.exclusiveJoin(kj::mv(timeout)).wait(io().waitScope);
    how = r == nullptr ? outcome::timed_out : outcome::answered;
    return r;
  } catch (const kj::Exception&) {
    how = outcome::failed;
    return nullptr;
  }
}

// A reply to a request that needs no waiting must come.
template <class T>
kj::Maybe<capnp::Response<T>> answered(capnp::RemotePromise<T>&& p, const char* what) {
  outcome how;
  auto r = settle(kj::mv(p), prompt, how);
  if (how == outcome::timed_out) {
    std::fprintf(stderr, "rpc fuzz: %s was not answered within 10 s\n", what);
    FUZZ_CHECK(how != outcome::timed_out);
  }
  return r;
}

bool ok(rpc::Error::Reader e) {
  return e.getCode() == rpc::ErrorCode::NONE;
}

// One client connection.
struct session {
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyClient> client;
  rpc::Broker::Client broker{nullptr};

  session() {
    auto addr = io().provider->getNetwork()
                    .parseAddress("127.0.0.1", the_broker().port)
                    .wait(io().waitScope);
    stream = addr->connect().wait(io().waitScope);
    client = kj::heap<capnp::TwoPartyClient>(*stream);
    broker = client->bootstrap().castAs<rpc::Broker>();
  }
  ~session() {
    broker = nullptr;
    client = nullptr;
    stream = nullptr;
  }
};

// Answers check-backs "unknown": the broker asks again later.
class checker final : public rpc::TransactionChecker::Server {
 protected:
  kj::Promise<void> check(CheckContext ctx) override {
    ctx.getResults().setStatus(rpc::TransactionStatus::UNKNOWN);
    return kj::READY_NOW;
  }
};

struct acked {
  std::string topic;
  uint32_t partition;
  int64_t base;
  std::string value;  // the first record's
};

// The state of one script.
struct script {
  fuzz_input& in;
  session s;
  std::set<std::string> touched;  // deleted, created or grown here: no read-back check
  std::vector<acked> acks;
  std::vector<std::string> txn_ids;
  std::vector<std::string> members;
  int64_t producer_id = -1;
  int16_t epoch = -1;

  explicit script(fuzz_input& i) : in(i) {}

  std::string text() {
    switch (in.byte() % 8) {
      case 0:
        return std::string(in.sized());  // anything, invalid UTF-8 and NULs included
      case 1:
        return std::string(size_t{in.number<uint16_t>()} + 1, 'x');  // past every name limit
      default:
        return {};
    }
  }
  std::string topic() {
    auto b = in.byte();
    if (b < 200) return pool[b % pool.size()];
    if (b < 230) return "g" + std::to_string(b % 4);  // created by the script
    auto t = text();
    return t;
  }
  uint32_t partition() {
    auto b = in.byte();
    if (b < 220) return b % (pool_partitions + 1);
    return in.number<uint32_t>();
  }
  std::string group() { return in.byte() < 200 ? "grp" + std::to_string(in.byte() % 3) : text(); }
  std::string member() {
    if (!members.empty() && in.byte() < 160) return members[in.byte() % members.size()];
    return text();
  }
  int32_t generation() {
    return in.byte() < 128 ? static_cast<int32_t>(in.byte() % 4) : in.number<int32_t>();
  }
  int64_t offset() {
    auto b = in.byte();
    if (b < 200) return b % 64;
    return in.number<int64_t>();
  }
  rpc::Acks acks_level() {
    switch (in.byte() % 4) {
      case 0:
        return rpc::Acks::NONE;
      case 1:
        return rpc::Acks::LEADER;
      case 2:
        return rpc::Acks::FSYNC;
      default:
        return rpc::Acks::ALL;
    }
  }

  // A record batch: valid with fuzzed records, valid then damaged, or raw.
  std::string batch(std::string* first_value) {
    auto kind = in.byte() % 8;
    if (kind == 7) return std::string(in.sized());
    storage::record_batch_builder b;
    if (in.byte() < 40 && producer_id >= 0) {
      b.set_producer(producer_id, epoch, in.number<int32_t>() & 0xff);
    }
    if (in.byte() < 20) b.set_attributes(in.number<uint16_t>());
    const int n = 1 + in.byte() % 8;
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    for (int i = 0; i < n; ++i) {
      std::string key(in.sized()), value(in.sized());
      if (i == 0 && first_value) *first_value = value;
      std::vector<storage::record_header> headers;
      if (in.byte() < 30) headers.push_back({std::string(in.sized()), std::string(in.sized())});
      b.add(key, value, storage::timestamp_ms(in.byte() < 240 ? now : in.number<int64_t>()),
            headers);
    }
    auto bytes = b.build();
    if (kind == 6 && !bytes.empty()) {  // one byte changed: the CRC or a field no longer fits
      bytes[in.number<uint32_t>() % bytes.size()] ^= static_cast<char>(1 + in.byte() % 255);
    }
    if (kind == 5) bytes.resize(in.number<uint32_t>() % (bytes.size() + 1));  // torn
    return bytes;
  }

  void create_topic(const std::string& name) {
    auto req = s.broker.createTopicRequest();
    req.setName(name);
    auto c = req.initConfig();
    auto b = in.byte();
    c.setPartitions(b < 200 ? b % 9 : in.number<uint32_t>());
    if (in.byte() < 60) c.setRetentionMs(in.number<int64_t>());
    if (in.byte() < 60) c.setRetentionBytes(in.number<int64_t>());
    if (in.byte() < 60) c.setSegmentBytes(in.number<int64_t>());
    if (in.byte() < 60) c.setSegmentMs(in.number<int64_t>());
    if (in.byte() < 60) c.setFlushMessages(in.number<int64_t>());
    if (in.byte() < 60) c.setFlushMs(in.number<int64_t>());
    if (in.byte() < 60) c.setMaxMessages(in.number<int64_t>());
    if (in.byte() < 60) c.setFullPolicy(static_cast<rpc::FullPolicy>(in.byte() % 4));
    if (in.byte() < 60) c.setTtlMs(in.number<int64_t>());
    if (in.byte() < 60) c.setReplicationFactor(in.number<uint32_t>());
    touched.insert(name);
    answered(req.send(), "createTopic");
  }

  void produce() {
    auto req = s.broker.produceRequest();
    auto t = topic();
    auto p = partition();
    auto level = acks_level();
    std::string value;
    auto bytes = batch(&value);
    req.setTopic(t);
    req.setPartition(p);
    req.setAcks(level);
    req.setBatch(kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
    const bool delayed = in.byte() < 30;
    if (delayed) {
      if (in.byte() & 1) {
        req.setDelayLevel(in.byte());
      } else {
        req.setDeliverAtMs(in.number<int64_t>());
      }
    }
    auto r = answered(req.send(), "produce");
    KJ_IF_MAYBE (res, r) {
      if (ok(res->getError()) && !res->getScheduled() && !res->getDuplicate() &&
          level != rpc::Acks::NONE) {
        FUZZ_CHECK(res->getBaseOffset() >= 0 && res->getLastOffset() >= res->getBaseOffset());
        acks.push_back({t, p, res->getBaseOffset(), value});
      }
    }
  }

  void fetch() {
    auto req = s.broker.fetchRequest();
    auto b = in.byte();
    unsigned n = b < 250 ? b % 5 : 20000;  // a count past the broker's limit
    auto list = req.initPartitions(n);
    for (unsigned i = 0; i < n; ++i) {
      list[i].setTopic(i < 8 ? topic() : pool[i % pool.size()]);
      list[i].setPartition(i < 8 ? partition() : i % pool_partitions);
      list[i].setOffset(i < 8 ? offset() : 0);
      list[i].setMaxBytes(i < 8 && in.byte() < 40 ? in.number<uint32_t>() : 1 << 16);
    }
    req.setMaxWaitMs(in.byte() < 200 ? in.byte() : in.number<uint32_t>());
    req.setMinBytes(in.byte() < 200 ? 0 : in.number<uint32_t>());
    req.setUseStream(in.byte() < 20);  // this session opened no stream: refused
    outcome how;
    settle(req.send(), 1500 * kj::MILLISECONDS, how);  // long polls are cancelled
  }

  void join() {
    auto req = s.broker.joinGroupRequest();
    req.setGroup(group());
    auto m = in.byte() < 100 ? std::string() : member();
    req.setMemberId(m);
    req.setClientId(text());
    unsigned n = in.byte() % 4;
    auto topics = req.initTopics(n);
    for (unsigned i = 0; i < n; ++i) topics.set(i, topic());
    req.setSessionTimeoutMs(in.byte() < 200 ? 100 + in.byte() * 8 : in.number<uint32_t>());
    req.setStrategy(in.byte() < 200 ? "range" : text());
    outcome how;
    auto r = settle(req.send(), may_wait, how);
    KJ_IF_MAYBE (res, r) {
      auto id = res->getResult().getMemberId();
      if (id.size() > 0 && members.size() < 8) members.push_back(id);
    }
  }

  void commit() {
    auto req = s.broker.commitOffsetsRequest();
    req.setGroup(group());
    req.setMemberId(member());
    req.setGeneration(generation());
    auto b = in.byte();
    unsigned n = b < 250 ? b % 4 : 20000;
    auto list = req.initOffsets(n);
    for (unsigned i = 0; i < n; ++i) {
      list[i].setTopic(i < 8 ? topic() : pool[0]);
      list[i].setPartition(i < 8 ? partition() : 0);
      list[i].setOffset(i < 8 ? offset() : static_cast<int64_t>(i));
      if (i < 8 && in.byte() < 30) list[i].setMetadata(text());
    }
    answered(req.send(), "commitOffsets");
  }

  void nack() {
    auto req = s.broker.nackRequest();
    req.setGroup(group());
    req.setMemberId(member());
    req.setGeneration(generation());
    auto b = in.byte();
    unsigned n = b < 250 ? b % 4 : 20000;
    auto list = req.initRecords(n);
    for (unsigned i = 0; i < n; ++i) {
      list[i].setTopic(i < 8 ? topic() : pool[0]);
      list[i].setPartition(i < 8 ? partition() : 0);
      list[i].setOffset(i < 8 ? offset() : static_cast<int64_t>(i));
      if (i >= 8) continue;
      list[i].setReject(in.byte() & 1);
      if (in.byte() < 60) list[i].setError(text());
      if (in.byte() < 60) list[i].setReason(in.byte() < 128 ? "ttl_expired" : text());
      if (in.byte() < 60) list[i].setDeliveries(in.number<uint32_t>());
    }
    answered(req.send(), "nack");
  }

  void send_half() {
    auto req = s.broker.sendHalfRequest();
    req.setProducerGroup(group());
    req.setTopic(topic());
    req.setPartition(partition());
    auto bytes = batch(nullptr);
    req.setBatch(kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
    if (in.byte() < 30) req.setDelayLevel(in.byte());
    if (in.byte() < 30) req.setDeliverAtMs(in.number<int64_t>());
    if (in.byte() < 100) req.setRequestId(text());
    auto r = answered(req.send(), "sendHalf");
    KJ_IF_MAYBE (res, r) {
      if (ok(res->getError()) && txn_ids.size() < 8) txn_ids.push_back(res->getTxnId());
    }
  }

  void end_txn() {
    auto req = s.broker.endTransactionRequest();
    if (!txn_ids.empty() && in.byte() < 200) {
      req.setTxnId(txn_ids[in.byte() % txn_ids.size()]);
    } else {
      req.setTxnId(text());
    }
    req.setCommit(in.byte() & 1);
    answered(req.send(), "endTransaction");
  }

  // Bytes on a connection of their own: Cap'n Proto framing gone wrong
  // (absurd segment counts and sizes), or no framing at all.
  void raw_connection() {
    auto bytes = std::string(in.sized());
    auto addr = io().provider->getNetwork()
                    .parseAddress("127.0.0.1", the_broker().port)
                    .wait(io().waitScope);
    auto conn = addr->connect().wait(io().waitScope);
    auto& timer = io().provider->getTimer();
    try {
      timer.timeoutAfter(prompt, conn->write(bytes.data(), bytes.size())).wait(io().waitScope);
      conn->shutdownWrite();
      auto buf = kj::heapArray<kj::byte>(1 << 16);
      // The broker answers, waits for more or hangs up; a read that goes on
      // is just cut short.
      timer.timeoutAfter(200 * kj::MILLISECONDS, conn->tryRead(buf.begin(), 1, buf.size()))
          .wait(io().waitScope);
    } catch (const kj::Exception&) {
    }
  }

  void step() {
    auto& b = s.broker;
    switch (in.byte() % 28) {
      case 0:
        answered(b.infoRequest().send(), "info");
        break;
      case 1:
        create_topic(topic());
        break;
      case 2: {
        auto req = b.deleteTopicRequest();
        auto t = topic();
        req.setName(t);
        touched.insert(t);
        answered(req.send(), "deleteTopic");
        break;
      }
      case 3:
        answered(b.listTopicsRequest().send(), "listTopics");
        break;
      case 4: {
        auto req = b.describeTopicRequest();
        req.setName(topic());
        answered(req.send(), "describeTopic");
        break;
      }
      case 5: {
        auto req = b.addPartitionsRequest();
        auto t = topic();
        req.setName(t);
        auto n = in.byte();
        req.setTotalPartitions(n < 200 ? n % 12 : in.number<uint32_t>());
        touched.insert(t);
        answered(req.send(), "addPartitions");
        break;
      }
      case 6:
      case 7:
      case 8:
        produce();
        break;
      case 9:
        fetch();
        break;
      case 10: {
        auto r = answered(b.initProducerRequest().send(), "initProducer");
        KJ_IF_MAYBE (res, r) {
          if (ok(res->getError())) {
            producer_id = res->getProducerId();
            epoch = res->getEpoch();
          }
        }
        break;
      }
      case 11: {
        auto req = b.listOffsetsRequest();
        req.setTopic(topic());
        req.setPartition(partition());
        auto x = in.byte();
        req.setTimestampMs(x < 100 ? -1 : x < 200 ? -2 : in.number<int64_t>());
        answered(req.send(), "listOffsets");
        break;
      }
      case 12:
      case 13:
        join();
        break;
      case 14: {
        auto req = b.heartbeatRequest();
        req.setGroup(group());
        req.setMemberId(member());
        req.setGeneration(generation());
        outcome how;
        settle(req.send(), may_wait, how);
        break;
      }
      case 15: {
        auto req = b.leaveGroupRequest();
        req.setGroup(group());
        req.setMemberId(member());
        answered(req.send(), "leaveGroup");
        break;
      }
      case 16:
        commit();
        break;
      case 17: {
        auto req = b.fetchOffsetsRequest();
        req.setGroup(group());
        unsigned n = in.byte() % 4;
        auto list = req.initPartitions(n);
        for (unsigned i = 0; i < n; ++i) {
          list[i].setTopic(topic());
          list[i].setPartition(partition());
        }
        answered(req.send(), "fetchOffsets");
        break;
      }
      case 18: {
        auto req = b.registerCheckerRequest();
        req.setProducerGroup(group());
        req.setChecker(kj::heap<checker>());
        answered(req.send(), "registerChecker");
        break;
      }
      case 19:
        send_half();
        break;
      case 20:
        end_txn();
        break;
      case 21:
        nack();
        break;
      case 22: {
        auto req = b.redriveRequest();
        auto t = in.byte() < 200 ? topic() + ".dlq" : text();
        req.setDlqTopic(t);
        req.setReason(in.byte() < 200 ? std::string() : text());
        req.setFromOffset(offset());
        req.setToOffset(in.byte() < 128 ? -1 : offset());
        answered(req.send(), "redrive");
        break;
      }
      case 23: {
        auto req = b.redriveCursorRequest();
        req.setDlqTopic(topic() + ".dlq");
        answered(req.send(), "redriveCursor");
        answered(b.deadLetterStatsRequest().send(), "deadLetterStats");
        break;
      }
      case 24: {
        answered(b.listTransactionsRequest().send(), "listTransactions");
        answered(b.listGroupsRequest().send(), "listGroups");
        auto req = b.describeGroupRequest();
        auto g = group();
        req.setGroup(g);
        answered(req.send(), "describeGroup");
        auto del = b.deleteGroupRequest();
        del.setGroup(g);
        answered(del.send(), "deleteGroup");
        // Quotas high enough (>= 100 kB/s, >= 1000 messages/s; 0 clears)
        // that the script's produces are not held for seconds, or a bad
        // negative one.
        auto q = b.setTopicQuotaRequest();
        q.setName(topic());
        q.setProducerByteRate(in.byte() < 240 ? in.byte() * 100000ll : -2);
        q.setProducerMessageRate(in.byte() < 240 ? in.byte() * 1000ll : -1);
        answered(q.send(), "setTopicQuota");
        break;
      }
      case 25: {
        auto req = b.metadataRequest();
        unsigned n = in.byte() % 3;
        auto list = req.initTopics(n);
        for (unsigned i = 0; i < n; ++i) list.set(i, topic());
        answered(req.send(), "metadata");
        auto fc = b.findCoordinatorRequest();
        fc.setGroup(group());
        fc.setKind(static_cast<rpc::CoordinatorKind>(in.byte() % 3));
        if (in.byte() < 60) fc.setTxnId(text());
        answered(fc.send(), "findCoordinator");
        break;
      }
      case 26: {
        auto req = b.inspectRequest();
        req.setCluster(in.byte() & 1);
        answered(req.send(), "inspect");
        answered(b.openStreamRequest().send(), "openStream");
        break;
      }
      case 27:
        raw_connection();
        break;
    }
  }

  // Every acknowledged batch reads back at its offset, first value included.
  void check_acked() {
    for (const auto& a : acks) {
      if (touched.count(a.topic)) continue;
      auto req = s.broker.fetchRequest();
      auto p = req.initPartitions(1)[0];
      p.setTopic(a.topic);
      p.setPartition(a.partition);
      p.setOffset(a.base);
      p.setMaxBytes(1 << 20);
      req.setMaxWaitMs(0);
      auto r = answered(req.send(), "fetch (read-back)");
      KJ_IF_MAYBE (res, r) {
        FUZZ_CHECK(res->getResults().size() == 1);
        auto fr = res->getResults()[0];
        FUZZ_CHECK(ok(fr.getError()));
        auto bytes = fr.getRecords();
        std::span<const uint8_t> span(bytes.begin(), bytes.size());
        bool found = false;
        storage::for_each_batch(
            span, [&](const storage::batch_header& h, std::span<const uint8_t> batch) {
              if (found || h.base_offset() != a.base) return;
              found = true;
              bool first = true;
              auto st = storage::for_each_record(batch, [&](const storage::record_view& rv) {
                if (!first) return;
                first = false;
                FUZZ_CHECK(rv.value.has_value() && *rv.value == a.value);
              });
              FUZZ_CHECK(st.has_value());
            });
        if (!found) {
          std::fprintf(stderr, "rpc fuzz: acked batch %s/%u@%lld not read back\n", a.topic.c_str(),
                       a.partition, static_cast<long long>(a.base));
        }
        FUZZ_CHECK(found);
      } else {
        FUZZ_CHECK(false);  // a fetch of an acknowledged batch failed
      }
    }
  }
};

// The pool topics exist (a script may have deleted them); every other topic
// a script created is deleted again.
void reset_topics(session& s) {
  auto listed = answered(s.broker.listTopicsRequest().send(), "listTopics (reset)");
  std::set<std::string> have;
  KJ_IF_MAYBE (res, listed) {
    for (auto t : res->getTopics()) have.insert(std::string(t.getName().cStr()));
  }
  for (const auto& t : have) {
    if (t.rfind("__", 0) == 0 || std::find(pool.begin(), pool.end(), t) != pool.end()) continue;
    auto req = s.broker.deleteTopicRequest();
    req.setName(t);
    answered(req.send(), "deleteTopic (reset)");
  }
  for (const auto& t : pool) {
    if (have.count(t)) continue;
    // A topic just deleted is busy until its partitions have closed.
    kj::Maybe<capnp::Response<rpc::Broker::CreateTopicResults>> r;
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto req = s.broker.createTopicRequest();
      req.setName(t);
      req.initConfig().setPartitions(pool_partitions);
      r = answered(req.send(), "createTopic (reset)");
      KJ_IF_MAYBE (res, r) {
        if (res->getError().getCode() != rpc::ErrorCode::BUSY) break;
      }
      io().provider->getTimer().afterDelay(100 * kj::MILLISECONDS).wait(io().waitScope);
    }
    KJ_IF_MAYBE (res, r) {
      if (!ok(res->getError())) {
        std::fprintf(stderr, "rpc fuzz: creating %s again failed: %s\n", t.c_str(),
                     res->getError().getMessage().cStr());
      }
      FUZZ_CHECK(ok(res->getError()));
    }
  }
}

// A new client is served: info, then a produce that reads back.
void check_alive() {
  session s;
  auto info = answered(s.broker.infoRequest().send(), "info (liveness)");
  FUZZ_CHECK(info != nullptr);
  reset_topics(s);
  storage::record_batch_builder b;
  b.add(std::string_view("k"), std::string_view("alive"), storage::timestamp_ms(1));
  auto bytes = b.build();
  auto req = s.broker.produceRequest();
  req.setTopic(pool[0]);
  req.setPartition(0);
  req.setAcks(rpc::Acks::LEADER);
  req.setBatch(kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
  auto r = answered(req.send(), "produce (liveness)");
  KJ_IF_MAYBE (res, r) {
    FUZZ_CHECK(ok(res->getError()));
  } else {
    FUZZ_CHECK(false);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  the_broker();
  static bool first = true;
  if (first) {
    first = false;
    check_alive();  // creates the pool topics
  }
  fuzz_input in(data, size);
  {
    script sc(in);
    for (int i = 0; i < 24 && !in.empty(); ++i) sc.step();
    sc.check_acked();
  }
  check_alive();
  return 0;
}
