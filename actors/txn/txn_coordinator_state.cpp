#include "actors/txn/txn_coordinator_state.h"

#include <fmt/format.h>

#include <algorithm>

#include "actors/delay/schedule_envelope.h"
#include "actors/errc.h"
#include "actors/logger.h"
#include "storage/log_config.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace actormq {

namespace {

using storage::timestamp_ms;
using storage::txn_decision;
using storage::txn_id;
using txn::txn_event;
using txn::txn_outcome;
using txn::txn_state;

int64_t now_ms() {
  return storage::system_now()();
}
constexpr int64_t retry_delay_ms = 1000;
constexpr auto request_timeout = std::chrono::seconds(30);
/// Finished transactions listed for operators: the newest this many.
constexpr size_t listed_finished = 1000;

txn_state state_of(txn_decision d) {
  switch (d) {
    case txn_decision::none:
      return txn_state::open;
    case txn_decision::commit:
      return txn_state::committed;
    case txn_decision::rollback:
      return txn_state::rolled_back;
    case txn_decision::unresolved:
      return txn_state::unresolved;
  }
  return txn_state::open;
}

delay::timer_key timer_of(uint64_t id) {
  return {delay::timer_kind::txn_check, delay::timer_id(id)};
}

/// The half message as it goes to the unresolved topic: the same records
/// with headers naming the transaction and its target.
std::shared_ptr<std::string> unresolved_batch(const storage::txn_record& r) {
  storage::record_batch_builder b;
  auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(r.half.batch.data()),
                                        r.half.batch.size());
  std::vector<storage::record_header> extra = {
      {"txn.id", std::to_string(r.id())},
      {"txn.group", r.half.group},
      {"txn.topic", r.half.topic},
      {"txn.partition", std::to_string(r.half.partition)},
  };
  storage::for_each_batch(bytes, [&](const storage::batch_header&, std::span<const uint8_t> batch) {
    (void)storage::for_each_record(batch, [&](const storage::record_view& v) {
      std::vector<storage::record_header> hs;
      for (const auto& h : v.headers) {
        hs.push_back({std::string(h.key),
                      h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt});
      }
      hs.insert(hs.end(), extra.begin(), extra.end());
      b.add(v.key, v.value, v.timestamp, hs);
    });
  });
  return std::make_shared<std::string>(b.build());
}

}  // namespace

caf::error txn_coordinator_state::open(txn_settings settings) {
  settings_ = std::move(settings);
  storage::txn_log_config lc;
  lc.max_batch_bytes = settings_.max_batch_bytes;
  storage::recovery_report report;
  auto l = storage::txn_log::open(settings_.dir, lc, &report);
  if (!l) return from_storage(l.error(), "open transaction log");
  log_ = std::move(*l);
  delay::timing_wheel_config wc;
  wc.tick = std::chrono::milliseconds(10);  // check times need no finer grain
  auto w = delay::timing_wheel::make(wc, timestamp_ms(now_ms()));
  if (!w) return from_storage(w.error(), "transaction timing wheel");
  wheel_.emplace(std::move(*w));
  for (const auto& [id, r] : log_->records()) {
    if (r.finished()) continue;
    live_.emplace(id(), runtime{txn::txn_state_machine(r.created(), state_of(r.decision), r.checks,
                                                       r.next_check()),
                                false,
                                {}});
  }
  return {};
}

void txn_coordinator_state::attach(self_ptr self) {
  self_ = self;
  size_t open = 0, undelivered = 0;
  for (auto& [id, rt] : live_) {
    if (rt.machine.is_open()) {
      ++open;
      schedule(id, rt.machine.next_check_ms(settings_.policy));
    } else {
      // A synced decision whose delivery was not recorded: deliver again.
      ++undelivered;
      rt.delivering = true;
      deliver(id);
    }
  }
  actor_log().info("txn-coordinator: {} open transactions resumed, {} decided ones to deliver",
                   open, undelivered);
}

const storage::txn_record* txn_coordinator_state::record(uint64_t id) const {
  return log_->find(txn_id(id));
}

// --- half messages ---

