// PARTITION actor, replication as a leader: acks=all answers against the
// in-sync set (the checker's kill-two scenario found the first case).

#include <catch2/catch.hpp>

#include "support/actor_fixture.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace actormq::test;

namespace {

leadership leading(std::vector<int32_t> isr, int64_t revision) {
  leadership l;
  l.self = 0;
  l.leader_epoch = 1;
  l.replicas = {0, 1, 2};
  l.isr = std::move(isr);
  l.revision = revision;
  l.min_insync_replicas = 2;
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
  auto retry = ask<produce_reply>(self, p, produce_atom::value,
                                  make_produce({"again"}, acks_level::all));
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
  auto fetched = ask<replica_fetch_reply>(self, p, replica_fetch_atom::value,
                                          replica_fetch_request{1, 1, 1, 1 << 20},
                                          caf::timespan{0});
  REQUIRE(fetched);
  caf::expected<produce_reply> answer = caf::make_error(caf::sec::request_timeout);
  parked.receive([&](produce_reply& r) { answer = r; },
                 [&](caf::error& e) { answer = std::move(e); });
  REQUIRE(answer);
  CHECK(answer->base_offset == 0);
}
