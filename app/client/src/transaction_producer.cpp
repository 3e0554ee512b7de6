#include "actormq/client/transaction_producer.h"

#include <kj/debug.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "actormq/client/admin.h"
#include "actormq/client/partitioner.h"
#include "cluster_router.h"
#include "connection_impl.h"
#include "message_id_source.h"
#include "record_decoder.h"
#include "storage/hex.h"
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
/// coordinator's session (a reconnect opens a new session that knows no
/// checker; a failover moves the coordinator).
constexpr auto register_every = std::chrono::milliseconds(500);
/// Every this many rounds the coordinator is looked up afresh, so a move
/// is noticed even by a producer that sends nothing.
constexpr int refind_every = 4;
/// How long a call follows a coordinator that moved or is being elected (a
/// failover: the lease TTL, then an in-sync set that shrinks past the dead
/// broker within replica_lag_ms).
constexpr auto route_window = std::chrono::seconds(30);

/// Calls make on the transaction coordinator of group (or of transaction
/// id), following moves: notCoordinator and clusterUnavailable are retried
/// with a backoff for up to route_window, and so is every other retriable
/// error (a lost connection, a timeout while the in-sync set shrinks) when
/// resend_on_io is set: for calls that may be repeated (a decision, a half
/// with its request id, a registration). err_of reads the error carried in a
/// reply.
template <class T, class Make, class ErrOf>
result<T> on_txn_coordinator(detail::connection_impl& c, const std::string& group,
                             const std::string& id, bool resend_on_io, Make make, ErrOf err_of) {
  using detail::is_connection_error;
  using detail::is_not_coordinator;
  const auto until = std::chrono::steady_clock::now() + route_window;
  auto backoff = std::chrono::milliseconds(50);
  for (;;) {
    error e;
    auto at = c.router().txn_coordinator(group, id);
    if (!at) {
      e = at.err();
    } else {
      auto r = c.call_sync_at<T>(*at, make);
      if (r && !err_of(*r)) return r;
      e = r ? err_of(*r) : r.err();
      if (is_not_coordinator(e) || is_connection_error(e)) {
        c.router().forget_txn_coordinator(group, id);
      }
      bool again = is_not_coordinator(e) || e.is(errc::cluster_unavailable) ||
                   (resend_on_io && is_retriable(e.value()));
      if (!again || std::chrono::steady_clock::now() >= until) return r;
    }
    bool again = e.is(errc::cluster_unavailable) || is_not_coordinator(e) ||
                 is_connection_error(e) || (resend_on_io && is_retriable(e.value()));
    if (!again || std::chrono::steady_clock::now() >= until) return e;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
  }
}

