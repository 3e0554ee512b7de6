// PARTITION actor: acks=fsync answers only once the flusher synced the
// batch, and one sync answers every fsync produce that arrived before it
// (group commit). A gate between the partition and the real flusher holds
// sync jobs until the test releases them and records what was synced.

#include <catch2/catch.hpp>

#include <atomic>

#include "storage/offset_checkpoint.h"
#include "support/actor_fixture.h"
#include "support/eventually.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace actormq::test;

namespace {

using release_atom = caf::atom_constant<caf::atom("release")>;

/// What the gate saw; shared with the test thread.
struct gate_log {
  std::atomic<int> jobs{0};         ///< sync jobs the partition asked for
  std::atomic<int> closed{0};       ///< closed segments those jobs covered, in all
  std::atomic<int64_t> synced{-1};  ///< highest up_to the real flusher confirmed
};

struct gate_state {
  static constexpr const char* name = "flush_gate";
  bool holding = true;
  std::vector<sync_job> held;
  caf::strong_actor_ptr partition;
};

/// Stands in for the flusher: forwards jobs to the real flusher (holding
/// them while closed) with itself as reply_to, notes the synced offset, then
/// passes (flushed_atom, up_to, error) on to the partition.
caf::behavior flush_gate(caf::stateful_actor<gate_state>* self, caf::actor real,
                         std::shared_ptr<gate_log> log, bool holding) {
  self->state.holding = holding;
  auto forward = [self, real](sync_job job) {
    job.reply_to = caf::actor_cast<caf::strong_actor_ptr>(self);
    self->send(real, flush_atom::value, std::move(job));
  };
  return {
      [=](flush_atom, sync_job& job) {
        ++log->jobs;
        log->closed += static_cast<int>(job.plan.closed);
        self->state.partition = job.reply_to;
        if (self->state.holding) {
          self->state.held.push_back(std::move(job));
        } else {
          forward(std::move(job));
        }
      },
      [=](flushed_atom, int64_t up_to, caf::error& err) {
        if (!err && up_to > log->synced) log->synced = up_to;
        caf::anon_send(caf::actor_cast<caf::actor>(self->state.partition), flushed_atom::value,
                       up_to, std::move(err));
      },
      [=](release_atom) {
        self->state.holding = false;
        for (auto& job : self->state.held) forward(std::move(job));
        self->state.held.clear();
      },
  };
}

/// A partition in dir/p0 whose sync jobs pass through a flush_gate, holding
/// them until released when `holding`; segment_bytes 0 keeps the default.
struct gated_partition {
  temp_dir dir;
  partition_env env;
  std::shared_ptr<gate_log> log = std::make_shared<gate_log>();
  caf::actor gate;
  partition_actor p;

  explicit gated_partition(bool holding, uint64_t segment_bytes = 0)
      : gate(env.sys().spawn(flush_gate, env.flusher, log, holding)) {
    env.adopt(gate);
    p = env.spawn(dir.path() / "p0", gate, storage::flush_policy::never(), segment_bytes);
  }
};

}  // namespace

TEST_CASE("an fsync produce is answered only after the flusher synced its batch",
          "[actors][partition][fsync]") {
  gated_partition f(true);
  auto& [dir, env, log, gate, p] = f;
  caf::scoped_actor producer{env.sys()};
  caf::scoped_actor probe{env.sys()};

  // A leader-acked batch is answered without any sync.
  auto leader = ask<produce_reply>(probe, p, produce_atom::value, make_produce({"l0"}));
  REQUIRE(leader);
  CHECK(leader->base_offset == 0);
  CHECK(log->jobs == 0);

  auto pending = producer->request(p, request_timeout, produce_atom::value,
                                   make_produce({"f1", "f2"}, acks_level::fsync));
  // Once the partition answered a later request it has handled the produce:
  // it asked for one sync, and the fsync answer is not out yet.
  auto offs = ask<partition_offsets>(probe, p, offsets_atom::value);
  REQUIRE(offs);
  CHECK(offs->high_watermark == 3);
  // The job travels partition -> gate asynchronously: wait for the gate to
  // count it (it holds it, so the count cannot pass 1 for this batch).
  CHECK(eventually([&] { return log->jobs == 1; }, std::chrono::seconds(5)));
  CHECK(log->synced == -1);
  CHECK(producer->mailbox().size() == 0);

  caf::anon_send(gate, release_atom::value);
  std::optional<produce_reply> reply;
  pending.receive([&](produce_reply& r) { reply = r; },
                  [&](caf::error& e) { FAIL("fsync produce failed: " << text_of(e)); });
  REQUIRE(reply);
  CHECK(reply->base_offset == 1);
  CHECK(reply->last_offset == 2);
  // The sync that released the answer made the whole batch durable.
  CHECK(log->synced > reply->last_offset);

  // Without the gate closed, an fsync produce gets its answer by itself.
  auto again =
      ask<produce_reply>(probe, p, produce_atom::value, make_produce({"f3"}, acks_level::fsync));
  REQUIRE(again);
  CHECK(again->base_offset == 3);
  CHECK(log->synced > again->last_offset);
  CHECK(values_of(read_partition(probe, p)) == std::vector<std::string>{"l0", "f1", "f2", "f3"});
}

