#include "actors/txn/txn_coordinator_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "actors/delay/schedule_envelope.h"
#include "actors/errc.h"
#include "actors/group/group_actor.h"
#include "actors/group/offset_record.h"
#include "actors/logger.h"
#include "actors/state/compaction_policy.h"
#include "actors/state/partition_replay.h"
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
constexpr auto registry_timeout = std::chrono::seconds(10);
/// Bound of one write to __transaction_state (acks all waits for the ISR).
constexpr auto write_timeout = std::chrono::seconds(10);
/// How long a request for a partition not (yet) led here waits for its lead.
constexpr auto unled_wait = std::chrono::seconds(2);
/// Bytes per batch when many events are written at once.
constexpr size_t batch_target = 1u << 20;

caf::error not_led(uint32_t p) {
  return make_error(errc::not_coordinator,
                    fmt::format("this broker does not coordinate the transactions of {}-{}",
                                txn::state_topic, p));
}

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
topic_config txn_state_topic_config(uint32_t partitions, uint32_t replication_factor) {
  return offsets_topic_config(partitions, replication_factor);
}

// --- partitions ---

void txn_coordinator_state::init(self_ptr self, txn_settings settings) {
  self_ = self;
  settings_ = std::move(settings);
  writer_ = partition_writer(settings_.writer);
  delay::timing_wheel_config wc;
  wc.tick = std::chrono::milliseconds(10);  // check times need no finer grain
  auto w = delay::timing_wheel::make(wc, timestamp_ms(now_ms()));
  if (!w) {
    // The config is a constant: this is a bug, reported rather than thrown.
    auto err = from_storage(w.error(), "transaction timing wheel");
    actor_log().critical("txn-coordinator: {}", text_of(err));
    self_->quit(err);
    return;
  }
  wheel_.emplace(std::move(*w));
  read_legacy();
  if (!settings_.replicated) lead_all_alone();
  self_->delayed_send(self_, settings_.compact_interval, compact_atom::value);
}

void txn_coordinator_state::read_legacy() {
  auto dir = settings_.data_dir / "txn";
  std::error_code ec;
  if (!std::filesystem::exists(dir / "txn.log", ec)) return;
  storage::recovery_report report;
  auto log = storage::txn_log::open(dir, {}, &report);
  if (!log) {
    actor_log().error(
        "txn-coordinator: cannot read {} of the previous release: {}; its transactions stay "
        "there until it can be read",
        (dir / "txn.log").string(), log.error().message());
    return;
  }
  txn::txn_event_record floor;
  floor.type = txn::event_type::id_floor;
  floor.id = (*log)->next_id()();
  floor.time_ms = now_ms();
  legacy_.push_back(floor);
  for (const auto& [id, r] : (*log)->records()) txn::txn_table::events_of(r, legacy_);
  actor_log().info(
      "txn-coordinator: {} transaction(s) ({} unfinished) in the previous release's {}; they "
      "move to {}-0 when it loads",
      (*log)->records().size(), (*log)->unfinished(), (dir / "txn.log").string(), txn::state_topic);
  (void)(*log)->close();
}

void txn_coordinator_state::lead_all_alone() {
  opening_ = true;
  auto cfg = txn_state_topic_config(settings_.state_partitions, 1);
  self_
      ->request(settings_.registry, registry_timeout, create_atom::value,
                std::string(txn::state_topic), cfg, internal_atom::value)
      .then(
          [this](topic_handle& h) {
            opening_ = false;
            auto n = static_cast<uint32_t>(h.partitions.size());
            for (uint32_t p = 0; p < n; ++p) lead(p, 0, h.partitions[p], n);
            auto early = std::move(early_);
            early_.clear();
            for (auto& [of, k] : early) with_slot(std::move(of), std::move(k));
          },
          [this](caf::error& e) {
            opening_ = false;
            retry_open_at_ = now_ms() + retry_delay_ms;
            actor_log().error("txn-coordinator: cannot open {}: {}; retrying", txn::state_topic,
                              text_of(e));
          });
}

