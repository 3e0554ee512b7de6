// The SESSION actor's transaction requests: forwarded to the TRANSACTION
// COORDINATOR, plus the check-back path from the coordinator to the
// producer's checker (through the hook the RPC layer registered).
#include <fmt/format.h>

#include "actors/errc.h"
#include "actors/session/session_actor.h"

namespace actormq {

namespace {
constexpr auto txn_timeout = std::chrono::seconds(30);
}  // namespace

void session_state::register_checker(const std::string& group, checker_hook hook,
                                     done_fn<bool> done) {
  checkers_[group] = std::move(hook);
  // The coordinator monitors this session and forgets it when it exits.
  caf::anon_send(settings_.txn, checker_atom::value, group, caf::actor_cast<caf::actor>(self_));
  done(true);
}

void session_state::send_half(txn_half_request req, done_fn<uint64_t> done) {
  self_->request(settings_.txn, txn_timeout, half_atom::value, std::move(req))
      .then([done](uint64_t id) { done(id); }, [done](caf::error& e) { done(std::move(e)); });
}

void session_state::end_transaction(uint64_t id, bool commit, done_fn<bool> done) {
  self_->request(settings_.txn, txn_timeout, end_atom::value, id, commit)
      .then([done](bool ok) { done(ok); }, [done](caf::error& e) { done(std::move(e)); });
}

void session_state::list_transactions(done_fn<std::vector<txn_summary>> done) {
  self_->request(settings_.txn, txn_timeout, list_atom::value)
      .then([done](std::vector<txn_summary>& l) { done(std::move(l)); },
            [done](caf::error& e) { done(std::move(e)); });
}

void session_state::check_transaction(const txn_check_request& req) {
  auto txn = settings_.txn;
  auto id = req.id;
  auto count = req.check_count;
  auto reply = [txn, id, count](txn_check_status status, std::string detail) {
    caf::anon_send(txn, check_atom::value, txn_check_answer{id, count, status, std::move(detail)});
  };
  auto it = checkers_.find(req.group);
  if (it == checkers_.end()) {
    return reply(txn_check_status::unknown,
                 fmt::format("session {} has no checker of group {}", settings_.peer, req.group));
  }
  it->second(req, reply);
}

}  // namespace actormq