TEST_CASE("many concurrent fsync produces are answered by a few group-commit syncs",
          "[actors][partition][fsync]") {
  gated_partition f(true);
  auto& [dir, env, log, gate, p] = f;

  constexpr int producers = 4;
  constexpr int per_producer = 50;
  std::vector<std::unique_ptr<caf::scoped_actor>> selves;
  using handle = decltype(std::declval<caf::scoped_actor&>()->request(
      p, request_timeout, produce_atom::value, produce_request{}));
  std::vector<std::vector<handle>> pending(producers);
  for (int i = 0; i < producers; ++i)
    selves.push_back(std::make_unique<caf::scoped_actor>(env.sys()));
  for (int n = 0; n < per_producer; ++n) {
    for (int i = 0; i < producers; ++i) {
      auto value = "p" + std::to_string(i) + "-" + std::to_string(n);
      pending[i].push_back((*selves[i])
                               ->request(p, request_timeout, produce_atom::value,
                                         make_produce({value}, acks_level::fsync)));
    }
  }

  // All appends are done while the first sync is held: one job so far and
  // no answer anywhere.
  caf::scoped_actor probe{env.sys()};
  auto offs = ask<partition_offsets>(probe, p, offsets_atom::value);
  REQUIRE(offs);
  CHECK(offs->high_watermark == producers * per_producer);
  CHECK(log->jobs == 1);
  for (auto& s : selves) CHECK((*s)->mailbox().size() == 0);

  caf::anon_send(gate, release_atom::value);
  for (int i = 0; i < producers; ++i) {
    int64_t last = -1;
    for (auto& h : pending[i]) {
      std::optional<produce_reply> r;
      h.receive([&](produce_reply& x) { r = x; },
                [&](caf::error& e) { FAIL("fsync produce failed: " << text_of(e)); });
      REQUIRE(r);
      CHECK(r->base_offset == r->last_offset);
      CHECK(r->base_offset > last);
      CHECK(log->synced > r->last_offset);
      last = r->last_offset;
    }
  }
  // The held sync covered the first batch; one more covered the other 199.
  CHECK(log->jobs == 2);
  CHECK(log->synced == producers * per_producer);

  auto records = read_partition(probe, p);
  REQUIRE(records.size() == static_cast<size_t>(producers * per_producer));
  // Requests were interleaved producer by producer, so the log is too.
  for (int n = 0; n < per_producer; ++n) {
    for (int i = 0; i < producers; ++i) {
      const auto& r = records[static_cast<size_t>(n * producers + i)];
      CHECK(r.offset == n * producers + i);
      CHECK(r.value == "p" + std::to_string(i) + "-" + std::to_string(n));
    }
  }
}

TEST_CASE("a roll hands the closed segment to the flusher, also without any fsync produce",
          "[actors][partition][fsync]") {
  // The log no longer syncs a segment when it closes it (that stalled the
  // partition for as long as the disk took): the partition asks the flusher,
  // which syncs it and raises the log's recovery point.
  gated_partition f(false, 4096);
  auto& [dir, env, log, gate, p] = f;
  caf::scoped_actor probe{env.sys()};
  const std::string value(1000, 'v');
  int64_t last = -1;
  for (int i = 0; i < 12; ++i) {
    auto r = ask<produce_reply>(probe, p, produce_atom::value, make_produce({value}));
    REQUIRE(r);
    last = r->last_offset;
  }
  // About four records a segment: at least two rolls, each followed by a job.
  CHECK(eventually([&] { return log->closed >= 2; }, std::chrono::seconds(5)));
  CHECK(eventually([&] { return log->synced >= 8; }, std::chrono::seconds(5)));
  auto point = storage::offset_checkpoint(dir.path() / "p0" / "recovery-point").read();
  REQUIRE(point);
  REQUIRE(*point);
  CHECK((**point)() >= 8);
  CHECK((**point)() <= last + 1);
  CHECK(values_of(read_partition(probe, p)).size() == 12);
}