void txn_coordinator_state::with_slot(std::function<uint32_t(uint32_t)> partition_of, done_fn k) {
  if (slots_.empty() && !settings_.replicated) {
    early_.emplace_back(std::move(partition_of), std::move(k));
    return;
  }
  auto n = static_cast<uint32_t>(slots_.size());
  uint32_t p = n == 0 ? 0 : partition_of(n);
  if (n > 0 && p >= n) {
    return k(make_error(errc::unknown_transaction,
                        fmt::format("{} has no partition {}", txn::state_topic, p)));
  }
  if (n == 0 || slots_[p].state == status::idle) {
    if (!settings_.replicated) return k(not_led(p));
    // The RPC layer let the request in because its view names this broker
    // as the leader; the replica manager's lead may be a few ms behind.
    unled_.push_back(
        {std::move(partition_of), std::move(k), std::chrono::steady_clock::now() + unled_wait});
    return;
  }
  auto& s = slots_[p];
  if (s.state == status::loading) {
    s.waiting.push_back(std::move(k));
    return;
  }
  k({});
}

void txn_coordinator_state::lead(uint32_t partition, int32_t epoch, partition_actor log,
                                 uint32_t partitions) {
  if (partitions > slots_.size()) slots_.resize(partitions);
  if (partition >= slots_.size() || !log) return;
  auto& s = slots_[partition];
  if (s.state != status::idle && s.epoch == epoch && s.log == log) return;
  if (s.state != status::idle) drop_runtimes(partition, not_led(partition));
  s.epoch = epoch;
  s.log = std::move(log);
  start_load(partition);
  auto n = static_cast<uint32_t>(slots_.size());
  for (auto it = unled_.begin(); it != unled_.end();) {
    if (it->partition_of(n) == partition) {
      s.waiting.push_back(std::move(it->k));
      it = unled_.erase(it);
    } else {
      ++it;
    }
  }
}

void txn_coordinator_state::resign(uint32_t partition) {
  if (partition >= slots_.size()) return;
  auto& s = slots_[partition];
  if (s.state == status::idle) return;
  actor_log().info("txn-coordinator: no longer coordinating the transactions of {}-{}",
                   txn::state_topic, partition);
  drop_runtimes(partition, not_led(partition));
  s.state = status::idle;
  s.epoch = -1;
  s.log = nullptr;
  s.load = 0;
  s.table.reset();
  s.compacting = false;
  s.retry = false;
  auto waiting = std::move(s.waiting);
  s.waiting.clear();
  for (auto& k : waiting) k(not_led(partition));
  answer_lists();
}

void txn_coordinator_state::drop_runtimes(uint32_t p, const caf::error& why) {
  for (auto it = live_.begin(); it != live_.end();) {
    if (txn::txn_partition_of(it->first) != p) {
      ++it;
      continue;
    }
    auto id = it->first;
    wheel_->cancel(timer_of(id));
    in_flight_.erase(id);
    for (auto& w : it->second.waiters) w.deliver(why);
    for (auto& w : it->second.half_waiters) w.deliver(why);
    it = live_.erase(it);
  }
  for (auto& [g, ids] : waiting_) {
    for (auto it = ids.begin(); it != ids.end();) {
      it = txn::txn_partition_of(*it) == p ? ids.erase(it) : std::next(it);
    }
  }
  for (auto it = retries_.begin(); it != retries_.end();) {
    it = txn::txn_partition_of(it->second) == p ? retries_.erase(it) : std::next(it);
  }
}