caf::result<uint64_t> txn_coordinator_state::half(txn_half_request& req) {
  if (!req.batch || req.batch->empty()) return make_error(errc::invalid_batch, "empty batch");
  auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(req.batch->data()),
                                        req.batch->size());
  auto h =
      storage::validate_batch(bytes, settings_.max_batch_bytes, storage::validation::full_records);
  if (!h) return from_storage(h.error(), "half message batch");
  if (h->size_bytes() != bytes.size()) {
    return make_error(errc::invalid_request, "a half message carries exactly one batch");
  }
  if (auto why = invalid_topic_name(req.group, true)) {
    return make_error(errc::invalid_request, "producer group: " + *why);
  }
  if (log_->unfinished() >= settings_.max_open_transactions) {
    return make_error(errc::busy, fmt::format("{} transactions are open (max_open); retry later",
                                              log_->unfinished()));
  }
  auto rp = self_->make_response_promise<uint64_t>();
  topics_.with(
      self_, settings_.registry, req.topic,
      [this, req, rp](caf::expected<topic_handle> th) mutable {
        if (!th) return rp.deliver(th.error()), void();
        if (req.partition >= th->partitions.size()) {
          rp.deliver(make_error(errc::unknown_partition,
                                fmt::format("{} has no partition {}", req.topic, req.partition)));
          return;
        }
        append_half(std::move(req), rp);
      });
  return rp;
}

void txn_coordinator_state::append_half(txn_half_request req,
                                        caf::typed_response_promise<uint64_t> rp) {
  auto now = now_ms();
  storage::txn_half h{req.group,         req.topic,    req.partition,
                      req.deliver_at_ms, req.delay_ms, *req.batch};
  auto id = log_->append_half(std::move(h), timestamp_ms(now));
  if (!id) {
    rp.deliver(from_storage(id.error(), "append to transaction log"));
    return;
  }
  uint64_t n = (*id)();
  auto& rt = live_.emplace(n, runtime{txn::txn_state_machine(now), false, {}}).first->second;
  schedule(n, rt.machine.next_check_ms(settings_.policy));
  after_sync([rp, n](const caf::error& err) mutable {
    if (err) return rp.deliver(err), void();
    rp.deliver(n);
  });
}

void txn_coordinator_state::after_sync(std::function<void(const caf::error&)> k) {
  sync_waiters_.push_back(std::move(k));
  if (!flush_queued_) {
    // Behind every request already queued: one sync covers them all.
    flush_queued_ = true;
    self_->send(self_, flush_atom::value);
  }
}

void txn_coordinator_state::flush() {
  flush_queued_ = false;
  caf::error err;
  if (auto st = log_->flush(); !st) err = from_storage(st.error(), "sync transaction log");
  auto waiters = std::move(sync_waiters_);
  sync_waiters_.clear();
  for (auto& w : waiters) w(err);
}

// --- decisions ---

caf::result<bool> txn_coordinator_state::end(uint64_t id, bool commit) {
  auto ev = commit ? txn_event::commit : txn_event::rollback;
  auto it = live_.find(id);
  if (it == live_.end()) {
    const auto* r = record(id);
    if (r == nullptr) {
      return make_error(errc::unknown_transaction,
                        fmt::format("no transaction {} (unknown or long finished)", id));
    }
    txn::txn_state_machine m(r->created(), state_of(r->decision));
    auto t = m.on(ev);
    if (t.outcome == txn_outcome::refused) {
      return make_error(t.reason, fmt::format("transaction {} is {}", id, to_string(m.state())));
    }
    return true;
  }
  auto& rt = it->second;
  auto t = rt.machine.on(ev);
  if (t.outcome == txn_outcome::refused) {
    return make_error(t.reason, fmt::format("transaction {} is {}", id, to_string(t.state)));
  }
  auto rp = self_->make_response_promise<bool>();
  if (t.outcome == txn_outcome::no_op) {
    // A repeated commit answers once the first one is delivered.
    if (commit && rt.delivering) {
      rt.waiters.push_back(rp);
    } else {
      rp.deliver(true);
    }
    return rp;
  }
  if (commit) {
    rt.waiters.push_back(rp);
    decide(id, rt, txn_decision::commit);
  } else {
    decide(id, rt, txn_decision::rollback);  // rt is gone now
    after_sync([rp](const caf::error& err) mutable {
      if (err) return rp.deliver(err), void();
      rp.deliver(true);
    });
  }
  return rp;
}

