#include "actormq/client/transaction_producer.h"

#include <kj/debug.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "actormq/client/admin.h"
#include "actormq/client/partitioner.h"
#include "connection_impl.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace actormq::client {

namespace {

using detail::error_from_rpc;

struct half_reply {
  error err;
  std::string txn_id;
};

/// How often the loop makes sure the checker is registered on the current
/// session (a reconnect opens a new session that knows no checker).
constexpr auto register_every = std::chrono::milliseconds(500);

std::vector<message> decode_records(const std::string& topic, uint32_t partition,
                                    capnp::Data::Reader bytes) {
  std::vector<message> out;
  std::span<const uint8_t> all(bytes.begin(), bytes.size());
  storage::for_each_batch(all, [&](const storage::batch_header&, std::span<const uint8_t> b) {
    (void)storage::for_each_record(b, [&](const storage::record_view& r) {
      message m;
      m.topic = topic;
      m.partition = partition;
      m.offset = -1;  // not stored in a partition yet
      m.timestamp_ms = r.timestamp();
      if (r.key) m.key = std::string(*r.key);
      if (r.value) m.value = std::string(*r.value);
      for (const auto& h : r.headers) {
        m.headers.push_back(
            {std::string(h.key),
             h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt});
      }
      out.push_back(std::move(m));
    });
  });
  return out;
}

/// The TransactionChecker served to the broker, on the connection's loop.
/// Each check runs the user's checker on a thread of its own and answers
/// through a cross-thread fulfiller, so the loop never waits on user code.
class checker_server final : public rpc::TransactionChecker::Server {
 public:
  explicit checker_server(std::shared_ptr<txn_checker> fn) : fn_(std::move(fn)) {}

 protected:
  kj::Promise<void> check(CheckContext ctx) override {
    auto p = ctx.getParams();
    half_message m;
    m.txn_id = p.getTxnId();
    m.topic = p.getTopic();
    m.partition = p.getPartition();
    m.check_count = p.getCheckCount();
    m.records = decode_records(m.topic, m.partition, p.getBatch());
    if (!fn_ || !*fn_) {
      ctx.getResults().setStatus(rpc::TransactionStatus::UNKNOWN);
      return kj::READY_NOW;
    }
    auto paf = kj::newPromiseAndCrossThreadFulfiller<txn_status>();
    auto owner = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<txn_status>>>(
        kj::mv(paf.fulfiller));
    std::thread([fn = fn_, owner, m = std::move(m)]() mutable {
      txn_status s = txn_status::unknown;
      try {
        s = (*fn)(m);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "actormq client: transaction checker threw: %s\n", e.what());
      }
      (*owner)->fulfill(kj::mv(s));
    }).detach();
    return paf.promise.then([ctx](txn_status s) mutable {
      auto st = s == txn_status::commit     ? rpc::TransactionStatus::COMMIT
                : s == txn_status::rollback ? rpc::TransactionStatus::ROLLBACK
                                            : rpc::TransactionStatus::UNKNOWN;
      ctx.getResults().setStatus(st);
    });
  }

 private:
  std::shared_ptr<txn_checker> fn_;
};

result<void> to_void(result<detail::status_reply> r) {
  if (!r) return r.err();
  if (r->err) return r->err;
  return {};
}

}  // namespace

struct transaction_producer::impl {
  transaction_producer_config cfg;
  std::shared_ptr<connection> conn;
  std::shared_ptr<txn_checker> checker;
  std::atomic<bool> alive{true};
  std::mutex mu;
  std::map<std::string, uint32_t> partition_counts;
  uint32_t next_partition = 0;
  // Loop thread only: the session the checker is registered on.
  uint64_t registered_session = 0;
  bool registering = false;

  detail::connection_impl& loop() { return conn->impl(); }

  /// Loop thread: registers the checker unless this session has it.
  kj::Promise<void> ensure_registered() {
    auto& l = loop();
    if (registering) return kj::READY_NOW;
    registering = true;
    return l.broker()
        .then([this](rpc::Broker::Client c) {
          uint64_t session = loop().session_id();
          if (session == registered_session) return kj::Promise<void>(kj::READY_NOW);
          auto rq = c.registerCheckerRequest();
          rq.setProducerGroup(cfg.producer_group);
          rq.setChecker(kj::heap<checker_server>(checker));
          return rq.send().then(
              [this, session](capnp::Response<rpc::Broker::RegisterCheckerResults>&& r) {
                if (r.getError().getCode() == rpc::ErrorCode::NONE) registered_session = session;
              });
        })
        .then([this]() { registering = false; }, [this](kj::Exception&&) { registering = false; });
  }

  /// Loop thread: re-registers after reconnects until the producer closes.
  kj::Promise<void> keep_registered(std::shared_ptr<impl> self) {
    if (!alive) return kj::READY_NOW;
    return ensure_registered()
        .then([this]() {
          return loop().timer().afterDelay(register_every.count() * kj::MILLISECONDS);
        })
        .then([this, self]() { return keep_registered(self); });
  }

  result<uint32_t> pick_partition(const producer_record& rec) {
    if (rec.partition) return *rec.partition;
    std::lock_guard lk(mu);
    if (!rec.key) return next_partition++;  // modulo below, once the count is known
    auto it = partition_counts.find(rec.topic);
    if (it == partition_counts.end()) {
      admin adm(conn);
      auto t = adm.describe_topic(rec.topic);
      if (!t) return t.err();
      it = partition_counts.emplace(rec.topic, static_cast<uint32_t>(t->partitions.size())).first;
    }
    return partition_for_key(*rec.key, std::max<uint32_t>(it->second, 1));
  }
};