void txn_coordinator_state::start_load(uint32_t p) {
  auto& s = slots_[p];
  s.state = status::loading;
  s.retry = false;
  s.load = next_load_++;
  s.table.reset();
  auto load = s.load;
  auto started = std::chrono::steady_clock::now();
  auto table = std::make_shared<txn::txn_table>(p, settings_.keep_finished);
  auto skipped = std::make_shared<uint64_t>(0);
  replay_partition(
      self_, s.log,
      [table, skipped](const storage::record_view& rec) {
        auto e = rec.key && rec.value ? txn::decode_txn_record(*rec.key, *rec.value) : std::nullopt;
        if (!e) {
          ++*skipped;
          return;
        }
        table->apply(*e);
      },
      [this, p, load, table, skipped, started](caf::expected<replay_result> r) {
        if (!current(p, load)) return;
        if (!r) return retry_load(p, load, r.error());
        auto& s = slots_[p];
        s.table.emplace(std::move(*table));
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
        actor_log().info(
            "txn-coordinator: loaded {}-{} (epoch {}): {} transaction(s), {} unfinished, from "
            "{} record(s), {} bytes, in {} ms",
            txn::state_topic, p, s.epoch, s.table->records().size(), s.table->unfinished(),
            r->records, r->bytes, ms);
        if (*skipped > 0) {
          actor_log().warn(
              "txn-coordinator: {}-{}: skipped {} record(s) of an unknown kind or version",
              txn::state_topic, p, *skipped);
        }
        migrate_legacy(p, load);
      });
}

void txn_coordinator_state::migrate_legacy(uint32_t p, uint64_t load) {
  if (p != 0 || legacy_.empty()) return finish_load(p, load);
  write(p, legacy_, [this, p, load](caf::expected<produce_reply> w) {
    if (!current(p, load)) return;
    if (!w) return retry_load(p, load, w.error());
    auto& s = slots_[p];
    size_t added = 0;
    for (const auto& e : legacy_) added += s.table->apply(e) ? 1 : 0;
    std::error_code ec;
    std::filesystem::remove_all(settings_.data_dir / "txn", ec);
    if (ec) {
      actor_log().warn(
          "txn-coordinator: moved the previous release's transactions to {}-0 but cannot remove "
          "{}: {}",
          txn::state_topic, (settings_.data_dir / "txn").string(), ec.message());
    }
    actor_log().info(
        "txn-coordinator: moved the previous release's transactions to {}-0 ({} of {} event(s) "
        "were new)",
        txn::state_topic, added, legacy_.size());
    legacy_.clear();
    finish_load(p, load);
  });
}

void txn_coordinator_state::finish_load(uint32_t p, uint64_t load) {
  if (!current(p, load)) return;
  auto& s = slots_[p];
  s.state = status::ready;
  resume(p);
  auto waiting = std::move(s.waiting);
  s.waiting.clear();
  for (auto& k : waiting) k({});
  answer_lists();
}

void txn_coordinator_state::resume(uint32_t p) {
  auto& t = *slots_[p].table;
  size_t open = 0, undelivered = 0;
  std::vector<uint64_t> to_deliver;
  for (const auto& [id, r] : t.records()) {
    if (r.finished()) continue;
    auto& rt = live_
                   .emplace(id, runtime{txn::txn_state_machine(r.created(), state_of(r.decision),
                                                               r.checks, r.next_check())})
                   .first->second;
    if (rt.machine.is_open()) {
      ++open;
      schedule(id, rt.machine.next_check_ms(settings_.policy));
    } else {
      // A decision whose delivery was not recorded: deliver again.
      ++undelivered;
      rt.delivering = true;
      to_deliver.push_back(id);
    }
  }
  for (auto id : to_deliver) deliver(id);
  if (open + undelivered > 0) {
    actor_log().info(
        "txn-coordinator: {}-{}: {} open transaction(s) resumed, {} decided one(s) to deliver",
        txn::state_topic, p, open, undelivered);
  }
}

void txn_coordinator_state::retry_load(uint32_t p, uint64_t load, const caf::error& why) {
  if (!current(p, load)) return;
  actor_log().warn("txn-coordinator: cannot load {}-{}: {}; retrying in 1 s", txn::state_topic, p,
                   text_of(why));
  slots_[p].retry = true;
  slots_[p].retry_at = now_ms() + retry_delay_ms;
}