void txn_coordinator_state::decide(uint64_t id, runtime& rt, txn_decision d) {
  auto now = now_ms();
  const auto* r = record(id);
  if (r != nullptr) {
    if (auto w = waiting_.find(r->half.group); w != waiting_.end()) w->second.erase(id);
  }
  wheel_->cancel(timer_of(id));
  in_flight_.erase(id);
  if (auto st = log_->append_decision(txn_id(id), d, timestamp_ms(now)); !st) {
    auto err = from_storage(st.error(), "record transaction decision");
    actor_log().error("txn-coordinator: transaction {}: {}", id, text_of(err));
    for (auto& w : rt.waiters) w.deliver(err);
    rt.waiters.clear();
    return;
  }
  if (d == txn_decision::rollback) {
    ++stats_.rolled_back;
    live_.erase(id);
    return;
  }
  rt.delivering = true;
  after_sync([this, id](const caf::error& err) {
    if (!err) return deliver(id);
    auto it = live_.find(id);
    if (it == live_.end()) return;
    for (auto& w : it->second.waiters) w.deliver(err);
    it->second.waiters.clear();
  });
}

void txn_coordinator_state::deliver(uint64_t id) {
  const auto* r = record(id);
  if (r == nullptr || !live_.count(id)) return;
  if (r->decision == txn_decision::unresolved) {
    auto batch = unresolved_batch(*r);
    with_unresolved_topic([this, id, batch](caf::expected<topic_handle> th) {
      if (!th) return delivered(id, th.error());
      self_
          ->request(th->partitions[0], request_timeout, produce_atom::value,
                    produce_request{batch, acks_level::fsync})
          .then([this, id](produce_reply&) { delivered(id, {}); },
                [this, id](caf::error& e) { delivered(id, e); });
    });
    return;
  }
  auto batch = std::make_shared<std::string>(r->half.batch);
  delay::clear_producer(*batch);  // the coordinator, not the producer, appends it
  auto topic = r->half.topic;
  auto partition = r->half.partition;
  int64_t due = r->half.deliver_at_ms;
  if (r->half.delay_ms > 0) due = std::max(due, r->decided() + r->half.delay_ms);
  if (due > now_ms()) {
    self_
        ->request(settings_.delay, request_timeout, produce_atom::value,
                  delayed_produce{topic, partition, due, batch, acks_level::fsync})
        .then([this, id](schedule_reply&) { delivered(id, {}); },
              [this, id](caf::error& e) { delivered(id, e); });
    return;
  }
  topics_.with(self_, settings_.registry, topic,
               [this, id, batch, topic, partition](caf::expected<topic_handle> th) {
                 if (!th) return delivered(id, th.error());
                 if (partition >= th->partitions.size()) {
                   return delivered(id, make_error(errc::unknown_partition));
                 }
                 self_
                     ->request(th->partitions[partition], request_timeout, produce_atom::value,
                               produce_request{batch, acks_level::fsync})
                     .then([this, id](produce_reply&) { delivered(id, {}); },
                           [this, id, topic](caf::error& e) {
                             if (e.category() != errc_category) topics_.forget(topic);
                             delivered(id, e);
                           });
               });
}

void txn_coordinator_state::delivered(uint64_t id, const caf::error& err) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  if (err) {
    // Never dropped: a decided message is retried until its target takes
    // it (a deleted target topic needs an operator; the ERROR line says so).
    auto code = code_of(err);
    bool permanent = code == errc::unknown_topic || code == errc::unknown_partition;
    const auto* r = record(id);
    auto line = fmt::format(
        "txn-coordinator: delivery of transaction {} to {}/{} failed ({}); "
        "retrying in {} ms",
        id, r ? r->half.topic : "?", r ? r->half.partition : 0, text_of(err), retry_delay_ms);
    if (permanent)
      actor_log().error("{}", line);
    else
      actor_log().warn("{}", line);
    retry_later(id);
    return;
  }
  const auto* r = record(id);
  bool unresolved = r != nullptr && r->decision == txn_decision::unresolved;
  if (auto st = log_->append_applied(txn_id(id), timestamp_ms(now_ms())); !st) {
    actor_log().error("txn-coordinator: transaction {}: cannot record delivery: {}", id,
                      st.error().message());
  }
  after_sync([](const caf::error&) {});
  if (!unresolved) ++stats_.committed;
  auto waiters = std::move(it->second.waiters);
  live_.erase(it);
  for (auto& w : waiters) w.deliver(true);
}

void txn_coordinator_state::retry_later(uint64_t id) {
  retries_.emplace(now_ms() + retry_delay_ms, id);
}

