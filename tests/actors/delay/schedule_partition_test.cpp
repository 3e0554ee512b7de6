// delay::schedule_partition: replicas replay __delay_schedule into their
// index; the leader delivers due envelopes in dispatches with sequence
// numbers; a new leader repeats the unfinished dispatches with the very same
// sequences and never plans a dispatched envelope again.

#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "actors/delay/schedule_partition.h"
#include "storage/errc.h"
#include "storage/file_handle.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"
#include "support/temp_dir.h"

using namespace actormq;
using namespace actormq::delay;
using actormq::test::temp_dir;

namespace {

constexpr int64_t t0 = 1'732'500'000'000;
constexpr int64_t pid = (int64_t{1} << 62) + 3;

std::string batch_of(const std::vector<std::string>& values) {
  storage::record_batch_builder b;
  for (const auto& v : values)
    b.add(std::string_view("k"), std::string_view(v), storage::timestamp_ms(t0), {});
  return b.build();
}

/// The partition's log as the test writes it: records by offset.
struct fake_log {
  std::vector<schedule_record> records;

  int64_t end() const { return static_cast<int64_t>(records.size()); }
  int64_t envelope(int64_t due, const std::string& topic, uint32_t p,
                   const std::vector<std::string>& values, delay_class cls = delay_class::unknown) {
    schedule_record r;
    r.kind = schedule_kind::envelope;
    r.envelope = {due, topic, p, batch_of(values), cls};
    records.push_back(r);
    return end() - 1;
  }
  void add(const dispatch_record& d) {
    schedule_record r;
    r.kind = schedule_kind::dispatch;
    r.dispatch = d;
    records.push_back(r);
  }
  void add(const progress_record& p) {
    schedule_record r;
    r.kind = schedule_kind::progress;
    r.progress = p;
    records.push_back(r);
  }
  /// Applies everything the replica has not applied yet.
  void replay_into(schedule_partition& s) const {
    for (int64_t o = s.applied_offset(); o < end(); ++o) {
      REQUIRE(s.apply(o, records[static_cast<size_t>(o)]));
    }
  }
  std::vector<fired_envelope> envelopes_of(const std::vector<timer_entry>& due) const {
    std::vector<fired_envelope> out;
    for (const auto& e : due) {
      auto o = static_cast<int64_t>(e.id());
      out.push_back({o, records[static_cast<size_t>(o)].envelope});
    }
    return out;
  }
};

std::unique_ptr<schedule_partition> open_replica(const std::filesystem::path& dir) {
  schedule_partition_config c;
  c.dir = dir;
  c.producer_id = pid;
  auto p = schedule_partition::open(c);
  REQUIRE(p);
  return std::move(*p);
}

std::vector<std::string> values_in(const std::string& batch) {
  std::vector<std::string> out;
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
  storage::for_each_batch(bytes, [&](const storage::batch_header&, std::span<const uint8_t> b) {
    (void)storage::for_each_record(
        b, [&](const storage::record_view& r) { out.emplace_back(r.value.value_or("")); });
  });
  return out;
}

storage::batch_header header_of(const std::string& batch) {
  storage::batch_header h;
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
  storage::for_each_batch(bytes,
                          [&](const storage::batch_header& x, std::span<const uint8_t>) { h = x; });
  return h;
}

}  // namespace