void txn_coordinator_state::write(uint32_t p, const std::vector<txn::txn_event_record>& events,
                                  write_fn k) {
  std::vector<std::string> batches;
  storage::record_batch_builder b;
  for (const auto& e : events) {
    txn::add_txn_record(b, e);
    if (b.size_bytes() >= batch_target) batches.push_back(b.build());
  }
  if (!b.empty()) batches.push_back(b.build());
  if (batches.empty()) return k(produce_reply{});
  // One answer for all: the lowest and highest offsets, or the first error.
  struct run {
    size_t pending = 0;
    produce_reply reply{std::numeric_limits<int64_t>::max(), -1, false};
    caf::error error;
    write_fn k;
  };
  auto r = std::make_shared<run>();
  r->pending = batches.size();
  r->k = std::move(k);
  for (auto& bytes : batches) {
    self_
        ->request(slots_[p].log, write_timeout, produce_atom::value,
                  produce_request{std::make_shared<std::string>(std::move(bytes)), acks()})
        .then(
            [r](produce_reply& w) {
              r->reply.base_offset = std::min(r->reply.base_offset, w.base_offset);
              r->reply.last_offset = std::max(r->reply.last_offset, w.last_offset);
              if (--r->pending > 0) return;
              if (r->error) return r->k(r->error);
              r->k(r->reply);
            },
            [r](caf::error& e) {
              if (!r->error) r->error = e;
              if (--r->pending == 0) r->k(r->error);
            });
  }
}

void txn_coordinator_state::on_tick(uint64_t id) {
  if (timer_.fired(id)) tick();  // else replaced by an earlier one, which ran
}

void txn_coordinator_state::arm_tick() {
  const int64_t now = now_ms();
  timer_.arm(self_, std::chrono::milliseconds(std::max<int64_t>(next_tick_at(now) - now, 1)));
}

int64_t txn_coordinator_state::next_tick_at(int64_t now) const {
  const bool busy =
      !in_flight_.empty() || !retries_.empty() || !unled_.empty() || opening_ ||
      (slots_.empty() && !settings_.replicated) ||
      std::any_of(slots_.begin(), slots_.end(), [](const slot& s) { return s.retry; });
  int64_t at = now + (busy ? settings_.tick : settings_.idle_tick).count();
  for (const auto& [id, f] : in_flight_) at = std::min(at, f.deadline_ms);
  if (!retries_.empty()) at = std::min(at, retries_.begin()->first);
  const auto steady = std::chrono::steady_clock::now();
  for (const auto& u : unled_) {
    at = std::min(
        at, now + std::chrono::duration_cast<std::chrono::milliseconds>(u.until - steady).count());
  }
  for (const auto& s : slots_) {
    if (s.retry && s.state == status::loading) at = std::min(at, s.retry_at);
  }
  if (slots_.empty() && !settings_.replicated && !opening_) at = std::min(at, retry_open_at_);
  if (wheel_ && in_flight_.size() < settings_.max_checks_in_flight) {
    if (auto due = wheel_->next_due()) at = std::min(at, (*due)());
  }
  return at;
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
  auto steady = std::chrono::steady_clock::now();
  for (auto it = unled_.begin(); it != unled_.end();) {
    if (it->until <= steady) {
      auto n = static_cast<uint32_t>(slots_.size());
      auto k = std::move(it->k);
      auto p = n == 0 ? 0 : it->partition_of(n);
      it = unled_.erase(it);
      k(not_led(p));
    } else {
      ++it;
    }
  }
  if (slots_.empty() && !settings_.replicated && !opening_ && now >= retry_open_at_) {
    lead_all_alone();
  }
  for (uint32_t p = 0; p < slots_.size(); ++p) {
    auto& s = slots_[p];
    if (s.retry && s.state == status::loading && now >= s.retry_at) start_load(p);
  }
  size_t room = settings_.max_checks_in_flight > in_flight_.size()
                    ? settings_.max_checks_in_flight - in_flight_.size()
                    : 0;
  if (room == 0) return;  // due checks wait in the wheel
  for (const auto& e : wheel_->advance(timestamp_ms(now), room)) fire(e.id(), now);
}