result<std::unique_ptr<transaction_producer>> transaction_producer::create(
    const transaction_producer_config& cfg, txn_checker checker) {
  if (cfg.producer_group.empty()) return error(errc::invalid_argument, "empty producer group");
  auto c = connection::connect(cfg.connection);
  if (!c) return c.err();
  auto i = std::make_shared<impl>();
  i->cfg = cfg;
  i->conn = std::move(*c);
  i->checker = std::make_shared<txn_checker>(std::move(checker));
  // Register once now, so checks can come as soon as create() returns.
  auto r = i->loop().call_sync<detail::status_reply>([i](rpc::Broker::Client& b) {
    auto rq = b.registerCheckerRequest();
    rq.setProducerGroup(i->cfg.producer_group);
    rq.setChecker(kj::heap<checker_server>(i->checker));
    return rq.send().then([i](capnp::Response<rpc::Broker::RegisterCheckerResults>&& r) {
      auto err = error_from_rpc(r.getError());
      if (!err) i->registered_session = i->loop().session_id();
      return detail::status_reply{err};
    });
  });
  if (auto v = to_void(std::move(r)); !v) return v.err();
  i->loop().post([i] { i->loop().add_task(i->keep_registered(i)); });
  return std::unique_ptr<transaction_producer>(new transaction_producer(i));
}

transaction_producer::transaction_producer(std::shared_ptr<impl> i) : impl_(std::move(i)) {}

transaction_producer::~transaction_producer() {
  impl_->alive = false;
  // The connection is this producer's own: close it now (its loop drops the
  // re-registration task) so the broker sees the producer go.
  impl_->loop().stop();
}

const std::shared_ptr<connection>& transaction_producer::conn() const {
  return impl_->conn;
}

result<std::string> transaction_producer::send_half(const producer_record& rec, txn_delay delay) {
  return send_half_batch({rec}, delay);
}

result<std::string> transaction_producer::send_half_batch(const std::vector<producer_record>& recs,
                                                          txn_delay delay) {
  if (recs.empty()) return error(errc::invalid_argument, "no records");
  auto partition = impl_->pick_partition(recs.front());
  if (!partition) return partition.err();
  uint32_t p = *partition;
  if (!recs.front().partition && !recs.front().key) {
    // Round robin needs the partition count too.
    producer_record probe = recs.front();
    probe.key = "";
    auto count = impl_->pick_partition(probe);  // fills the count cache
    (void)count;
    std::lock_guard lk(impl_->mu);
    auto it = impl_->partition_counts.find(recs.front().topic);
    p = p % std::max<uint32_t>(it == impl_->partition_counts.end() ? 1 : it->second, 1);
  }
  storage::record_batch_builder b;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  for (const auto& r : recs) {
    std::vector<storage::record_header> hs;
    for (const auto& h : r.headers) hs.push_back({h.key, h.value});
    auto view = [](const std::optional<std::string>& s) {
      return s ? std::optional<std::string_view>(*s) : std::nullopt;
    };
    b.add(view(r.key), view(r.value), storage::timestamp_ms(r.timestamp_ms.value_or(now)), hs);
  }
  auto bytes = std::make_shared<std::string>(b.build());
  auto group = impl_->cfg.producer_group;
  auto topic = recs.front().topic;
  auto r = impl_->loop().call_sync<half_reply>([=](rpc::Broker::Client& c) {
    auto rq = c.sendHalfRequest();
    rq.setProducerGroup(group);
    rq.setTopic(topic);
    rq.setPartition(p);
    rq.setBatch(
        capnp::Data::Reader(reinterpret_cast<const kj::byte*>(bytes->data()), bytes->size()));
    rq.setDeliverAtMs(delay.deliver_at_ms);
    rq.setDelayLevel(delay.delay_level);
    return rq.send().then([](capnp::Response<rpc::Broker::SendHalfResults>&& res) {
      return half_reply{error_from_rpc(res.getError()), std::string(res.getTxnId().cStr())};
    });
  });
  if (!r) return r.err();
  if (r->err) return r->err;
  return r->txn_id;
}

result<void> transaction_producer::commit(const std::string& txn_id) {
  return transaction_admin(impl_->conn).resolve(txn_id, true);
}

result<void> transaction_producer::rollback(const std::string& txn_id) {
  return transaction_admin(impl_->conn).resolve(txn_id, false);
}

result<void> transaction_admin::resolve(const std::string& txn_id, bool commit) {
  return to_void(conn_->impl().call_sync<detail::status_reply>([=](rpc::Broker::Client& c) {
    auto rq = c.endTransactionRequest();
    rq.setTxnId(txn_id);
    rq.setCommit(commit);
    return rq.send().then([](capnp::Response<rpc::Broker::EndTransactionResults>&& r) {
      return detail::status_reply{error_from_rpc(r.getError())};
    });
  }));
}

result<std::vector<transaction_info>> transaction_admin::list() {
  return conn_->impl().call_sync<std::vector<transaction_info>>([](rpc::Broker::Client& c) {
    return c.listTransactionsRequest().send().then(
        [](capnp::Response<rpc::Broker::ListTransactionsResults>&& r) {
          std::vector<transaction_info> out;
          for (auto t : r.getTransactions()) {
            out.push_back({t.getTxnId(), t.getProducerGroup(), t.getTopic(), t.getPartition(),
                           t.getState(), t.getAgeMs(), t.getChecks(), t.getDeliverAtMs()});
          }
          return out;
        });
  });
}

}  // namespace actormq::client