std::vector<message> decode_records(const std::string& topic, uint32_t partition,
                                    capnp::Data::Reader bytes) {
  std::vector<message> out;
  std::span<const uint8_t> all(bytes.begin(), bytes.size());
  storage::for_each_batch(all, [&](const storage::batch_header&, std::span<const uint8_t> b) {
    (void)storage::for_each_record(b, [&](const storage::record_view& r) {
      auto m = detail::to_message(r, topic, partition);
      m.offset = -1;  // not stored in a partition yet
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
  std::mt19937_64 rng;  ///< request ids (under mu)
  detail::message_id_source ids;
  bool rng_seeded = false;
  // Loop thread only: the session the checker is registered on.
  uint64_t registered_session = 0;
  bool registering = false;
  int rounds = 0;

  detail::connection_impl& loop() { return conn->impl(); }

  /// Loop thread: registers the checker at the group's transaction
  /// coordinator unless that session has it.
  kj::Promise<void> ensure_registered() {
    auto& l = loop();
    if (registering) return kj::READY_NOW;
    registering = true;
    if (++rounds % refind_every == 0) l.router().forget_txn_coordinator(cfg.producer_group);
    // The lookup blocks (findCoordinator on the bootstrap session): never on
    // the loop thread; a helper thread resolves it and posts back.
    kj::Promise<std::string> where = nullptr;
    if (auto cached = l.router().cached_txn_coordinator(cfg.producer_group)) {
      where = kj::Promise<std::string>(std::string(*cached));
    } else {
      auto paf = kj::newPromiseAndCrossThreadFulfiller<std::string>();
      auto owner = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<std::string>>>(
          kj::mv(paf.fulfiller));
      std::thread([conn = conn, group = cfg.producer_group, owner]() {
        auto at = conn->impl().router().txn_coordinator(group);
        (*owner)->fulfill(at ? std::string(*at) : std::string());
      }).detach();
      where = kj::mv(paf.promise);
    }
    return where
        .then([this](std::string address) -> kj::Promise<void> {
          if (address.empty()) return kj::READY_NOW;  // none yet: next round
          return loop().broker_at(address).then([this, address](rpc::Broker::Client c) {
            uint64_t session = loop().session_id_at(address);
            if (session != 0 && session == registered_session) {
              return kj::Promise<void>(kj::READY_NOW);
            }
            auto rq = c.registerCheckerRequest();
            rq.setProducerGroup(cfg.producer_group);
            rq.setChecker(kj::heap<checker_server>(checker));
            return rq.send().then(
                [this, address](capnp::Response<rpc::Broker::RegisterCheckerResults>&& r) {
                  auto err = error_from_rpc(r.getError());
                  if (!err) {
                    registered_session = loop().session_id_at(address);
                  } else if (detail::is_not_coordinator(err)) {
                    loop().router().forget_txn_coordinator(cfg.producer_group);
                  }
                });
          });
        })
        .then([this]() { registering = false; },
              [this](kj::Exception&&) {
                registering = false;
                loop().router().forget_txn_coordinator(cfg.producer_group);
              });
  }

  /// Loop thread: re-registers after reconnects and moves until the
  /// producer closes.
  kj::Promise<void> keep_registered(std::shared_ptr<impl> self) {
    if (!alive) return kj::READY_NOW;
    return ensure_registered()
        .then([this]() {
          return loop().timer().afterDelay(register_every.count() * kj::MILLISECONDS);
        })
        .then([this, self]() { return keep_registered(self); });
  }

  /// A fresh id for one send_half: 128 random bits, hex (unique across the
  /// group's producers without coordination).
  std::string next_request_id() {
    std::lock_guard lk(mu);
    if (!rng_seeded) {
      std::random_device rd;
      rng.seed((uint64_t{rd()} << 32) ^ rd() ^
               static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
      rng_seeded = true;
    }
    const uint64_t bits[2] = {rng(), rng()};  // 128 random bits, 32 hex digits
    return storage::to_hex(std::string_view(reinterpret_cast<const char*>(bits), sizeof bits));
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
  std::string at;
  auto r = on_txn_coordinator<detail::status_reply>(
      i->loop(), cfg.producer_group, {}, true,
      [i](rpc::Broker::Client& b) {
        auto rq = b.registerCheckerRequest();
        rq.setProducerGroup(i->cfg.producer_group);
        rq.setChecker(kj::heap<checker_server>(i->checker));
        return rq.send().then([](capnp::Response<rpc::Broker::RegisterCheckerResults>&& r) {
          return detail::status_reply{error_from_rpc(r.getError())};
        });
      },
      [](const detail::status_reply& s) { return s.err; });
  if (auto v = to_void(std::move(r)); !v) return v.err();
  if (auto addr = i->loop().router().txn_coordinator(cfg.producer_group)) {
    auto session = i->loop().session_id_at(*addr);
    i->loop().post([i, session] { i->registered_session = session; });
  }
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
    auto id = detail::record_message_id(r, impl_->ids);
    std::vector<storage::record_header> hs;
    for (const auto& h : r.headers) {
      if (h.key != message_id::header_key) hs.push_back({h.key, h.value});
    }
    auto view = [](const std::optional<std::string>& s) {
      return s ? std::optional<std::string_view>(*s) : std::nullopt;
    };
    b.add(view(r.key), view(r.value), storage::timestamp_ms(r.timestamp_ms.value_or(now)),
          storage::record_header_view{message_id::header_key, id.bytes()}, hs);
  }
  auto bytes = std::make_shared<std::string>(b.build());
  auto group = impl_->cfg.producer_group;
  auto topic = recs.front().topic;
  // Resent after a lost connection too: the request id makes the broker
  // answer a resend with the transaction the first call made, if it did.
  auto request_id = impl_->next_request_id();
  auto make = [=](rpc::Broker::Client& c) {
    auto rq = c.sendHalfRequest();
    rq.setRequestId(request_id);
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
  };
  auto r = on_txn_coordinator<half_reply>(impl_->loop(), group, {}, true, make,
                                          [](const half_reply& h) { return h.err; });
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
  // A decision may be repeated (the same one is a no-op): resent after a
  // lost connection too.
  return to_void(on_txn_coordinator<detail::status_reply>(
      conn_->impl(), {}, txn_id, true,
      [=](rpc::Broker::Client& c) {
        auto rq = c.endTransactionRequest();
        rq.setTxnId(txn_id);
        rq.setCommit(commit);
        return rq.send().then([](capnp::Response<rpc::Broker::EndTransactionResults>&& r) {
          return detail::status_reply{error_from_rpc(r.getError())};
        });
      },
      [](const detail::status_reply& s) { return s.err; }));
}

result<std::vector<transaction_info>> transaction_admin::list() {
  auto make = [](rpc::Broker::Client& c) {
    return c.listTransactionsRequest().send().then(
        [](capnp::Response<rpc::Broker::ListTransactionsResults>&& r) {
          std::vector<transaction_info> out;
          for (auto t : r.getTransactions()) {
            out.push_back({t.getTxnId(), t.getProducerGroup(), t.getTopic(), t.getPartition(),
                           t.getState(), t.getAgeMs(), t.getChecks(), t.getDeliverAtMs()});
          }
          return out;
        });
  };
  // Each broker lists the transactions of the partitions it leads: in a
  // cluster ask every live one (one that does not answer fails the call
  // rather than giving a partial list).
  auto& c = conn_->impl();
  auto md = c.router().fetch_metadata({"__transaction_state"});
  if (!md || md->cluster_id.empty() || md->brokers.size() <= 1) {
    return c.call_sync<std::vector<transaction_info>>(make);
  }
  std::map<uint64_t, transaction_info> all;
  for (const auto& b : md->brokers) {
    if (!b.alive) continue;
    auto r = c.call_sync_at<std::vector<transaction_info>>(b.address, make);
    if (!r) return r.err();
    for (auto& t : *r) all[std::strtoull(t.txn_id.c_str(), nullptr, 10)] = std::move(t);
  }
  std::vector<transaction_info> out;
  for (auto& [id, t] : all) out.push_back(std::move(t));
  return out;
}

}  // namespace actormq::client