void txn_coordinator_state::compact_due() {
  for (uint32_t p = 0; p < slots_.size(); ++p) maybe_compact(p);
  self_->delayed_send(self_, settings_.compact_interval, compact_atom::value);
}

void txn_coordinator_state::maybe_compact(uint32_t p) {
  auto& s = slots_[p];
  if (s.state != status::ready || s.compacting) return;
  s.compacting = true;
  auto load = s.load;
  self_->request(s.log, registry_timeout, offsets_atom::value)
      .then(
          [this, p, load](partition_offsets& o) {
            if (!current(p, load) || slots_[p].state != status::ready) return;
            auto& s = slots_[p];
            auto live = static_cast<int64_t>(s.table->live_records());
            if (!compaction_due(o.log_end_offset - o.log_start_offset, live,
                                settings_.compact_min_records, settings_.compact_ratio)) {
              s.compacting = false;
              return;
            }
            compact(p, load);
          },
          [this, p, load](caf::error&) {
            if (current(p, load)) slots_[p].compacting = false;
          });
}

void txn_coordinator_state::compact(uint32_t p, uint64_t load) {
  // This actor is the partition's only writer and the partition appends its
  // writes in the order sent: every record after the snapshot's first one
  // is newer than the snapshot, and nothing before it is needed any more.
  auto events = slots_[p].table->snapshot(now_ms());
  auto live = events.size();
  write(p, events, [this, p, load, live](caf::expected<produce_reply> w) {
    if (!current(p, load)) return;
    if (!w || w->base_offset < 0) {
      slots_[p].compacting = false;
      if (!w) {
        actor_log().warn("txn-coordinator: compaction of {}-{} abandoned: {}", txn::state_topic, p,
                         text_of(w.error()));
      }
      return;
    }
    self_->request(slots_[p].log, registry_timeout, delete_atom::value, w->base_offset)
        .then(
            [this, p, load, live](int64_t start) {
              if (!current(p, load)) return;
              slots_[p].compacting = false;
              actor_log().info("txn-coordinator: compacted {}-{}: {} live record(s), log start {}",
                               txn::state_topic, p, live, start);
            },
            [this, p, load](caf::error& e) {
              if (!current(p, load)) return;
              slots_[p].compacting = false;
              actor_log().warn("txn-coordinator: compaction of {}-{}: delete records: {}",
                               txn::state_topic, p, text_of(e));
            });
  });
}

bool txn_coordinator_state::loading() const {
  if (!settings_.replicated && slots_.empty()) return true;
  for (const auto& s : slots_) {
    if (s.state == status::loading) return true;
  }
  return false;
}

void txn_coordinator_state::answer_lists() {
  if (loading() || list_waiting_.empty()) return;
  auto out = summaries();
  auto waiting = std::move(list_waiting_);
  list_waiting_.clear();
  for (auto& rp : waiting) rp.deliver(out);
}

txn::txn_table* txn_coordinator_state::table_of(uint64_t id) {
  auto p = txn::txn_partition_of(id);
  if (p >= slots_.size() || !slots_[p].table) return nullptr;
  return &*slots_[p].table;
}

const storage::txn_record* txn_coordinator_state::record(uint64_t id) const {
  auto p = txn::txn_partition_of(id);
  if (p >= slots_.size() || !slots_[p].table) return nullptr;
  return slots_[p].table->find(id);
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
  if (req.request_id.size() > 64) {
    return make_error(errc::invalid_request, "a request id has at most 64 bytes");
  }
  if (req.topic.empty() || req.topic.size() > 255) {
    return make_error(errc::unknown_topic, "no topic named '" + req.topic + "'");
  }
  auto rp = self_->make_response_promise<uint64_t>();
  auto group = req.group;
  with_slot([group](uint32_t n) { return group::state_partition_of(group, n); },
            [this, req, rp](const caf::error& err) mutable {
              if (err) return rp.deliver(err), void();
              auto p = group::state_partition_of(req.group, static_cast<uint32_t>(slots_.size()));
              check_target(p, std::move(req), rp);
            });
  return rp;
}

