#include "actors/txn/txn_state_machine.h"

#include <catch2/catch.hpp>

using namespace actormq;
using namespace actormq::txn;
using namespace std::chrono_literals;

namespace {
check_policy policy() {
  return {6000ms, 30000ms, 3};
}
}  // namespace

TEST_CASE("an open transaction commits") {
  txn_state_machine m(1000);
  auto t = m.on(txn_event::commit);
  CHECK(t.outcome == txn_outcome::applied);
  CHECK(m.state() == txn_state::committed);
}

TEST_CASE("an open transaction rolls back") {
  txn_state_machine m(1000);
  CHECK(m.on(txn_event::rollback).outcome == txn_outcome::applied);
  CHECK(m.state() == txn_state::rolled_back);
}

TEST_CASE("repeating a commit is a no-op") {
  txn_state_machine m(1000);
  m.on(txn_event::commit);
  auto t = m.on(txn_event::commit);
  CHECK(t.outcome == txn_outcome::no_op);
  CHECK(t.reason == errc::none);
  CHECK(m.state() == txn_state::committed);
}

TEST_CASE("repeating a rollback is a no-op") {
  txn_state_machine m(1000);
  m.on(txn_event::rollback);
  CHECK(m.on(txn_event::rollback).outcome == txn_outcome::no_op);
}

TEST_CASE("a commit after a rollback is refused as already rolled back") {
  txn_state_machine m(1000);
  m.on(txn_event::rollback);
  auto t = m.on(txn_event::commit);
  CHECK(t.outcome == txn_outcome::refused);
  CHECK(t.reason == errc::txn_already_rolled_back);
  CHECK(m.state() == txn_state::rolled_back);
}

TEST_CASE("a rollback after a commit is refused as already committed") {
  txn_state_machine m(1000);
  m.on(txn_event::commit);
  auto t = m.on(txn_event::rollback);
  CHECK(t.outcome == txn_outcome::refused);
  CHECK(t.reason == errc::txn_already_committed);
  CHECK(m.state() == txn_state::committed);
}

TEST_CASE("a committed transaction is never checked again") {
  txn_state_machine m(1000);
  m.on(txn_event::commit);
  CHECK_FALSE(m.start_check(50000, policy()));
  CHECK(m.on(txn_event::check_unknown).outcome == txn_outcome::no_op);
  CHECK(m.state() == txn_state::committed);
}

TEST_CASE("the first check is due one timeout after creation") {
  txn_state_machine m(1000);
  CHECK(m.next_check_ms(policy()) == 7000);
}

TEST_CASE("later checks follow at the check interval") {
  txn_state_machine m(1000);
  REQUIRE(m.start_check(7000, policy()));
  CHECK(m.checks() == 1);
  CHECK(m.next_check_ms(policy()) == 37000);
  REQUIRE(m.start_check(37005, policy()));
  CHECK(m.next_check_ms(policy()) == 67005);
}

TEST_CASE("checks stop at the maximum count") {
  txn_state_machine m(0);
  auto p = policy();
  int sent = 0;
  for (int i = 0; i < 10; ++i) {
    if (m.start_check(i * 1000, p)) ++sent;
  }
  CHECK(sent == 3);
  CHECK(m.checks_exhausted(p));
}

TEST_CASE("giving up makes an open transaction unresolved") {
  txn_state_machine m(0);
  CHECK(m.on(txn_event::give_up).outcome == txn_outcome::applied);
  CHECK(m.state() == txn_state::unresolved);
}

TEST_CASE("decisions on an unresolved transaction are refused") {
  txn_state_machine m(0);
  m.on(txn_event::give_up);
  CHECK(m.on(txn_event::commit).reason == errc::invalid_request);
  CHECK(m.on(txn_event::rollback).reason == errc::invalid_request);
}

TEST_CASE("a restored transaction keeps its check count and schedule") {
  txn_state_machine m(0, txn_state::open, 2, 90000);
  CHECK(m.checks() == 2);
  CHECK(m.next_check_ms(policy()) == 90000);
  REQUIRE(m.start_check(90000, policy()));
  CHECK(m.checks_exhausted(policy()));
}
