#pragma once
// Helpers for in-process actor tests: a real caf::actor_system with two
// scheduler threads, a broker (topic registry + group coordinator) over a
// temp data dir, bounded request helpers, record batches built with
// storage::record_batch_builder and reading a partition back into records.
//
// Every wait is bounded: requests carry request_timeout, session calls wait
// at most request_timeout for their completion callback, and poll loops end
// at a deadline.

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "actors/errc.h"
#include "actors/flush/flusher_actor.h"
#include "actors/group/group_actor.h"
#include "actors/logger.h"
#include "actors/partition/partition_actor.h"
#include "actors/session/session_actor.h"
#include "actors/topic/topic_registry_actor.h"
#include "storage/log.h"
#include "storage/logger.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace actormq::test {

namespace fs = std::filesystem;

/// Upper bound of every request and session call in the actor tests.
inline constexpr auto request_timeout = std::chrono::seconds(15);

/// Keeps test output to warnings and errors (a restarted partition logs one).
inline const bool quiet_actor_logs = [] {
  storage::logger().set_level(spdlog::level::warn);
  actor_log().set_level(spdlog::level::warn);
  return true;
}();

/// The broker's actor system settings, sized for the 2-core test machines.
struct test_system_config : caf::actor_system_config {
  test_system_config() {
    set("scheduler.max-threads", size_t{2});
    set("logger.verbosity", caf::atom("quiet"));
  }
};

/// One request, waited for at most request_timeout; the reply or the error.
template <class T, class Dest, class... Ts>
caf::expected<T> ask(caf::scoped_actor& self, const Dest& dest, Ts&&... xs) {
  caf::expected<T> out = caf::make_error(caf::sec::request_timeout);
  self->request(dest, request_timeout, std::forward<Ts>(xs)...)
      .receive([&](T& x) { out = std::move(x); }, [&](caf::error& e) { out = std::move(e); });
  return out;
}

/// The errc of a failed expected (none when it holds a value).
template <class T>
errc code_of(const caf::expected<T>& x) {
  return x ? errc::none : actormq::code_of(x.error());
}

/// Sends an exit to a and waits (bounded) until it has terminated, so its
/// state (e.g. a partition's log) is closed when this returns. False when it
/// did not end in time.
inline bool stop_and_wait(caf::actor_system& sys, const caf::actor& a,
                          caf::exit_reason reason = caf::exit_reason::user_shutdown) {
  caf::scoped_actor self{sys};
  self->monitor(a);
  self->send_exit(a, reason);
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(request_timeout) >> [] {});
  return down;
}

/// Runs f until it returns true, pausing pause between tries; false when
/// the deadline passed first. For conditions no message announces (a
/// supervisor's restart, a session expiry).
inline bool poll_until(const std::function<bool()>& f,
                       std::chrono::milliseconds deadline = std::chrono::seconds(10),
                       std::chrono::milliseconds pause = std::chrono::milliseconds(10)) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (f()) return true;
    std::this_thread::sleep_for(pause);
  }
  return f();
}

// ------------------------------------------------------------------ batches

/// Producer fields of an idempotent batch.
struct producer_fields {
  int64_t id = -1;
  int16_t epoch = -1;
  int32_t base_sequence = -1;
};

/// One batch holding the given values (keys optional), as produce takes it.
inline std::shared_ptr<std::string> make_batch(const std::vector<std::string>& values,
                                               std::optional<std::string> key = std::nullopt,
                                               producer_fields producer = {}) {
  storage::record_batch_builder b;
  if (producer.id >= 0) b.set_producer(producer.id, producer.epoch, producer.base_sequence);
  auto ts = storage::system_now();
  for (const auto& v : values) {
    if (key) {
      b.add(*key, v, ts);
    } else {
      b.add(std::nullopt, v, ts);
    }
  }
  return std::make_shared<std::string>(b.build());
}

inline produce_request make_produce(const std::vector<std::string>& values,
                                    acks_level acks = acks_level::leader,
                                    producer_fields producer = {}) {
  return produce_request{make_batch(values, std::nullopt, producer), acks};
}

// ------------------------------------------------------------------ reading