void txn_coordinator_state::check_target(uint32_t p, txn_half_request req,
                                         caf::typed_response_promise<uint64_t> rp) {
  // In a cluster the target may be led anywhere (the writer finds it); the
  // RPC layer checked it against the cluster's topics. Alone it is here.
  if (settings_.replicated) return do_half(p, std::move(req), rp);
  auto topic = req.topic;
  topics_.with(
      self_, settings_.registry, topic, [this, p, req, rp](caf::expected<topic_handle> th) mutable {
        if (!th) return rp.deliver(th.error()), void();
        if (req.partition >= th->partitions.size()) {
          rp.deliver(make_error(errc::unknown_partition,
                                fmt::format("{} has no partition {}", req.topic, req.partition)));
          return;
        }
        do_half(p, std::move(req), rp);
      });
}

void txn_coordinator_state::do_half(uint32_t p, txn_half_request req,
                                    caf::typed_response_promise<uint64_t> rp) {
  if (p >= slots_.size() || slots_[p].state != status::ready) {
    rp.deliver(not_led(p));
    return;
  }
  size_t open = 0;
  for (const auto& s : slots_) open += s.table ? s.table->unfinished() : 0;
  if (open >= settings_.max_open_transactions) {
    rp.deliver(make_error(errc::busy,
                          fmt::format("{} transactions are open (max_open); retry later", open)));
    return;
  }
  auto& s = slots_[p];
  if (!req.request_id.empty()) {
    if (auto first = s.table->find_request(req.group, req.request_id)) {
      // A resend (the first call's reply was lost): the same transaction.
      auto it = live_.find(*first);
      if (it != live_.end() && it->second.half_pending) {
        it->second.half_waiters.push_back(rp);
      } else {
        rp.deliver(*first);
      }
      return;
    }
  }
  auto now = now_ms();
  txn::txn_event_record e;
  e.type = txn::event_type::half;
  e.id = s.table->next_id();
  e.time_ms = now;
  e.half = storage::txn_half{req.group,         req.topic,    req.partition,
                             req.deliver_at_ms, req.delay_ms, *req.batch};
  e.request_id = req.request_id;
  auto id = e.id;
  s.table->apply(e);
  auto& rt = live_.emplace(id, runtime{txn::txn_state_machine(now)}).first->second;
  rt.half_pending = true;
  schedule(id, rt.machine.next_check_ms(settings_.policy));
  auto load = s.load;
  write(p, {e}, [this, p, load, id, rp](caf::expected<produce_reply> w) mutable {
    std::vector<caf::typed_response_promise<uint64_t>> resent;
    if (auto it = live_.find(id); it != live_.end()) {
      it->second.half_pending = false;
      resent = std::move(it->second.half_waiters);
      it->second.half_waiters.clear();
    }
    if (w) {
      rp.deliver(id);
      for (auto& x : resent) x.deliver(id);
      return;
    }
    // Never acknowledged: forget it, so it is never checked nor delivered.
    if (current(p, load)) {
      slots_[p].table->drop(id);
      wheel_->cancel(timer_of(id));
      in_flight_.erase(id);
      live_.erase(id);
    }
    rp.deliver(w.error());
    for (auto& x : resent) x.deliver(w.error());
  });
}

// --- decisions ---

caf::result<bool> txn_coordinator_state::end(uint64_t id, bool commit) {
  auto rp = self_->make_response_promise<bool>();
  with_slot([id](uint32_t) { return txn::txn_partition_of(id); },
            [this, id, commit, rp](const caf::error& err) mutable {
              if (err) return rp.deliver(err), void();
              do_end(id, commit, rp);
            });
  return rp;
}