void txn_coordinator_state::with_unresolved_topic(
    std::function<void(caf::expected<topic_handle>)> k) {
  topic_config cfg;
  cfg.partitions = 1;
  cfg.retention_ms = -1;  // alerts are kept until an operator deals with them
  self_
      ->request(settings_.registry, request_timeout, create_atom::value,
                std::string(unresolved_transactions_topic), cfg, internal_atom::value)
      .then([k](topic_handle& h) { k(std::move(h)); }, [k](caf::error& e) { k(std::move(e)); });
}

// --- check-backs ---

void txn_coordinator_state::schedule(uint64_t id, int64_t due_ms) {
  wheel_->cancel(timer_of(id));
  delay::timer_entry e{timestamp_ms(due_ms), delay::timer_kind::txn_check, delay::timer_id(id)};
  if (wheel_->add(e) == delay::timing_wheel::add_result::overflow) {
    // Beyond the wheel's window: fire at its edge, fire() re-schedules.
    e.due = wheel_->window_end() - 1;
    (void)wheel_->add(e);
  }
}

void txn_coordinator_state::tick() {
  auto now = now_ms();
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second.deadline_ms > now) {
      ++it;
      continue;
    }
    txn_check_answer timed_out{it->first, it->second.count, txn_check_status::unknown,
                               "no answer in time"};
    ++it;
    on_answer(timed_out);
  }
  while (!retries_.empty() && retries_.begin()->first <= now) {
    auto id = retries_.begin()->second;
    retries_.erase(retries_.begin());
    deliver(id);
  }
  size_t room = settings_.max_checks_in_flight > in_flight_.size()
                    ? settings_.max_checks_in_flight - in_flight_.size()
                    : 0;
  if (room == 0) return;  // due checks wait in the wheel
  for (const auto& e : wheel_->advance(timestamp_ms(now), room)) fire(e.id(), now);
}

void txn_coordinator_state::fire(uint64_t id, int64_t now) {
  auto it = live_.find(id);
  if (it == live_.end() || !it->second.machine.is_open()) return;
  auto& rt = it->second;
  if (auto f = in_flight_.find(id); f != in_flight_.end()) {
    schedule(id, f->second.deadline_ms + 1);
    return;
  }
  int64_t due = rt.machine.next_check_ms(settings_.policy);
  if (due > now) return schedule(id, due);
  if (rt.machine.checks_exhausted(settings_.policy)) return give_up(id, rt);
  send_check(id, rt, now);
}

void txn_coordinator_state::send_check(uint64_t id, runtime& rt, int64_t now) {
  const auto* r = record(id);
  if (r == nullptr) return;
  auto cit = checkers_.find(r->half.group);
  if (cit == checkers_.end() || cit->second.empty()) {
    // Nobody to ask: wait (uncounted) for a producer of the group.
    if (waiting_[r->half.group].insert(id).second) {
      actor_log().info(
          "txn-coordinator: transaction {} is due for a check but no producer of "
          "group {} is connected; waiting for one",
          id, r->half.group);
    }
    return;
  }
  auto session = cit->second[next_checker_++ % cit->second.size()];
  rt.machine.start_check(now, settings_.policy);
  auto count = rt.machine.checks();
  auto next = rt.machine.next_check_ms(settings_.policy);
  if (auto st = log_->append_check(txn_id(id), count, timestamp_ms(next), timestamp_ms(now)); !st) {
    actor_log().error("txn-coordinator: transaction {}: cannot record check: {}", id,
                      st.error().message());
  }
  after_sync([](const caf::error&) {});
  in_flight_[id] = {now + settings_.check_timeout.count(), count};
  ++stats_.checks_sent;
  schedule(id, next);
  actor_log().debug("txn-coordinator: check {} of {} for transaction {} (group {})", count,
                    settings_.policy.max_checks, id, r->half.group);
  caf::anon_send(session, check_atom::value,
                 txn_check_request{id, r->half.group, r->half.topic, r->half.partition,
                                   std::make_shared<const std::string>(r->half.batch), count});
}