/// One record as the tests see it.
struct record {
  int64_t offset = -1;
  std::optional<std::string> key;
  std::string value;
  bool operator==(const record&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const record& r) {
  return os << "{" << r.offset << " " << (r.key ? *r.key : "<null>") << "=" << r.value << "}";
}

/// The records of the whole batches in a fetch slice.
inline std::vector<record> records_of(const storage::read_slice& slice) {
  std::vector<record> out;
  if (slice.length == 0) return out;
  std::string buf(slice.length, '\0');
  auto st =
      slice.file->read_at(slice.position, {reinterpret_cast<uint8_t*>(buf.data()), buf.size()});
  REQUIRE(st);
  std::span<const uint8_t> bytes{reinterpret_cast<const uint8_t*>(buf.data()), buf.size()};
  auto used = storage::for_each_batch(bytes, [&](const storage::batch_header&, auto batch) {
    auto rs = storage::for_each_record(batch, [&](const storage::record_view& r) {
      out.push_back({r.record_offset(),
                     r.key ? std::optional<std::string>(std::string(*r.key)) : std::nullopt,
                     r.value ? std::string(*r.value) : std::string()});
    });
    REQUIRE(rs);
  });
  REQUIRE(used == buf.size());
  return out;
}

/// Every record of a partition from offset from up to its high watermark.
inline std::vector<record> read_partition(caf::scoped_actor& self, const partition_actor& p,
                                          int64_t from = 0) {
  std::vector<record> out;
  auto offs = ask<partition_offsets>(self, p, offsets_atom::value);
  REQUIRE(offs);
  int64_t at = from;
  while (at < offs->high_watermark) {
    auto r = ask<fetch_reply>(self, p, fetch_atom::value, fetch_request{at, 256 << 10});
    REQUIRE(r);
    REQUIRE(r->slice.length > 0);
    auto recs = records_of(r->slice);
    for (auto& x : recs) {
      if (x.offset >= at) out.push_back(std::move(x));
    }
    at = r->slice.next_offset();
  }
  return out;
}

/// Values of records, for comparisons that do not care about offsets.
inline std::vector<std::string> values_of(const std::vector<record>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.value);
  return out;
}

// ------------------------------------------------------------ partition only

/// Opens (or reopens) the log of a partition in dir the way the registry does.
/// segment_bytes: 0 keeps the topic default.
inline std::shared_ptr<storage::log> open_test_log(const fs::path& dir,
                                                   uint64_t segment_bytes = 0) {
  auto cfg = topic_config{}.log_config();
  if (segment_bytes > 0) cfg.segment_bytes = segment_bytes;
  auto log = storage::log::open(dir, cfg);
  REQUIRE(log);
  return std::shared_ptr<storage::log>(std::move(*log));
}