void txn_coordinator_state::do_end(uint64_t id, bool commit, caf::typed_response_promise<bool> rp) {
  auto ev = commit ? txn_event::commit : txn_event::rollback;
  auto it = live_.find(id);
  if (it == live_.end()) {
    const auto* r = record(id);
    if (r == nullptr) {
      rp.deliver(make_error(errc::unknown_transaction,
                            fmt::format("no transaction {} (unknown or long finished)", id)));
      return;
    }
    txn::txn_state_machine m(r->created(), state_of(r->decision));
    auto t = m.on(ev);
    if (t.outcome == txn_outcome::refused) {
      rp.deliver(
          make_error(t.reason, fmt::format("transaction {} is {}", id, to_string(m.state()))));
      return;
    }
    rp.deliver(true);
    return;
  }
  auto& rt = it->second;
  auto t = rt.machine.on(ev);
  if (t.outcome == txn_outcome::refused) {
    rp.deliver(make_error(t.reason, fmt::format("transaction {} is {}", id, to_string(t.state))));
    return;
  }
  rt.waiters.push_back(rp);
  if (t.outcome == txn_outcome::no_op) {
    // A repeated decision answers with the first one.
    if (!rt.deciding && !rt.delivering) {
      auto waiters = std::move(rt.waiters);
      rt.waiters.clear();
      for (auto& w : waiters) w.deliver(true);
    }
    return;
  }
  decide(id, rt, commit ? txn_decision::commit : txn_decision::rollback);
}