TEST_CASE("the leader delivers due envelopes in due order, one batch per target with its sequences",
          "[delay][schedule]") {
  temp_dir dir("sched");
  fake_log log;
  log.envelope(t0 + 2000, "orders", 1, {"late"});
  log.envelope(t0 + 1000, "orders", 1, {"a", "b"});
  log.envelope(t0 + 1000, "audit", 0, {"x"});
  log.envelope(t0 + 1000, "orders", 1, {"c"});
  auto s = open_replica(dir.path());
  log.replay_into(*s);
  REQUIRE(s->lead(t0));

  CHECK(s->due(t0 + 999, 100).empty());  // never early
  auto due = s->due(t0 + 1000, 100);
  REQUIRE(due.size() == 3);
  REQUIRE(s->can_plan());
  auto plan = s->plan(log.envelopes_of(due));
  REQUIRE(plan);
  CHECK(plan->record.number == 1);
  REQUIRE(plan->record.targets.size() == 2);
  const auto& orders = plan->record.targets[0];
  CHECK(orders.topic == "orders");
  CHECK(orders.first_seq == 0);
  CHECK(orders.records == 3);
  CHECK(values_in(plan->batches[0]) == std::vector<std::string>{"a", "b", "c"});  // log order
  auto h = header_of(plan->batches[0]);
  CHECK(h.producer_id == pid);
  CHECK(h.base_sequence == 0);
  CHECK(values_in(plan->batches[1]) == std::vector<std::string>{"x"});

  // The next dispatch to the same target continues its sequences.
  auto later = s->due(t0 + 2000, 100);
  REQUIRE(later.size() == 1);
  auto plan2 = s->plan(log.envelopes_of(later));
  REQUIRE(plan2);
  CHECK(plan2->record.number == 2);
  CHECK(plan2->record.targets[0].first_seq == 3);
  CHECK(header_of(plan2->batches[0]).base_sequence == 3);
}

TEST_CASE(
    "a new leader repeats an unfinished dispatch with the same sequences and plans no "
    "dispatched envelope again",
    "[delay][schedule]") {
  temp_dir dir("sched");
  fake_log log;
  log.envelope(t0 + 1000, "orders", 0, {"one"});
  log.envelope(t0 + 1000, "orders", 0, {"two"});
  log.envelope(t0 + 5000, "orders", 0, {"three"});
  auto old_leader = open_replica(dir.path() / "a");
  auto follower = open_replica(dir.path() / "b");
  log.replay_into(*old_leader);
  REQUIRE(old_leader->lead(t0));
  auto plan = old_leader->plan(log.envelopes_of(old_leader->due(t0 + 1000, 100)));
  REQUIRE(plan);
  log.add(plan->record);  // recorded; the old leader dies before its targets answer
  log.replay_into(*follower);

  REQUIRE(follower->lead(t0 + 1500));
  auto redo = follower->unfinished();
  REQUIRE(redo.size() == 1);
  CHECK(redo[0].number == plan->record.number);
  REQUIRE(redo[0].targets.size() == 1);
  CHECK(redo[0].targets[0].first_seq == 0);
  CHECK(redo[0].targets[0].records == 2);
  std::vector<const envelope_record*> envs;
  for (const auto& e : redo[0].targets[0].entries) {
    envs.push_back(&log.records[static_cast<size_t>(e.offset)].envelope);
  }
  auto again = schedule_partition::build_batch(redo[0].targets[0], envs, pid);
  REQUIRE(again);
  CHECK(*again == plan->batches[0]);             // byte for byte: the target sees a duplicate
  CHECK(follower->due(t0 + 1500, 100).empty());  // dispatched: never planned again
  follower->completed(redo[0].number);
  CHECK(follower->completed_through() == 1);

  auto next = follower->due(t0 + 5000, 100);
  REQUIRE(next.size() == 1);
  auto plan2 = follower->plan(log.envelopes_of(next));
  REQUIRE(plan2);
  CHECK(plan2->record.number == 2);
  CHECK(plan2->record.targets[0].first_seq == 2);
}

