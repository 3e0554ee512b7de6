// PARTITION actor, replicated: leading (follower pulls, high watermark,
// acks=all, in-sync-set proposals) and following (byte-for-byte appends,
// KIP-101 truncation), two partition actors in one process standing for a
// leader and a follower on two brokers. The cluster around them (etcd, the
// replica manager, CAF between brokers) is tested in tests/app.

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

#include "support/actor_fixture.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace actormq::test;
using namespace std::chrono_literals;

namespace {

constexpr int32_t leader_id = 0;
constexpr int32_t follower_id = 1;

leadership lead_of(int32_t epoch, std::vector<int32_t> isr, int32_t min_insync = 2,
                   int64_t revision = 1, caf::timespan lag = std::chrono::seconds(30)) {
  leadership l;
  l.self = leader_id;
  l.leader_epoch = epoch;
  l.replicas = {leader_id, follower_id};
  l.isr = std::move(isr);
  l.revision = revision;
  l.min_insync_replicas = min_insync;
  l.replica_lag = lag;
  return l;
}

/// One pull of the follower at its log end, appended; the follower's new end.
int64_t replicate_once(caf::scoped_actor& self, const partition_actor& leader,
                       const partition_actor& follower, int32_t epoch, int64_t at) {
  replica_fetch_request req{follower_id, epoch, at, 1 << 20};
  auto r = ask<replica_fetch_reply>(self, leader, replica_fetch_atom::value, req, caf::timespan{0});
  REQUIRE(r);
  auto end = ask<int64_t>(self, follower, replica_append_atom::value, epoch, *r);
  REQUIRE(end);
  return *end;
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_CASE("a replicated partition refuses produce and fetch until it leads",
          "[actors][partition][replication]") {
  temp_dir dir;
  partition_env env;
  auto p = env.spawn_replicated(dir.path() / "p");
  caf::scoped_actor self{env.sys()};
  CHECK(code_of(ask<produce_reply>(self, p, produce_atom::value, make_produce({"x"}))) ==
        errc::not_leader);
  CHECK(code_of(ask<fetch_reply>(self, p, fetch_atom::value, fetch_request{0, 1024})) ==
        errc::not_leader);
  REQUIRE(ask<bool>(self, p, lead_atom::value, lead_of(0, {leader_id}, 1)));
  CHECK(ask<produce_reply>(self, p, produce_atom::value, make_produce({"x"})));
}

TEST_CASE("a follower holds the leader's bytes and consumers see data once the follower has it",
          "[actors][partition][replication]") {
  temp_dir dir;
  partition_env env;
  auto leader = env.spawn_replicated(dir.path() / "leader");
  auto follower = env.spawn_replicated(dir.path() / "follower");
  caf::scoped_actor self{env.sys()};
  REQUIRE(ask<bool>(self, leader, lead_atom::value, lead_of(0, {leader_id, follower_id})));
  auto pos = ask<replica_position>(self, follower, follow_atom::value, int32_t{0}, leader_id);
  REQUIRE(pos);
  CHECK(pos->log_end_offset == 0);

  REQUIRE(ask<produce_reply>(self, leader, produce_atom::value, make_produce({"a", "b"})));
  REQUIRE(ask<produce_reply>(self, leader, produce_atom::value, make_produce({"c"})));
  // Appended at the leader but not yet on the follower: not readable.
  auto offs = ask<partition_offsets>(self, leader, offsets_atom::value);
  REQUIRE(offs);
  CHECK(offs->high_watermark == 0);
  auto empty = ask<fetch_reply>(self, leader, fetch_atom::value, fetch_request{0, 1 << 20});
  REQUIRE(empty);
  CHECK(empty->slice.length == 0);

  auto end = replicate_once(self, leader, follower, 0, 0);
  CHECK(end == 3);
  // The next pull tells the leader the follower has [0, 3).
  CHECK(replicate_once(self, leader, follower, 0, end) == 3);
  offs = ask<partition_offsets>(self, leader, offsets_atom::value);
  REQUIRE(offs);
  CHECK(offs->high_watermark == 3);
  CHECK(values_of(read_partition(self, leader)) == std::vector<std::string>{"a", "b", "c"});
  CHECK(file_bytes(dir.path() / "leader" / "00000000000000000000.log") ==
        file_bytes(dir.path() / "follower" / "00000000000000000000.log"));
}

TEST_CASE("acks=all is answered once the follower has the batch",
          "[actors][partition][replication]") {
  temp_dir dir;
  partition_env env;
  auto leader = env.spawn_replicated(dir.path() / "leader");
  auto follower = env.spawn_replicated(dir.path() / "follower");
  caf::scoped_actor self{env.sys()};
  caf::scoped_actor producer{env.sys()};
  REQUIRE(ask<bool>(self, leader, lead_atom::value, lead_of(0, {leader_id, follower_id})));
  REQUIRE(ask<replica_position>(self, follower, follow_atom::value, int32_t{0}, leader_id));

  auto pending = producer->request(leader, request_timeout, produce_atom::value,
                                   make_produce({"m"}, acks_level::all));
  auto end = replicate_once(self, leader, follower, 0, 0);
  REQUIRE(end == 1);
  replicate_once(self, leader, follower, 0, end);
  std::optional<produce_reply> acked;
  pending.receive([&](produce_reply& r) { acked = r; },
                  [&](caf::error& e) { FAIL("acks=all failed: " << text_of(e)); });
  REQUIRE(acked);
  CHECK(acked->base_offset == 0);
}

TEST_CASE("acks=all is refused with not_enough_replicas below the minimum in-sync set",
          "[actors][partition][replication]") {
  temp_dir dir;
  partition_env env;
  auto leader = env.spawn_replicated(dir.path() / "leader");
  caf::scoped_actor self{env.sys()};
  REQUIRE(ask<bool>(self, leader, lead_atom::value, lead_of(0, {leader_id}, 2)));
  CHECK(code_of(ask<produce_reply>(self, leader, produce_atom::value,
                                   make_produce({"m"}, acks_level::all))) ==
        errc::not_enough_replicas);
  // acks=leader is still taken (and readable at once: the leader is alone in sync).
  REQUIRE(ask<produce_reply>(self, leader, produce_atom::value, make_produce({"m"})));
  auto offs = ask<partition_offsets>(self, leader, offsets_atom::value);
  REQUIRE(offs);
  CHECK(offs->high_watermark == 1);
}

TEST_CASE("a leader that steps down answers its waiting acks=all produces with not_leader",
          "[actors][partition][replication]") {
  temp_dir dir;
  partition_env env;
  auto leader = env.spawn_replicated(dir.path() / "leader");
  caf::scoped_actor self{env.sys()};
  caf::scoped_actor producer{env.sys()};
  REQUIRE(ask<bool>(self, leader, lead_atom::value, lead_of(0, {leader_id, follower_id})));
  auto pending = producer->request(leader, request_timeout, produce_atom::value,
                                   make_produce({"m"}, acks_level::all));
  REQUIRE(ask<replica_position>(self, leader, follow_atom::value, int32_t{1}, follower_id));
  std::optional<errc> refused;
  pending.receive([&](produce_reply&) { FAIL("acknowledged without the follower"); },
                  [&](caf::error& e) { refused = actormq::code_of(e); });
  REQUIRE(refused);
  CHECK(*refused == errc::not_leader);
  // A pull in the old epoch is refused too.
  CHECK(code_of(ask<replica_fetch_reply>(self, leader, replica_fetch_atom::value,
                                         replica_fetch_request{follower_id, 0, 0, 1024},
                                         caf::timespan{0})) == errc::not_leader);
}

TEST_CASE("a pull from another epoch is refused with stale_leader_epoch",
          "[actors][partition][replication]") {
  temp_dir dir;
  partition_env env;
  auto leader = env.spawn_replicated(dir.path() / "leader");
  caf::scoped_actor self{env.sys()};
  REQUIRE(ask<bool>(self, leader, lead_atom::value, lead_of(3, {leader_id, follower_id})));
  CHECK(code_of(ask<replica_fetch_reply>(self, leader, replica_fetch_atom::value,
                                         replica_fetch_request{follower_id, 2, 0, 1024},
                                         caf::timespan{0})) == errc::stale_leader_epoch);
}

TEST_CASE("a pull at the log end parks until the next append", "[actors][partition][replication]") {
  temp_dir dir;
  partition_env env;
  auto leader = env.spawn_replicated(dir.path() / "leader");
  caf::scoped_actor self{env.sys()};
  caf::scoped_actor puller{env.sys()};
  REQUIRE(ask<bool>(self, leader, lead_atom::value, lead_of(0, {leader_id, follower_id}, 1)));
  auto parked = puller->request(leader, request_timeout, replica_fetch_atom::value,
                                replica_fetch_request{follower_id, 0, 0, 1 << 20},
                                caf::timespan{std::chrono::seconds(60)});
  REQUIRE(ask<produce_reply>(self, leader, produce_atom::value, make_produce({"woke"})));
  std::optional<replica_fetch_reply> got;
  parked.receive([&](replica_fetch_reply& r) { got = std::move(r); },
                 [&](caf::error& e) { FAIL("pull failed: " << text_of(e)); });
  REQUIRE(got);
  CHECK_FALSE(got->batches.empty());
  CHECK(got->log_end_offset == 1);
  REQUIRE(got->epochs.size() == 1);
  CHECK(got->epochs[0] == epoch_entry{0, 0});
}

namespace {

struct isr_request {
  std::vector<int32_t> isr;
  int64_t revision = 0;
};

/// Stands in for the control plane's etcd write: records what the leader
/// proposes and commits it at revision + 1.
isr_writer_actor spawn_recording_isr_writer(caf::actor_system& sys,
                                            std::shared_ptr<std::vector<isr_request>> seen) {
  // `seen` goes in as a spawn argument, not a capture: CAF 0.17 dereferences
  // a null shared_ptr<tuple<>> when a function actor is spawned without
  // arguments (UBSan aborts; see app/broker/actor_call.h).
  using seen_ptr = std::shared_ptr<std::vector<isr_request>>;
  return sys.spawn(
      [](isr_writer_actor::pointer, seen_ptr log) -> isr_writer_actor::behavior_type {
        return {[log](alter_isr_atom, const std::string&, uint32_t, int32_t,
                      const std::vector<int32_t>& isr, int64_t revision) -> int64_t {
          log->push_back({isr, revision});
          return revision + 1;
        }};
      },
      std::move(seen));
}

}  // namespace

TEST_CASE(
    "a follower that stops pulling is proposed out of the in-sync set and back in once caught up",
    "[actors][partition][replication]") {
  temp_dir dir;
  partition_env env;
  auto seen = std::make_shared<std::vector<isr_request>>();
  auto writer = spawn_recording_isr_writer(env.sys(), seen);
  env.adopt(caf::actor_cast<caf::actor>(writer));
  auto leader = env.spawn_replicated(dir.path() / "leader", writer);
  auto follower = env.spawn_replicated(dir.path() / "follower");
  caf::scoped_actor self{env.sys()};
  REQUIRE(ask<bool>(self, leader, lead_atom::value,
                    lead_of(0, {leader_id, follower_id}, 1, 7, std::chrono::milliseconds(200))));
  REQUIRE(ask<replica_position>(self, follower, follow_atom::value, int32_t{0}, leader_id));
  REQUIRE(ask<produce_reply>(self, leader, produce_atom::value, make_produce({"a"})));
  // The follower does not pull: after the lag it is proposed out.
  REQUIRE(poll_until([&] { return !seen->empty(); }, 5s));
  CHECK(seen->at(0).isr == std::vector<int32_t>{leader_id});
  CHECK(seen->at(0).revision == 7);
  // Out of the set, the leader alone makes the data readable.
  REQUIRE(poll_until([&] {
    auto o = ask<partition_offsets>(self, leader, offsets_atom::value);
    return o && o->high_watermark == 1;
  }));
  // It catches up: proposed back in, from the new revision.
  auto end = replicate_once(self, leader, follower, 0, 0);
  replicate_once(self, leader, follower, 0, end);
  REQUIRE(poll_until([&] { return seen->size() >= 2; }, 5s));
  CHECK(seen->at(1).isr == std::vector<int32_t>{leader_id, follower_id});
  CHECK(seen->at(1).revision == 8);
}

TEST_CASE("a former leader truncates what the new leader never had (KIP-101)",
          "[actors][partition][replication]") {
  temp_dir dir;
  partition_env env;
  auto a = env.spawn_replicated(dir.path() / "a");
  auto b = env.spawn_replicated(dir.path() / "b");
  caf::scoped_actor self{env.sys()};
  // Epoch 0: a leads; b copies two messages, then a appends a third alone.
  REQUIRE(ask<bool>(self, a, lead_atom::value, lead_of(0, {leader_id, follower_id}, 1)));
  REQUIRE(ask<replica_position>(self, b, follow_atom::value, int32_t{0}, leader_id));
  REQUIRE(ask<produce_reply>(self, a, produce_atom::value, make_produce({"m1"})));
  REQUIRE(ask<produce_reply>(self, a, produce_atom::value, make_produce({"m2"})));
  CHECK(replicate_once(self, a, b, 0, 0) == 2);
  REQUIRE(ask<produce_reply>(self, a, produce_atom::value, make_produce({"lost"})));

  // Epoch 1: b leads (a was cut off) and takes a new message at offset 2.
  auto lb = lead_of(1, {follower_id}, 1);
  lb.self = follower_id;
  REQUIRE(ask<bool>(self, b, lead_atom::value, lb));
  REQUIRE(ask<produce_reply>(self, b, produce_atom::value, make_produce({"m3"})));

  // a follows b: its first question is where epoch 0 ended.
  auto pos = ask<replica_position>(self, a, follow_atom::value, int32_t{1}, follower_id);
  REQUIRE(pos);
  CHECK(pos->log_end_offset == 3);
  REQUIRE(pos->ask_epoch == 0);
  auto answer = ask<epoch_end>(self, b, epoch_end_atom::value, int32_t{1}, int32_t{0});
  REQUIRE(answer);
  CHECK(answer->epoch == 0);
  CHECK(answer->end_offset == 2);
  pos = ask<replica_position>(self, a, truncate_atom::value, int32_t{1}, int32_t{0}, *answer);
  REQUIRE(pos);
  CHECK(pos->log_end_offset == 2);
  CHECK(pos->ask_epoch == -1);
  // Then it copies m3 from b: both logs hold m1 m2 m3, "lost" nowhere.
  replica_fetch_request req{leader_id, 1, 2, 1 << 20};
  auto r = ask<replica_fetch_reply>(self, b, replica_fetch_atom::value, req, caf::timespan{0});
  REQUIRE(r);
  REQUIRE(ask<int64_t>(self, a, replica_append_atom::value, int32_t{1}, *r));
  CHECK(file_bytes(dir.path() / "a" / "00000000000000000000.log") ==
        file_bytes(dir.path() / "b" / "00000000000000000000.log"));
  // a now leads again in epoch 2 and serves exactly those.
  REQUIRE(ask<bool>(self, a, lead_atom::value, lead_of(2, {leader_id}, 1)));
  CHECK(values_of(read_partition(self, a)) == std::vector<std::string>{"m1", "m2", "m3"});
}

TEST_CASE("a follower behind the leader's log start restarts its log at that start",
          "[actors][partition][replication]") {
  temp_dir dir;
  partition_env env;
  caf::scoped_actor self{env.sys()};
  {
    auto first = env.spawn_replicated(dir.path() / "leader");
    REQUIRE(ask<bool>(self, first, lead_atom::value, lead_of(0, {leader_id}, 1)));
    REQUIRE(ask<produce_reply>(self, first, produce_atom::value, make_produce({"m1", "m2"})));
    REQUIRE(ask<produce_reply>(self, first, produce_atom::value, make_produce({"m3"})));
    REQUIRE(stop_and_wait(env.sys(), caf::actor_cast<caf::actor>(first)));
  }
  {
    // Retention (or dead-letter-oldest) moved the leader's start past [0, 2).
    auto log = open_test_log(dir.path() / "leader");
    REQUIRE(log->advance_start(storage::offset(2)));
    REQUIRE(log->close());
  }
  auto leader = env.spawn_replicated(dir.path() / "leader");
  auto follower = env.spawn_replicated(dir.path() / "follower");
  REQUIRE(ask<bool>(self, leader, lead_atom::value, lead_of(1, {leader_id}, 1)));
  REQUIRE(ask<replica_position>(self, follower, follow_atom::value, int32_t{1}, leader_id));
  CHECK(replicate_once(self, leader, follower, 1, 0) == 2);
  CHECK(replicate_once(self, leader, follower, 1, 2) == 3);
  // It leads next and serves exactly what the leader had.
  auto lf = lead_of(2, {follower_id}, 1);
  lf.self = follower_id;
  REQUIRE(ask<bool>(self, follower, lead_atom::value, lf));
  auto offs = ask<partition_offsets>(self, follower, offsets_atom::value);
  REQUIRE(offs);
  CHECK(offs->log_start_offset == 2);
  CHECK(values_of(read_partition(self, follower, 2)) == std::vector<std::string>{"m3"});
}

namespace {

/// Broker 0 leading epoch 1 of three replicas, minimum two in sync.
leadership leading(std::vector<int32_t> isr, int64_t revision) {
  auto l = lead_of(1, std::move(isr), 2, revision);
  l.replicas = {0, 1, 2};
  return l;
}

}  // namespace

TEST_CASE("a parked acks=all produce is refused when the in-sync set shrinks below the minimum",
          "[actors][partition][replication]") {
  temp_dir dir;
  partition_env env;
  auto p = env.spawn_replicated(dir.path());
  caf::scoped_actor self{env.sys()};
  REQUIRE(ask<bool>(self, p, lead_atom::value, leading({0, 1, 2}, 1)));
  // Admitted with three in sync; parks, since no follower has fetched it.
  auto parked = self->request(p, request_timeout, produce_atom::value,
                              make_produce({"only on the leader"}, acks_level::all));
  // Both followers leave the in-sync set (dead, or lagging): the high
  // watermark jumps past the record, yet one copy is all there is.
  caf::anon_send(p, lead_atom::value, leading({0}, 2));
  caf::expected<produce_reply> answer = caf::make_error(caf::sec::request_timeout);
  parked.receive([&](produce_reply& r) { answer = r; },
                 [&](caf::error& e) { answer = std::move(e); });
  CHECK(code_of(answer) == errc::not_enough_replicas);
  // The retry is refused while the set is below the minimum.
  auto retry =
      ask<produce_reply>(self, p, produce_atom::value, make_produce({"again"}, acks_level::all));
  CHECK(code_of(retry) == errc::not_enough_replicas);
}

TEST_CASE("a parked acks=all produce is answered once the in-sync set holds it",
          "[actors][partition][replication]") {
  temp_dir dir;
  partition_env env;
  auto p = env.spawn_replicated(dir.path());
  caf::scoped_actor self{env.sys()};
  REQUIRE(ask<bool>(self, p, lead_atom::value, leading({0, 1, 2}, 1)));
  auto parked = self->request(p, request_timeout, produce_atom::value,
                              make_produce({"replicated"}, acks_level::all));
  // Follower 2 is dropped; follower 1 fetches past the record: two copies.
  caf::anon_send(p, lead_atom::value, leading({0, 1}, 2));
  auto fetched =
      ask<replica_fetch_reply>(self, p, replica_fetch_atom::value,
                               replica_fetch_request{1, 1, 1, 1 << 20}, caf::timespan{0});
  REQUIRE(fetched);
  caf::expected<produce_reply> answer = caf::make_error(caf::sec::request_timeout);
  parked.receive([&](produce_reply& r) { answer = r; },
                 [&](caf::error& e) { answer = std::move(e); });
  REQUIRE(answer);
  CHECK(answer->base_offset == 0);
}

TEST_CASE("a follower serves its own broker's local read up to its high watermark, nothing else",
          "[actors][partition][replication]") {
  temp_dir dir;
  partition_env env;
  auto leader = env.spawn_replicated(dir.path() / "leader");
  auto follower = env.spawn_replicated(dir.path() / "follower");
  caf::scoped_actor self{env.sys()};
  REQUIRE(ask<bool>(self, leader, lead_atom::value, lead_of(0, {leader_id, follower_id})));
  REQUIRE(ask<replica_position>(self, follower, follow_atom::value, int32_t{0}, leader_id));
  REQUIRE(ask<produce_reply>(self, leader, produce_atom::value, make_produce({"a", "b"})));
  auto end = replicate_once(self, leader, follower, 0, 0);
  REQUIRE(end == 2);
  // Held by the follower, but the follower has not learnt that it is
  // committed: not readable yet.
  fetch_request local{0, 1 << 20};
  local.local_replica = true;
  auto before = ask<fetch_reply>(self, follower, fetch_atom::value, local);
  REQUIRE(before);
  CHECK(before->slice.length == 0);
  replicate_once(self, leader, follower, 0, end);  // the leader's watermark moves to 2
  replicate_once(self, leader, follower, 0, end);  // and the follower learns it
  auto after = ask<fetch_reply>(self, follower, fetch_atom::value, local);
  REQUIRE(after);
  CHECK(values_of(records_of(after->slice)) == std::vector<std::string>{"a", "b"});
  // Clients still get not_leader, and a local read never goes past the
  // watermark on a follower.
  CHECK(code_of(ask<fetch_reply>(self, follower, fetch_atom::value, fetch_request{0, 1 << 20})) ==
        errc::not_leader);
  local.to_log_end = true;
  CHECK(code_of(ask<fetch_reply>(self, follower, fetch_atom::value, local)) == errc::not_leader);
}