void txn_coordinator_state::decide(uint64_t id, runtime& rt, txn_decision d) {
  if (const auto* r = record(id)) {
    if (auto w = waiting_.find(r->half.group); w != waiting_.end()) w->second.erase(id);
  }
  wheel_->cancel(timer_of(id));
  in_flight_.erase(id);
  rt.deciding = true;
  txn::txn_event_record e;
  e.type = txn::event_type::decision;
  e.id = id;
  e.time_ms = now_ms();
  e.decision = d;
  auto p = txn::txn_partition_of(id);
  auto load = slots_[p].load;
  write(p, {e}, [this, p, load, e](caf::expected<produce_reply> w) {
    if (!current(p, load)) return;  // resigned: its waiters were answered
    auto it = live_.find(e.id);
    if (it == live_.end()) return;
    auto& rt = it->second;
    rt.deciding = false;
    if (!w) {
      // The decision did not happen: the transaction is open again and is
      // checked as before; the caller may decide again.
      actor_log().warn("txn-coordinator: transaction {}: cannot record {}: {}", e.id,
                       to_string(e.decision), text_of(w.error()));
      if (const auto* r = record(e.id)) {
        rt.machine =
            txn::txn_state_machine(r->created(), txn_state::open, r->checks, r->next_check());
        schedule(e.id, rt.machine.next_check_ms(settings_.policy));
      }
      auto waiters = std::move(rt.waiters);
      rt.waiters.clear();
      for (auto& x : waiters) x.deliver(w.error());
      return;
    }
    slots_[p].table->apply(e);
    if (e.decision == txn_decision::rollback) {
      ++stats_.rolled_back;
      auto waiters = std::move(rt.waiters);
      live_.erase(it);
      for (auto& x : waiters) x.deliver(true);
      return;
    }
    rt.delivering = true;
    deliver(e.id);
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
    // Counted under its level while pending (a delay is always a level).
    auto cls = r->half.delay_ms > 0
                   ? delay::class_of_delay(settings_.delay_levels,
                                           std::chrono::milliseconds(r->half.delay_ms))
                   : delay::delay_class::deliver_at;
    self_
        ->request(settings_.delay, request_timeout, produce_atom::value,
                  delayed_produce{topic, partition, due, batch, acks_level::fsync, cls})
        .then([this, id](schedule_reply&) { delivered(id, {}); },
              [this, id](caf::error& e) { delivered(id, e); });
    return;
  }
  writer_.produce(
      self_, topic, partition, batch, acks(), request_timeout,
      [this, id](caf::expected<produce_reply> w) { delivered(id, w ? caf::error{} : w.error()); });
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
  txn::txn_event_record e;
  e.type = txn::event_type::applied;
  e.id = id;
  e.time_ms = now_ms();
  if (auto* t = table_of(id)) t->apply(e);
  // Not waited for: a lost "applied" only means that a new coordinator
  // delivers the batch again (at-least-once).
  write(txn::txn_partition_of(id), {e}, [id](caf::expected<produce_reply> w) {
    if (!w) {
      actor_log().warn("txn-coordinator: transaction {}: cannot record its delivery: {}", id,
                       text_of(w.error()));
    }
  });
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
  txn::txn_event_record e;
  e.type = txn::event_type::check;
  e.id = id;
  e.time_ms = now;
  e.count = count;
  e.next_check_ms = next;
  table_of(id)->apply(e);
  in_flight_[id] = {now + settings_.check_timeout.count(), count};
  ++stats_.checks_sent;
  schedule(id, next);
  actor_log().debug("txn-coordinator: check {} of {} for transaction {} (group {})", count,
                    settings_.policy.max_checks, id, r->half.group);
  // The check goes out once its record is acknowledged: a failover never
  // lets a transaction be checked more often than the maximum.
  txn_check_request req{id,
                        r->half.group,
                        r->half.topic,
                        r->half.partition,
                        std::make_shared<const std::string>(r->half.batch),
                        count};
  auto p = txn::txn_partition_of(id);
  auto load = slots_[p].load;
  write(p, {e}, [this, p, load, session, req](caf::expected<produce_reply> w) {
    if (!w) {
      actor_log().warn("txn-coordinator: transaction {}: cannot record check {}: {}", req.id,
                       req.check_count, text_of(w.error()));
      return;  // its timeout counts it; the next check is scheduled
    }
    if (!current(p, load) || !live_.count(req.id)) return;
    caf::anon_send(session, check_atom::value, req);
  });
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

caf::result<std::vector<txn_summary>> txn_coordinator_state::list() {
  if (!loading()) return summaries();
  auto rp = self_->make_response_promise<std::vector<txn_summary>>();
  list_waiting_.push_back(rp);
  return rp;
}

std::vector<txn_summary> txn_coordinator_state::summaries() const {
  auto now = now_ms();
  std::vector<txn_summary> out;
  std::vector<txn_summary> finished;
  for (const auto& s : slots_) {
    if (s.state != status::ready || !s.table) continue;
    for (const auto& [id, r] : s.table->records()) {
      txn_summary x;
      x.id = id;
      x.group = r.half.group;
      x.topic = r.half.topic;
      x.partition = r.half.partition;
      auto it = live_.find(id);
      x.state = it != live_.end() ? to_string(it->second.machine.state()) : to_string(r.decision);
      x.age_ms = now - r.created();
      x.checks = r.checks;
      x.deliver_at_ms = r.half.deliver_at_ms;
      (r.finished() ? finished : out).push_back(std::move(x));
    }
  }
  if (finished.size() > listed_finished) {
    // The newest ones: the smallest ages.
    std::sort(finished.begin(), finished.end(),
              [](const auto& a, const auto& b) { return a.age_ms < b.age_ms; });
    finished.resize(listed_finished);
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
  timer_.close();
  auto down = make_error(errc::shutting_down);
  for (auto& [id, rt] : live_) {
    for (auto& w : rt.waiters) w.deliver(down);
    rt.waiters.clear();
    for (auto& w : rt.half_waiters) w.deliver(down);
    rt.half_waiters.clear();
  }
  for (auto& s : slots_) {
    for (auto& k : s.waiting) k(down);
    s.waiting.clear();
  }
  for (auto& u : unled_) u.k(down);
  unled_.clear();
  for (auto& [of, k] : early_) k(down);
  early_.clear();
  for (auto& rp : list_waiting_) rp.deliver(down);
  list_waiting_.clear();
}

}  // namespace actormq