TEST_CASE("a dispatch record written twice is applied once", "[delay][schedule]") {
  temp_dir dir("sched");
  fake_log log;
  log.envelope(t0, "orders", 0, {"one"});
  auto leader = open_replica(dir.path() / "a");
  log.replay_into(*leader);
  REQUIRE(leader->lead(t0));
  auto plan = leader->plan(log.envelopes_of(leader->due(t0, 10)));
  REQUIRE(plan);
  log.add(plan->record);
  log.add(plan->record);  // a retried write whose first try had arrived
  log.add(progress_record{1, -1});
  auto replica = open_replica(dir.path() / "b");
  log.replay_into(*replica);
  CHECK(replica->completed_through() == 1);
  CHECK(replica->sequences().next_dispatch == 2);
  CHECK(replica->sequences().next_seq.at({"orders", 0}) == 1);
  REQUIRE(replica->lead(t0));
  CHECK(replica->unfinished().empty());
}

TEST_CASE(
    "at most max_in_flight dispatches are above the completion the log holds, completed in "
    "number order",
    "[delay][schedule]") {
  temp_dir dir("sched");
  fake_log log;
  for (int i = 0; i < 6; ++i) log.envelope(t0 + i, "orders", 0, {std::to_string(i)});
  auto s = open_replica(dir.path());
  log.replay_into(*s);
  REQUIRE(s->lead(t0));
  std::vector<uint64_t> numbers;
  for (int i = 0; i < 4; ++i) {
    REQUIRE(s->can_plan());
    auto p = s->plan(log.envelopes_of(s->due(t0 + i, 1)));
    REQUIRE(p);
    numbers.push_back(p->record.number);
  }
  CHECK_FALSE(s->can_plan());
  s->completed(numbers[1]);  // the second finishes first
  CHECK(s->completed_through() == 0);
  CHECK_FALSE(s->can_plan());
  s->completed(numbers[0]);
  CHECK(s->completed_through() == 2);
  // Not before a progress record says so: a leader taking over now would
  // repeat all four, and a target recognises a repeat among its last 5.
  CHECK_FALSE(s->can_plan());
  for (auto n : numbers) {
    dispatch_record d;
    d.number = n;
    log.add(d);
  }
  auto p = s->progress_due(t0 + 10, log.end());
  REQUIRE(p);
  CHECK(p->completed == 2);
  log.add(*p);
  log.replay_into(*s);
  CHECK(s->can_plan());
}

TEST_CASE(
    "a bucket whose entries were all delivered is reported once it ended and then "
    "removed by every replica",
    "[delay][schedule]") {
  temp_dir dir("sched");
  fake_log log;
  log.envelope(t0 + 10, "orders", 0, {"one"});
  auto leader = open_replica(dir.path() / "a");
  auto follower = open_replica(dir.path() / "b");
  log.replay_into(*leader);
  REQUIRE(leader->lead(t0));
  auto plan = leader->plan(log.envelopes_of(leader->due(t0 + 10, 10)));
  REQUIRE(plan);
  log.add(plan->record);
  log.replay_into(*leader);
  leader->completed(plan->record.number);
  const int64_t bucket = t0 - t0 % 60000;
  const int64_t bucket_end = bucket + 60000;
  // Completion is reported at once; the bucket only after it ended and the
  // log end seen then was applied.
  auto p1 = leader->progress_due(t0 + 20, log.end());
  REQUIRE(p1);
  CHECK(p1->completed == 1);
  CHECK(p1->bucket == -1);
  CHECK_FALSE(leader->progress_due(t0 + 30, log.end()));
  log.add(*p1);
  log.replay_into(*leader);
  auto p2 = leader->progress_due(bucket_end, log.end() + 1);  // one more record to apply
  CHECK_FALSE(p2);
  log.envelope(bucket_end + 5, "orders", 0, {"two"});
  log.replay_into(*leader);
  auto p3 = leader->progress_due(bucket_end + 1, log.end());
  REQUIRE(p3);
  CHECK(p3->bucket == bucket);
  log.add(*p3);
  log.replay_into(*leader);
  log.replay_into(*follower);
  CHECK(follower->bucket_files() == 1);  // only the bucket of "two"
  CHECK(leader->bucket_files() == 1);
}

