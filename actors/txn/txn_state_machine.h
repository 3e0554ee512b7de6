#pragma once
// The life of one transactional message, as a plain state machine (no
// actors, no I/O): which events are legal in which state and what follows.
//
//   open ──commit──────────► committed      (producer, check answer, operator)
//   open ──rollback────────► rolled_back
//   open ──check_unknown───► open           (checks + 1, next check later)
//   open ──give_up─────────► unresolved     (checks ran out)
//
// Terminal states answer the same decision again with a no-op and the
// opposite one with a refusal, so that a late commit after a rollback (or
// the reverse) can never change the outcome:
//
//   committed   + commit   → no_op          + rollback → txn_already_committed
//   rolled_back + rollback → no_op          + commit   → txn_already_rolled_back
//   unresolved  + either   → invalid_request (the message is in the
//                                             unresolved topic; operators
//                                             take it from there)
//
// Check-backs: a transaction is checked only while open. A check answer
// that arrives after a decision is dropped (the committed message is never
// checked again). The check schedule: the first check when the transaction
// timeout has passed since creation, then one every check interval, at most
// max_checks in all; once max_checks checks went unanswered (unknown, error
// or no reply) the transaction gives up to unresolved.
//
// Not thread-safe: one owner (the coordinator) drives it.

#include <chrono>
#include <cstdint>

#include "actors/errc.h"

namespace actormq::txn {

enum class txn_state : uint8_t { open, committed, rolled_back, unresolved };

const char* to_string(txn_state s);

enum class txn_event : uint8_t {
  commit,
  rollback,
  check_unknown,  ///< a check came back unknown, failed or timed out
  give_up,        ///< no checks left
};

enum class txn_outcome : uint8_t {
  applied,  ///< the state changed (or, for check_unknown, a check was counted)
  no_op,    ///< repeated decision: nothing to do, answer success
  refused,  ///< illegal here: answer reason
};

struct txn_transition {
  txn_outcome outcome = txn_outcome::applied;
  txn_state state = txn_state::open;  ///< the state after the event
  errc reason = errc::none;           ///< why refused
};

struct check_policy {
  std::chrono::milliseconds timeout{6000};    ///< from creation to the first check
  std::chrono::milliseconds interval{30000};  ///< between checks
  uint32_t max_checks = 15;
};

class txn_state_machine {
 public:
  /// A transaction created at created_ms (open), or restored as replayed.
  explicit txn_state_machine(int64_t created_ms, txn_state state = txn_state::open,
                             uint32_t checks = 0, int64_t next_check_ms = 0)
      : created_ms_(created_ms), state_(state), checks_(checks), next_check_ms_(next_check_ms) {}

  /// Applies an event; see the table above.
  txn_transition on(txn_event e);

  /// A check goes out at now: counts it and schedules the next one. Only
  /// while open and checks remain (false otherwise).
  bool start_check(int64_t now_ms, const check_policy& p);
  /// When the next check (or giving up) is due: created + timeout before
  /// the first check, the scheduled time after.
  int64_t next_check_ms(const check_policy& p) const;
  /// True when no check is left to send (the next due time means give up).
  bool checks_exhausted(const check_policy& p) const { return checks_ >= p.max_checks; }

  txn_state state() const { return state_; }
  uint32_t checks() const { return checks_; }
  int64_t created_ms() const { return created_ms_; }
  bool is_open() const { return state_ == txn_state::open; }

 private:
  int64_t created_ms_;
  txn_state state_;
  uint32_t checks_;
  int64_t next_check_ms_;  ///< 0 before the first check
};

}  // namespace actormq::txn
