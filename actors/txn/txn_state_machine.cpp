#include "actors/txn/txn_state_machine.h"

namespace actormq::txn {

const char* to_string(txn_state s) {
  switch (s) {
    case txn_state::open:
      return "open";
    case txn_state::committed:
      return "committed";
    case txn_state::rolled_back:
      return "rolled_back";
    case txn_state::unresolved:
      return "unresolved";
  }
  return "?";
}

txn_transition txn_state_machine::on(txn_event e) {
  auto refuse = [this](errc why) { return txn_transition{txn_outcome::refused, state_, why}; };
  auto no_op = [this] { return txn_transition{txn_outcome::no_op, state_, errc::none}; };
  auto go = [this](txn_state to) {
    state_ = to;
    return txn_transition{txn_outcome::applied, state_, errc::none};
  };
  switch (state_) {
    case txn_state::open:
      switch (e) {
        case txn_event::commit:
          return go(txn_state::committed);
        case txn_event::rollback:
          return go(txn_state::rolled_back);
        case txn_event::check_unknown:
          return go(txn_state::open);
        case txn_event::give_up:
          return go(txn_state::unresolved);
      }
      break;
    case txn_state::committed:
      if (e == txn_event::commit) return no_op();
      if (e == txn_event::rollback) return refuse(errc::txn_already_committed);
      return no_op();  // a late check answer or timer: the decision stands
    case txn_state::rolled_back:
      if (e == txn_event::rollback) return no_op();
      if (e == txn_event::commit) return refuse(errc::txn_already_rolled_back);
      return no_op();
    case txn_state::unresolved:
      if (e == txn_event::commit || e == txn_event::rollback) {
        return refuse(errc::invalid_request);
      }
      return no_op();
  }
  return refuse(errc::internal);
}

bool txn_state_machine::start_check(int64_t now_ms, const check_policy& p) {
  if (state_ != txn_state::open || checks_ >= p.max_checks) return false;
  ++checks_;
  next_check_ms_ = now_ms + p.interval.count();
  return true;
}

int64_t txn_state_machine::next_check_ms(const check_policy& p) const {
  if (checks_ == 0 || next_check_ms_ == 0) return created_ms_ + p.timeout.count();
  return next_check_ms_;
}

}  // namespace actormq::txn