TEST_CASE("a bucket is not reported delivered while a dispatch into it is to be repeated",
          "[delay][schedule]") {
  temp_dir dir("sched");
  fake_log log;
  log.envelope(t0 + 10, "orders", 0, {"one"});
  auto old_leader = open_replica(dir.path() / "a");
  log.replay_into(*old_leader);
  REQUIRE(old_leader->lead(t0));
  auto plan = old_leader->plan(log.envelopes_of(old_leader->due(t0 + 10, 10)));
  REQUIRE(plan);
  log.add(plan->record);
  auto next = open_replica(dir.path() / "b");
  log.replay_into(*next);
  const int64_t bucket_end = t0 - t0 % 60000 + 60000;
  REQUIRE(next->lead(bucket_end + 1));
  REQUIRE(next->unfinished().size() == 1);
  CHECK_FALSE(next->progress_due(bucket_end + 2, log.end()));
  next->completed(plan->record.number);
  auto p = next->progress_due(bucket_end + 3, log.end());
  REQUIRE(p);
  CHECK(p->completed == 1);
  CHECK(p->bucket == t0 - t0 % 60000);
}

TEST_CASE("a replica's index survives a restart at its checkpoint and is rebuilt without one",
          "[delay][schedule]") {
  temp_dir dir("sched");
  fake_log log;
  log.envelope(t0 + 1000, "orders", 0, {"one"});
  log.envelope(t0 + 2000, "orders", 0, {"two"});
  {
    auto s = open_replica(dir.path() / "a");
    log.replay_into(*s);
    REQUIRE(s->checkpoint());
    auto b = open_replica(dir.path() / "b");
    log.replay_into(*b);  // never checkpointed
  }
  auto s = open_replica(dir.path() / "a");
  CHECK(s->applied_offset() == 2);
  CHECK(s->sequences().next_dispatch == 1);
  REQUIRE(s->lead(t0));
  CHECK(s->due(t0 + 2000, 10).size() == 2);
  auto b = open_replica(dir.path() / "b");
  CHECK(b->applied_offset() == 0);
  CHECK(b->bucket_files() == 0);
}

TEST_CASE("an envelope whose batch does not parse cannot be planned", "[delay][schedule]") {
  temp_dir dir("sched");
  fake_log log;
  log.envelope(t0, "orders", 0, {"one"});
  log.records[0].envelope.batch = "not a batch";
  auto s = open_replica(dir.path());
  log.replay_into(*s);
  REQUIRE(s->lead(t0));
  auto p = s->plan(log.envelopes_of(s->due(t0, 10)));
  CHECK_FALSE(p);
}

TEST_CASE("a corrupt index checkpoint is refused, never trusted", "[delay][schedule]") {
  temp_dir dir("sched");
  fake_log log;
  log.envelope(t0 + 1000, "orders", 0, {"one"});
  {
    auto s = open_replica(dir.path());
    log.replay_into(*s);
    REQUIRE(s->checkpoint());
  }
  auto path = dir.path() / "state";
  auto bytes = storage::read_file(path);
  REQUIRE(bytes);
  std::string flipped = *bytes;
  flipped[8] ^= 0x01;  // inside the applied offset
  std::ofstream(path, std::ios::binary | std::ios::trunc) << flipped;
  schedule_partition_config c;
  c.dir = dir.path();
  auto reopened = schedule_partition::open(c);
  REQUIRE_FALSE(reopened);
  CHECK(reopened.error() == storage::errc::corrupt_checkpoint);
}

