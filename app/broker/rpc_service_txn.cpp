// The transactional-message methods of the Broker capability (RocketMQ's
// half message + check-back model); see actors/txn/txn_coordinator_actor.h.
//
// Check-back path: registerChecker keeps the producer's TransactionChecker
// here (KJ thread) and gives the SESSION actor a hook. The coordinator asks
// the session (CAF thread); the hook posts the call to this KJ thread
// through the kj_inbox; the answer goes straight back to the coordinator.
#include <fmt/format.h>

#include <charconv>

#include "actors/errc.h"
#include "actors/session/session_actor.h"
#include "actors/txn/txn_coordinator_actor.h"
#include "app/broker/cluster/control_plane.h"
#include "app/broker/logger.h"
#include "app/broker/rpc_helpers.h"
#include "app/broker/rpc_service.h"
#include "app/kj_support/kj_inbox.h"
#include "storage/log_config.h"

namespace actormq::broker {

/// One registered checker and the check calls in progress on it. Owned by
/// the rpc_service (KJ thread); dropping it cancels its calls.
struct checker_slot final : private kj::TaskSet::ErrorHandler {
  explicit checker_slot(rpc::TransactionChecker::Client c) : client(kj::mv(c)), calls(*this) {}
  void taskFailed(kj::Exception&&) override {}  // each call handles its own failure
  rpc::TransactionChecker::Client client;
  kj::TaskSet calls;
};

namespace {

using reply_fn = std::function<void(txn_check_status, std::string)>;

/// KJ thread: calls the checker (if its connection is still there).
void call_checker(const std::weak_ptr<checker_slot>& weak, const txn_check_request& req,
                  const reply_fn& reply) {
  auto slot = weak.lock();
  if (!slot) return reply(txn_check_status::unknown, "the checker's connection closed");
  auto rq = slot->client.checkRequest();
  rq.setTxnId(std::to_string(req.id));
  rq.setTopic(req.topic);
  rq.setPartition(req.partition);
  rq.setBatch(
      capnp::Data::Reader(reinterpret_cast<const kj::byte*>(req.batch->data()), req.batch->size()));
  rq.setCheckCount(req.check_count);
  slot->calls.add(rq.send().then(
      [reply](capnp::Response<rpc::TransactionChecker::CheckResults>&& r) {
        switch (r.getStatus()) {
          case rpc::TransactionStatus::COMMIT:
            return reply(txn_check_status::commit, {});
          case rpc::TransactionStatus::ROLLBACK:
            return reply(txn_check_status::rollback, {});
          default:
            return reply(txn_check_status::unknown, "the producer does not know yet");
        }
      },
      [reply](kj::Exception&& e) {
        reply(txn_check_status::unknown,
              fmt::format("check call failed: {}", e.getDescription().cStr()));
      }));
}

}  // namespace

kj::Promise<void> rpc_service::registerChecker(RegisterCheckerContext ctx) {
  auto p = ctx.getParams();
  auto group = text(p.getProducerGroup());
  if (auto why = invalid_topic_name(group, true)) {
    set_error(ctx.getResults().initError(), errc::invalid_request, "producer group: " + *why);
    return kj::READY_NOW;
  }
  // Checks come from the group's coordinator: register there.
  if (auto r = not_txn_coordinated_here(group, std::nullopt)) {
    fill_redirect(ctx.getResults().initError(), *r);
    return kj::READY_NOW;
  }
  auto slot = std::make_shared<checker_slot>(p.getChecker());
  checkers_[group] = slot;
  std::weak_ptr<checker_slot> weak = slot;
  auto inbox = ctx_.inbox;
  checker_hook hook = [inbox, weak](txn_check_request req, reply_fn reply) {
    // CAF thread: never touch KJ here, post to the KJ thread.
    bool posted = inbox->post([weak, req, reply] { call_checker(weak, req, reply); });
    if (!posted) reply(txn_check_status::unknown, "the broker is shutting down");
  };
  broker_log().info("session {}: registered a transaction checker for group {}", peer_, group);
  return call<bool>(session_,
                    [group, hook](session_state& s, done_fn<bool> d) {
                      s.register_checker(group, hook, d);
                    })
      .then([ctx](caf::expected<bool> r) mutable {
        if (!r) set_error(ctx.getResults().initError(), r.error());
      });
}

kj::Promise<void> rpc_service::sendHalf(SendHalfContext ctx) {
  auto p = ctx.getParams();
  auto res = ctx.getResults();
  const auto& cfg = *ctx_.config;
  auto data = p.getBatch();
  if (data.size() == 0) {
    set_error(res.initError(), errc::invalid_batch, "empty batch");
    return kj::READY_NOW;
  }
  if (data.size() > cfg.max_batch_bytes) {
    set_error(res.initError(), errc::batch_too_large,
              fmt::format("batch of {} bytes exceeds the broker limit of {} bytes", data.size(),
                          cfg.max_batch_bytes));
    return kj::READY_NOW;
  }
  txn_half_request req;
  req.group = text(p.getProducerGroup());
  req.topic = text(p.getTopic());
  req.partition = p.getPartition();
  if (p.hasRequestId()) req.request_id = text(p.getRequestId());
  if (auto r = not_txn_coordinated_here(req.group, std::nullopt)) {
    fill_redirect(res.initError(), *r);
    return kj::READY_NOW;
  }
  if (ctx_.cluster != nullptr) {
    // The coordinator delivers the commit wherever the partition is led:
    // the target is checked against the cluster's topics here.
    auto& topics = ctx_.cluster->view().topics();
    auto t = topics.find(req.topic);
    if (t == topics.end()) {
      set_error(res.initError(), errc::unknown_topic, "no topic named '" + req.topic + "'");
      return kj::READY_NOW;
    }
    if (req.partition >= t->second.partitions) {
      set_error(res.initError(), errc::unknown_partition,
                fmt::format("topic '{}' has no partition {}", req.topic, req.partition));
      return kj::READY_NOW;
    }
  }
  req.deliver_at_ms = std::max<int64_t>(p.getDeliverAtMs(), 0);
  if (p.getDelayLevel() > 0) {
    auto d = cfg.delay_levels.delay_of(p.getDelayLevel());
    if (!d) {
      set_error(res.initError(), errc::invalid_request,
                fmt::format("delay level {} does not exist (levels 1..{}: {})", p.getDelayLevel(),
                            cfg.delay_levels.size(), cfg.delay_levels.to_string()));
      return kj::READY_NOW;
    }
    req.delay_ms = d->count();
  }
  req.batch =
      std::make_shared<std::string>(reinterpret_cast<const char*>(data.begin()), data.size());
  return call<uint64_t>(
             session_,
             [req = std::move(req)](session_state& s, done_fn<uint64_t> d) { s.send_half(req, d); })
      .then([ctx](caf::expected<uint64_t> r) mutable {
        auto res = ctx.getResults();
        if (!r) return set_error(res.initError(), r.error());
        res.setTxnId(std::to_string(*r));
      });
}

kj::Promise<void> rpc_service::endTransaction(EndTransactionContext ctx) {
  auto p = ctx.getParams();
  auto id_text = text(p.getTxnId());
  uint64_t id = 0;
  if (!parse_txn_id(id_text, id)) {
    set_error(ctx.getResults().initError(), errc::unknown_transaction,
              fmt::format("'{}' is not a transaction id", id_text));
    return kj::READY_NOW;
  }
  bool commit = p.getCommit();
  if (auto r = not_txn_coordinated_here({}, id)) {
    fill_redirect(ctx.getResults().initError(), *r);
    return kj::READY_NOW;
  }
  return call<bool>(session_, [id, commit](session_state& s,
                                           done_fn<bool> d) { s.end_transaction(id, commit, d); })
      .then([ctx](caf::expected<bool> r) mutable {
        if (!r) set_error(ctx.getResults().initError(), r.error());
      });
}

kj::Promise<void> rpc_service::listTransactions(ListTransactionsContext ctx) {
  return call<std::vector<txn_summary>>(
             session_,
             [](session_state& s, done_fn<std::vector<txn_summary>> d) { s.list_transactions(d); })
      .then([ctx](caf::expected<std::vector<txn_summary>> r) mutable {
        if (!r) KJ_FAIL_REQUIRE("listing transactions failed", text_of(r.error()));
        auto list = ctx.getResults().initTransactions(static_cast<unsigned>(r->size()));
        for (size_t i = 0; i < r->size(); ++i) {
          const auto& t = (*r)[i];
          auto b = list[static_cast<unsigned>(i)];
          b.setTxnId(std::to_string(t.id));
          b.setProducerGroup(t.group);
          b.setTopic(t.topic);
          b.setPartition(t.partition);
          b.setState(t.state);
          b.setAgeMs(t.age_ms);
          b.setChecks(t.checks);
          b.setDeliverAtMs(t.deliver_at_ms);
        }
      });
}

}  // namespace actormq::broker