/// An actor system with a flusher and partition actors over logs in
/// directories of the test's choosing, without a registry. The destructor
/// stops every actor spawned here, also when an assertion ended the test.
class partition_env {
 public:
  partition_env() : sys_(cfg_), flusher(spawn_flusher(sys_)) {}
  ~partition_env() {
    for (auto& a : actors_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(flusher, caf::exit_reason::user_shutdown);
  }
  partition_env(const partition_env&) = delete;
  partition_env& operator=(const partition_env&) = delete;

  caf::actor_system& sys() { return sys_; }

  /// A partition over the log in dir (opened as the registry opens it),
  /// syncing through via (default: the shared flusher).
  partition_actor spawn(const fs::path& dir, caf::actor via = {},
                        storage::flush_policy flush = storage::flush_policy::never(),
                        uint64_t segment_bytes = 0) {
    partition_settings ps;
    ps.flush = flush;
    return spawn(dir, std::move(ps), std::move(via), segment_bytes);
  }

  /// The same with settings of the test's choosing (topic "t", partition 0).
  partition_actor spawn(const fs::path& dir, partition_settings ps, caf::actor via = {},
                        uint64_t segment_bytes = 0) {
    ps.topic = "t";
    ps.partition = 0;
    auto p = spawn_partition(sys_, std::move(ps), open_test_log(dir, segment_bytes),
                             via ? via : flusher);
    actors_.push_back(caf::actor_cast<caf::actor>(p));
    return p;
  }

  /// A partition of a replicated topic over the log in dir: it serves
  /// nothing until told to lead (lead_atom) and proposes in-sync-set
  /// changes to isr_writer (may be null).
  partition_actor spawn_replicated(const fs::path& dir, isr_writer_actor isr_writer = {},
                                   int32_t partition = 0) {
    partition_settings ps;
    ps.topic = "t";
    ps.partition = static_cast<uint32_t>(partition);
    ps.flush = storage::flush_policy::never();
    ps.replicated = true;
    ps.isr_writer = std::move(isr_writer);
    ps.tick_interval = std::chrono::milliseconds(20);
    auto p = spawn_partition(sys_, std::move(ps), open_test_log(dir), flusher);
    actors_.push_back(caf::actor_cast<caf::actor>(p));
    return p;
  }

  /// Keeps another actor of the test, stopped with the others.
  void adopt(caf::actor a) { actors_.push_back(std::move(a)); }

 private:
  test_system_config cfg_;
  caf::actor_system sys_;

 public:
  caf::actor flusher;

 private:
  std::vector<caf::actor> actors_;
};

// -------------------------------------------------------------------- broker

/// A broker without the network: actor system, topic registry and group
/// coordinator over data_dir. shutdown() stops it as app/broker/main.cpp does
/// (close_atom to coordinator and registry) and waits for every actor.
class broker_env {
 public:
  explicit broker_env(const fs::path& data_dir, registry_settings rs = {},
                      coordinator_settings cs = {})
      : sys_(cfg_) {
    rs.data_dir = data_dir;
    auto reg = spawn_topic_registry(sys_, std::move(rs));
    REQUIRE(reg);
    registry = *reg;
    cs.data_dir = data_dir;
    cs.registry = registry;
    auto coord = spawn_group_coordinator(sys_, std::move(cs));
    REQUIRE(coord);
    coordinator = *coord;
  }
  ~broker_env() { shutdown(); }
  broker_env(const broker_env&) = delete;
  broker_env& operator=(const broker_env&) = delete;

  caf::actor_system& sys() { return sys_; }

  /// tweak may change the settings (quota bounds, say) before the spawn.
  caf::actor spawn_test_session(std::function<void(session_settings&)> tweak = {}) {
    session_settings ss;
    ss.registry = registry;
    ss.coordinator = coordinator;
    ss.peer = "test";
    ss.request_timeout = std::chrono::seconds(10);
    if (tweak) tweak(ss);
    auto s = spawn_session(sys_, std::move(ss));
    sessions_.push_back(s);
    return s;
  }

  /// Creates a topic and returns its handle (the test fails otherwise).
  topic_handle create_topic(const std::string& name, uint32_t partitions, topic_config cfg = {}) {
    caf::scoped_actor self{sys_};
    cfg.partitions = partitions;
    auto h = ask<topic_handle>(self, registry, create_atom::value, name, cfg);
    REQUIRE(h);
    REQUIRE(h->partitions.size() == partitions);
    return *h;
  }

  /// Stops sessions, the coordinator (its groups) and the registry (its
  /// partitions and flushers), then waits until all of them have ended.
  /// Scoped actors count as running actors: destroy them first (the
  /// destructor runs after those declared later in the test).
  void shutdown() {
    if (stopped_) return;
    stopped_ = true;
    for (auto& s : sessions_) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    sessions_.clear();
    caf::anon_send(coordinator, close_atom::value);
    caf::anon_send(registry, close_atom::value);
    sys_.await_all_actors_done();
  }

  topic_registry_actor registry;
  group_coordinator_actor coordinator;

 private:
  test_system_config cfg_;
  caf::actor_system sys_;
  std::vector<caf::actor> sessions_;
  bool stopped_ = false;
};

/// Runs one session operation and waits (bounded) for its completion
/// callback. op receives the session state and the callback to pass on,
/// e.g. [&](session_state& s, auto done) { s.produce("t", 0, acks, batch, done); }.
template <class T>
caf::expected<T> session_call(const caf::actor& session,
                              std::function<void(session_state&, done_fn<T>)> op) {
  auto p = std::make_shared<std::promise<caf::expected<T>>>();
  auto fut = p->get_future();
  caf::anon_send(session, call_atom::value, session_task{[p, op](session_state& s) {
                   op(s, [p](caf::expected<T> r) { p->set_value(std::move(r)); });
                 }});
  if (fut.wait_for(request_timeout) != std::future_status::ready) {
    return make_error(errc::timeout, "session call did not complete");
  }
  return fut.get();
}

}  // namespace actormq::test