void txn_coordinator_state::on_answer(const txn_check_answer& a) {
  auto f = in_flight_.find(a.id);
  bool current = f != in_flight_.end() && f->second.count == a.check_count;
  auto it = live_.find(a.id);
  if (it == live_.end() || !it->second.machine.is_open()) {
    if (current) in_flight_.erase(f);
    return;  // decided meanwhile: the decision stands, nothing is checked again
  }
  auto& rt = it->second;
  switch (a.status) {
    case txn_check_status::commit:
    case txn_check_status::rollback: {
      // A decisive answer counts even when it comes after its timeout.
      if (current) in_flight_.erase(f);
      bool commit = a.status == txn_check_status::commit;
      actor_log().info("txn-coordinator: check {} of transaction {} answered {}", a.check_count,
                       a.id, commit ? "commit" : "rollback");
      rt.machine.on(commit ? txn_event::commit : txn_event::rollback);
      decide(a.id, rt, commit ? txn_decision::commit : txn_decision::rollback);
      return;
    }
    case txn_check_status::unknown:
      if (!current) return;  // a stale answer: its timeout was counted already
      in_flight_.erase(f);
      actor_log().debug("txn-coordinator: check {} of transaction {}: unknown{}{}", a.check_count,
                        a.id, a.detail.empty() ? "" : ": ", a.detail);
      rt.machine.on(txn_event::check_unknown);
      if (rt.machine.checks_exhausted(settings_.policy)) give_up(a.id, rt);
      return;
  }
}

void txn_coordinator_state::give_up(uint64_t id, runtime& rt) {
  rt.machine.on(txn_event::give_up);
  ++stats_.unresolved;
  const auto* r = record(id);
  actor_log().warn(
      "txn-coordinator: ALERT transaction {} (group {}, {}/{}) has no decision after "
      "{} checks; moved to {} (total unresolved since start: {})",
      id, r ? r->half.group : "?", r ? r->half.topic : "?", r ? r->half.partition : 0,
      rt.machine.checks(), unresolved_transactions_topic, stats_.unresolved);
  decide(id, rt, txn_decision::unresolved);
}

void txn_coordinator_state::add_checker(const std::string& group, caf::actor session) {
  auto& v = checkers_[group];
  if (std::find(v.begin(), v.end(), session) == v.end()) {
    self_->monitor(session);
    v.push_back(session);
  }
  auto w = waiting_.find(group);
  if (w == waiting_.end()) return;
  auto now = now_ms();
  for (auto id : w->second) schedule(id, now);
  waiting_.erase(w);
}

void txn_coordinator_state::on_down(const caf::down_msg& dm) {
  for (auto it = checkers_.begin(); it != checkers_.end();) {
    auto& v = it->second;
    v.erase(std::remove_if(v.begin(), v.end(),
                           [&](const caf::actor& a) { return a.address() == dm.source; }),
            v.end());
    it = v.empty() ? checkers_.erase(it) : std::next(it);
  }
}

// --- operators ---

std::vector<txn_summary> txn_coordinator_state::list() const {
  auto now = now_ms();
  std::vector<txn_summary> out;
  std::vector<txn_summary> finished;
  for (const auto& [id, r] : log_->records()) {
    txn_summary s;
    s.id = id();
    s.group = r.half.group;
    s.topic = r.half.topic;
    s.partition = r.half.partition;
    auto it = live_.find(id());
    s.state = it != live_.end() ? to_string(it->second.machine.state()) : to_string(r.decision);
    s.age_ms = now - r.created();
    s.checks = r.checks;
    s.deliver_at_ms = r.half.deliver_at_ms;
    (r.finished() ? finished : out).push_back(std::move(s));
  }
  if (finished.size() > listed_finished) {
    finished.erase(finished.begin(), finished.end() - static_cast<ptrdiff_t>(listed_finished));
  }
  out.insert(out.end(), finished.begin(), finished.end());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

txn_stats txn_coordinator_state::stats() const {
  auto s = stats_;
  s.open = 0;
  for (const auto& [id, rt] : live_) s.open += rt.machine.is_open() ? 1 : 0;
  s.checks_in_flight = in_flight_.size();
  s.waiting_for_checker = 0;
  for (const auto& [g, ids] : waiting_) s.waiting_for_checker += ids.size();
  return s;
}

void txn_coordinator_state::close() {
  flush();
  if (auto st = log_->close(); !st) {
    actor_log().error("txn-coordinator: closing the transaction log failed: {}",
                      st.error().message());
  }
  for (auto& [id, rt] : live_) {
    for (auto& w : rt.waiters) w.deliver(make_error(errc::shutting_down));
    rt.waiters.clear();
  }
}

}  // namespace actormq