TEST_CASE("a fired entry that can never be delivered is dropped and does not keep its bucket",
          "[delay][schedule]") {
  temp_dir dir("sched");
  fake_log log;
  const auto gone = log.envelope(t0 + 10, "orders", 0, {"unreadable"});
  log.envelope(t0 + 20, "orders", 0, {"fine"});
  auto leader = open_replica(dir.path());
  log.replay_into(*leader);
  REQUIRE(leader->lead(t0));
  auto due = leader->due(t0 + 20, 10);
  REQUIRE(due.size() == 2);
  // The actor found no envelope at `gone`: dropped, the other delivered.
  leader->drop({gone});
  auto envs = log.envelopes_of(due);
  envs.erase(envs.begin());
  auto plan = leader->plan(envs);
  REQUIRE(plan);
  CHECK(values_in(plan->batches.at(0)) == std::vector<std::string>{"fine"});
  log.add(plan->record);
  log.replay_into(*leader);
  leader->completed(plan->record.number);
  CHECK(leader->due(t0 + 60000, 10).empty());  // never fired again
  const int64_t bucket = t0 - t0 % 60000;
  auto p = leader->progress_due(bucket + 60000, log.end());
  REQUIRE(p);
  CHECK(p->bucket == bucket);  // nothing left in it
}

TEST_CASE(
    "every replica counts pending records per delay class until their dispatch, across a "
    "restart",
    "[delay][schedule]") {
  temp_dir dir("sched");
  constexpr int64_t hour = 3'600'000;
  using counts = std::vector<std::pair<delay_class, uint64_t>>;
  fake_log log;
  log.envelope(t0 + 1000, "orders", 0, {"a", "b"}, level_class(1));
  log.envelope(t0 + 1000, "orders", 0, {"c"}, level_class(1));
  log.envelope(t0 + 1000, "orders", 0, {"old"});  // an earlier release's: unknown
  log.envelope(t0 + 5000, "orders.g.retry", 0, {"r"}, delay_class::retry);
  log.envelope(t0 + 2 * hour, "orders", 0, {"late"}, level_class(18));
  log.envelope(t0 + 3 * hour, "orders", 0, {"x", "y"}, delay_class::deliver_at);
  auto s = open_replica(dir.path() / "a");
  CHECK(s->pending_by_class().empty());
  log.replay_into(*s);
  const counts all{{delay_class::unknown, 1},
                   {level_class(1), 3},
                   {level_class(18), 1},
                   {delay_class::retry, 1},
                   {delay_class::deliver_at, 2}};
  CHECK(s->pending_by_class() == all);

  // Fired and planned, they stay pending until the dispatch is applied;
  // its entries carry their class and records.
  REQUIRE(s->lead(t0));
  auto due = s->due(t0 + 1000, 100);
  REQUIRE(due.size() == 3);
  auto plan = s->plan(log.envelopes_of(due));
  REQUIRE(plan);
  CHECK(s->pending_by_class() == all);
  REQUIRE(plan->record.targets.size() == 1);
  const auto& entries = plan->record.targets[0].entries;
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].cls == level_class(1));
  CHECK(entries[0].records == 2);
  CHECK(entries[2].cls == delay_class::unknown);
  log.add(plan->record);
  log.add(plan->record);  // written twice: subtracted once
  log.replay_into(*s);
  const counts left{{level_class(18), 1}, {delay_class::retry, 1}, {delay_class::deliver_at, 2}};
  CHECK(s->pending_by_class() == left);

  // A dispatch of an earlier release (entries without class) subtracts
  // nothing.
  dispatch_record old;
  old.number = plan->record.number + 1;
  old.targets.push_back({"orders.g.retry", 0, 0, 1, {{3, t0 + 5000}}});
  log.add(old);
  log.replay_into(*s);
  CHECK(s->pending_by_class() == left);

  // A restart reads the counts back with the applied offset; another
  // replica of the same log counts the same.
  REQUIRE(s->checkpoint());
  s.reset();
  s = open_replica(dir.path() / "a");
  CHECK(s->pending_by_class() == left);
  auto b = open_replica(dir.path() / "b");
  log.replay_into(*b);
  CHECK(b->pending_by_class() == left);
  // A reset index (the replica's log was cut) counts again from the log.
  REQUIRE(b->reset(0));
  CHECK(b->pending_by_class().empty());
}
