#include "actors/delay/delay_schedule_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "actors/delay/delay_schedule_record.h"
#include "actors/delay/legacy_schedule.h"
#include "actors/errc.h"
#include "actors/group/group_actor.h"
#include "actors/logger.h"
#include "actors/state/partition_replay.h"
#include "storage/errc.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace actormq {

// Names unlike the other delay files' helpers: a unity build puts them in
// one translation unit.
namespace {

/// Answers a delayed produce split into parts once every part's envelope
/// is stored: the first error, else the earliest due time and the lowest
/// envelope offset. Parts already stored when another fails stay scheduled
/// (a retry schedules them again: at-least-once, as any failed produce).
class part_join {
 public:
  part_join(size_t parts, std::function<void(caf::expected<schedule_reply>)> k)
      : left_(parts), k_(std::move(k)) {}
  void arrived(caf::expected<schedule_reply> r) {
    if (!r) {
      if (!error_) error_ = r.error();
    } else if (first_.schedule_offset < 0) {
      first_ = *r;
    } else {
      first_.schedule_offset = std::min(first_.schedule_offset, r->schedule_offset);
      first_.deliver_at_ms = std::min(first_.deliver_at_ms, r->deliver_at_ms);
    }
    if (--left_ > 0) return;
    if (error_) return k_(std::move(error_));
    k_(first_);
  }

 private:
  size_t left_;
  std::function<void(caf::expected<schedule_reply>)> k_;
  caf::error error_;
  schedule_reply first_;
};

using delay::schedule_kind;
using delay::schedule_topic;

constexpr auto schedule_timeout = std::chrono::seconds(30);
/// A target's batch not acknowledged by then is sent again (same sequences:
/// the target keeps one copy). A SIGKILLed leader never answers, and every
/// later batch to that target waits behind this one.
constexpr auto delivery_timeout = std::chrono::seconds(2);
/// One read of envelopes: whole batches from the first offset wanted, so
/// envelopes appended together (due together) come in one read.
constexpr uint32_t envelope_read_bytes = 128u << 10;
/// A leading slot's read of new records parks at the log end this long (a
/// long poll answered by the next append): not a fetch per tick when idle.
constexpr auto tail_wait = std::chrono::seconds(1);
/// After a read of the log failed: the next one not before this.
constexpr int64_t tail_retry_ms = 50;
constexpr size_t max_due_per_plan = 512;
/// Entries due within this are read ahead (the wheel fires them early into
/// the slot's `soon`), so a dispatch is planned the moment they are due.
constexpr auto prefetch_ahead = std::chrono::milliseconds(50);
/// A dispatch is planned at most this long before its first entry is due
/// (about what recording it takes: delay_schedule_state.cpp, plan()).
constexpr int64_t max_plan_ahead_ms = 40;
/// Bounds on what is read ahead per partition.
constexpr size_t max_soon_entries = 4096;
constexpr size_t max_soon_bytes = 16u << 20;
constexpr int64_t record_retry_ms = 100;
/// Alone: delayed produces held while __delay_schedule opens.
constexpr size_t max_early = 10000;
/// Envelope appends: at most this many batches per schedule partition
/// unacknowledged; what comes meanwhile waits (up to max_waiting_bytes,
/// then busy) and goes in the next batch.
constexpr size_t max_appends_in_flight = 4;
constexpr size_t max_waiting_bytes = 64u << 20;
constexpr size_t max_append_bytes = 1u << 20;
constexpr size_t max_append_records = 4096;

template <class Record>
std::shared_ptr<std::string> record_batch_of(schedule_kind kind, const Record& r, int64_t now) {
  storage::record_batch_builder b;
  delay::add_schedule_record(b, kind, r, now);
  return std::make_shared<std::string>(b.build());
}

}  // namespace

request_deadlines::ticket delay_schedule_state::deadline(std::function<void()> on_timeout) {
  return deadlines_.add(request_deadlines::clock::now() + schedule_timeout, std::move(on_timeout));
}

int64_t delay_schedule_state::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void delay_schedule_state::init(self_ptr self, delay_schedule_settings settings) {
  self_ = self;
  settings_ = std::move(settings);
  writer_ = partition_writer(settings_.writer);
  writer_.bound_by_owner();  // tick() expires its requests
  open_legacy();
  if (!settings_.replicated) open_alone();
}

void delay_schedule_state::open_alone() {
  opening_ = true;
  auto cfg = offsets_topic_config(settings_.partitions, 1);
  cfg.segment_bytes = settings_.segment_bytes;
  self_
      ->request(settings_.registry, schedule_timeout, create_atom::value,
                std::string(schedule_topic), cfg, internal_atom::value)
      .then(
          [this](topic_handle& h) {
            opening_ = false;
            auto n = static_cast<uint32_t>(h.partitions.size());
            for (uint32_t p = 0; p < n; ++p) lead(p, 0, h.partitions[p], n);
            auto early = std::move(early_);
            early_.clear();
            for (auto& [req, k] : early) append(std::move(req), std::move(k));
          },
          [this](caf::error& e) {
            actor_log().error("delay-schedule: cannot open {}: {}; retrying", schedule_topic,
                              text_of(e));
            opening_ = false;
            reopen_at_ms_ = now_ms() + 1000;  // the tick tries again
          });
}

// --- scheduling ---

caf::result<schedule_reply> delay_schedule_state::schedule(delayed_produce& req) {
  const bool parts = !req.parts.empty();
  if (!parts && (!req.batch || req.batch->empty())) {
    return make_error(errc::invalid_request, "no batch");
  }
  const int64_t now = now_ms();
  auto too_far = [&](int64_t at) { return at > now + settings_.max_delay.count(); };
  if (parts ? std::any_of(req.parts.begin(), req.parts.end(),
                          [&](const delayed_part& d) { return too_far(d.due_ms); })
            : too_far(req.deliver_at_ms)) {
    return make_error(errc::invalid_request, fmt::format("deliver-at is more than {} ms ahead",
                                                         settings_.max_delay.count()));
  }
  req.deliver_at_ms = std::max(req.deliver_at_ms, now);
  for (auto& d : req.parts) d.due_ms = std::max(d.due_ms, now);
  auto rp = self_->make_response_promise<schedule_reply>();
  auto reply = [rp](caf::expected<schedule_reply> r) mutable {
    if (r)
      rp.deliver(*r);
    else
      rp.deliver(r.error());
  };
  if (settings_.replicated) {
    append(std::move(req), std::move(reply));  // the RPC layer checked the target
    return rp;
  }
  auto topic = req.topic;
  topics_.with(
      self_, settings_.registry, topic, [this, req, reply](caf::expected<topic_handle> th) mutable {
        if (!th) return reply(th.error());
        if (req.partition >= th->partitions.size()) {
          return reply(make_error(errc::unknown_partition,
                                  fmt::format("{} has no partition {}", req.topic, req.partition)));
        }
        append(std::move(req), std::move(reply));
      });
  return rp;
}

void delay_schedule_state::append(delayed_produce req, appended_fn k) {
  if (!settings_.replicated && slots_.empty()) {
    // Alone, __delay_schedule is still being opened: wait for it (bounded).
    if (early_.size() >= max_early) {
      return k(make_error(errc::busy, fmt::format("{} is not open yet", schedule_topic)));
    }
    early_.emplace_back(std::move(req), std::move(k));
    return;
  }
  auto sp = delay::schedule_partition_of(req.topic, req.partition, settings_.partitions);
  auto& q = appends_[sp];
  size_t bytes = req.batch ? req.batch->size() : 0;
  for (const auto& d : req.parts) bytes += d.batch.size();
  if (q.bytes + bytes > max_waiting_bytes) {
    return k(make_error(errc::busy, fmt::format("{}-{}: {} bytes of envelopes wait already",
                                                schedule_topic, sp, q.bytes)));
  }
  auto acks = settings_.replicated ? acks_level::all : req.acks;
  if (q.waiting.empty() || acks > q.acks) q.acks = acks;
  q.bytes += bytes;
  if (req.parts.empty()) {
    q.waiting.push_back({delay::envelope_record{req.deliver_at_ms, std::move(req.topic),
                                                req.partition, std::move(*req.batch), req.cls},
                         std::move(k)});
  } else {
    // One envelope per part, queued together (so mostly appended in one
    // batch); the producer's reply once all are stored.
    auto join = std::make_shared<part_join>(req.parts.size(), std::move(k));
    for (auto& d : req.parts) {
      q.waiting.push_back(
          {delay::envelope_record{d.due_ms, req.topic, req.partition, std::move(d.batch), req.cls},
           [join](caf::expected<schedule_reply> r) { join->arrived(std::move(r)); }});
    }
  }
  send_appends(sp);
}

void delay_schedule_state::send_appends(uint32_t sp) {
  auto& q = appends_[sp];
  while (!q.waiting.empty() && q.out.size() < max_appends_in_flight) {
    // One batch of envelopes, each its own record (offset base + i): under
    // load a replicated append per delayed message was most of the cost of
    // scheduling it.
    storage::record_batch_builder b;
    const int64_t now = now_ms();
    size_t bytes = 0;
    auto sent = std::make_shared<std::vector<std::pair<int64_t, appended_fn>>>();
    while (!q.waiting.empty() &&
           (sent->empty() || (bytes + q.waiting.front().envelope.batch.size() <= max_append_bytes &&
                              sent->size() < max_append_records))) {
      auto& w = q.waiting.front();
      bytes += w.envelope.batch.size();
      delay::add_schedule_record(b, schedule_kind::envelope, w.envelope, now);
      sent->emplace_back(w.envelope.due_ms, std::move(w.k));
      q.waiting.pop_front();
    }
    q.bytes -= std::min(q.bytes, bytes);
    const uint64_t attempt = ++q.attempt;
    q.out[attempt] = {leader_of({schedule_topic, sp}), sent};
    writer_.produce(
        self_, schedule_topic, sp, std::make_shared<std::string>(b.build()), q.acks,
        schedule_timeout, [this, sp, attempt](caf::expected<produce_reply> w) {
          auto& q = appends_[sp];
          auto it = q.out.find(attempt);
          if (it == q.out.end()) return;  // given up (moved)
          const auto n = static_cast<int64_t>(it->second.sent->size());
          if (w && w->last_offset - w->base_offset + 1 != n) {
            w = make_error(errc::internal,
                           fmt::format("{}-{}: {} envelopes appended as {} records", schedule_topic,
                                       sp, n, w->last_offset - w->base_offset + 1));
          }
          appended(sp, attempt, w);
        });
  }
}

void delay_schedule_state::appended(uint32_t sp, uint64_t attempt,
                                    const caf::expected<produce_reply>& w) {
  auto& q = appends_[sp];
  auto it = q.out.find(attempt);
  if (it == q.out.end()) return;
  auto sent = std::move(it->second.sent);
  q.out.erase(it);
  for (size_t i = 0; i < sent->size(); ++i) {
    auto& [due, k] = (*sent)[i];
    if (!w) {
      k(w.error());
      continue;
    }
    ++stats_.scheduled;
    k(schedule_reply{w->base_offset + static_cast<int64_t>(i), due});
  }
  send_appends(sp);
}

void delay_schedule_state::abandon_moved_appends() {
  for (auto& [sp, q] : appends_) {
    if (q.out.empty()) continue;
    const int32_t leader = leader_of({schedule_topic, sp});
    std::vector<uint64_t> moved;
    for (const auto& [attempt, b] : q.out) {
      if (b.sent_to >= 0 && b.sent_to != leader) moved.push_back(attempt);
    }
    // Sent to a broker that no longer leads sp (a SIGKILLed one never
    // answers): fail them now rather than after schedule_timeout, which
    // would hold every envelope behind them. The producers retry; one that
    // was written after all is delivered twice at worst.
    for (uint64_t attempt : moved) {
      appended(sp, attempt,
               make_error(errc::not_leader,
                          fmt::format("{}-{} moved while its envelopes were being appended",
                                      schedule_topic, sp)));
    }
  }
}

// --- the previous release's schedule ---

void delay_schedule_state::open_legacy() {
  if (settings_.legacy_dir.empty()) return;
  auto l = delay::legacy_schedule::open(settings_.legacy_dir, settings_.bucket_width);
  if (!l) {
    actor_log().error("delay-schedule: cannot read the previous release's schedule in {}: {}",
                      settings_.legacy_dir.string(), l.error().message());
    return;
  }
  legacy_ = std::move(*l);
  if (legacy_) {
    actor_log().info(
        "delay-schedule: {} bucket file(s) of pending delayed messages in the previous release's "
        "format under {}; moving them to {}",
        legacy_->buckets_left(), settings_.legacy_dir.string(), schedule_topic);
  }
}

void delay_schedule_state::migrate() {
  auto chunk = legacy_->next_chunk();
  if (!chunk) {
    actor_log().error("delay-schedule: reading {}: {}; trying again in 5 s",
                      settings_.legacy_dir.string(), chunk.error().message());
    migrate_at_ms_ = now_ms() + 5000;
    return;
  }
  if (chunk->empty()) {
    auto moved = legacy_->moved(), lost = legacy_->lost();
    if (auto st = legacy_->finish(); !st) {
      actor_log().error("delay-schedule: cannot remove {}: {}", settings_.legacy_dir.string(),
                        st.message());
    }
    legacy_.reset();
    auto level = lost ? spdlog::level::err : spdlog::level::info;
    actor_log().log(level,
                    "delay-schedule: moved {} pending delayed message(s) of the previous release "
                    "to {} ({} unreadable)",
                    moved, schedule_topic, lost);
    return;
  }
  migrating_ = true;
  auto left = std::make_shared<size_t>(chunk->size());
  auto failed = std::make_shared<caf::error>();
  for (auto& env : *chunk) {
    delayed_produce req{env.topic,         env.partition,
                        env.deliver_at_ms, std::make_shared<std::string>(std::move(env.batch)),
                        acks_level::fsync, delay::delay_class::unknown};
    append(std::move(req), [this, left, failed](caf::expected<schedule_reply> r) {
      if (!r && !*failed) *failed = r.error();
      if (--*left > 0) return;
      migrating_ = false;
      if (*failed) {
        // The whole chunk again: its acknowledged envelopes are delivered twice.
        actor_log().warn("delay-schedule: moving the previous release's schedule: {}; retrying",
                         text_of(*failed));
        migrate_at_ms_ = now_ms() + 1000;
        return;
      }
      if (auto st = legacy_->done(); !st) {
        actor_log().error("delay-schedule: cannot record the move in {}: {}",
                          settings_.legacy_dir.string(), st.message());
        migrate_at_ms_ = now_ms() + 5000;
      }
    });
  }
}

// --- roles ---

bool delay_schedule_state::current(uint32_t p, uint64_t load) const {
  return p < slots_.size() && slots_[p].load == load;
}

void delay_schedule_state::lead(uint32_t p, int32_t epoch, partition_actor log, uint32_t n) {
  if (!log) return;
  if (n > 0) settings_.partitions = n;  // the topic's count, whatever the config says
  if (slots_.size() < n) slots_.resize(n);
  if (p >= slots_.size() || !open_slot(p)) return;
  auto& s = slots_[p];
  follow(p);
  s.log = std::move(log);
  s.leading = true;
  ask_log_end(p, epoch);
}

void delay_schedule_state::ask_log_end(uint32_t p, int32_t epoch) {
  auto& s = slots_[p];
  s.asking_offsets = true;
  const auto load = s.load;
  self_->request(s.log, schedule_timeout, offsets_atom::value)
      .then(
          [this, p, load, epoch](partition_offsets& o) {
            if (!current(p, load)) return;
            slots_[p].asking_offsets = false;
            slots_[p].catch_up_to = o.log_end_offset;
            actor_log().info("delay-schedule: leads {}-{} (epoch {}); applying up to {}",
                             schedule_topic, p, epoch, o.log_end_offset);
          },
          [this, p, load](caf::error& e) {
            if (!current(p, load)) return;
            // Asked again by the next tick: this broker still leads it.
            slots_[p].asking_offsets = false;
            actor_log().warn("delay-schedule: {}-{}: no offsets: {}", schedule_topic, p,
                             text_of(e));
          });
}

bool delay_schedule_state::open_slot(uint32_t p) {
  auto& s = slots_[p];
  if (s.sp) return true;
  delay::schedule_partition_config c;
  c.dir = settings_.dir / std::to_string(p);
  c.producer_id = settings_.producer_id_base + p;
  c.bucket_width = settings_.bucket_width;
  c.load_ahead = settings_.load_ahead;
  auto opened = delay::schedule_partition::open(c);
  if (!opened && opened.error() == storage::errc::corrupt_checkpoint) {
    // Derived state: rebuilt from the partition.
    actor_log().warn("delay-schedule: the index of {}-{} has a corrupt checkpoint; rebuilding it",
                     schedule_topic, p);
    std::error_code ec;
    std::filesystem::remove_all(c.dir, ec);
    opened = delay::schedule_partition::open(c);
  }
  if (!opened) {
    actor_log().error("delay-schedule: cannot open the index of {}-{}: {}", schedule_topic, p,
                      opened.error().message());
    return false;
  }
  s.sp = std::move(*opened);
  return true;
}

void delay_schedule_state::find_replicas() {
  looking_up_ = true;
  self_
      ->request(settings_.registry, schedule_timeout, lookup_atom::value,
                std::string(schedule_topic))
      .then(
          [this](topic_handle& h) {
            looking_up_ = false;
            if (slots_.size() < h.partitions.size()) slots_.resize(h.partitions.size());
            for (uint32_t p = 0; p < h.partitions.size(); ++p) {
              auto& s = slots_[p];
              if (s.leading || s.log == h.partitions[p]) continue;
              if (!open_slot(p)) continue;
              s.log = h.partitions[p];  // a follower (or a restarted partition actor)
              s.load = next_load_++;
              s.tailing = false;
            }
          },
          [this](caf::error&) { looking_up_ = false; });  // not created yet
}

void delay_schedule_state::follow(uint32_t p) {
  if (p >= slots_.size()) return;
  auto& s = slots_[p];
  s.load = next_load_++;
  s.leading = false;
  s.ready = false;
  s.catch_up_to = -1;
  s.tailing = s.planning = s.record_in_flight = s.collecting = s.asking_offsets = false;
  s.progress_in_flight = false;
  s.retry_progress_at = 0;
  s.read_retry_at = 0;
  s.next_tail_ms = 0;
  s.progress_failures = 0;
  s.kept = delay::delivered_retention(settings_.keep_delivered, settings_.keep_delivered_bytes);
  s.sequences_at = s.sequences_cover = -1;
  s.recording.reset();
  s.soon.clear();
  s.soon_bytes = 0;
  s.queues.clear();
  s.targets_left.clear();
  if (s.sp) {
    s.sp->follow();
    checkpoint(s, true);
  }
}

// --- the timer ---

void delay_schedule_state::tick() {
  const int64_t now = now_ms();
  const auto steady_now = request_deadlines::clock::now();
  deadlines_.expire(steady_now);
  writer_.expire(steady_now);
  if (settings_.replicated) abandon_moved_appends();
  if (!settings_.replicated && slots_.empty() && !opening_ && now >= reopen_at_ms_) open_alone();
  if (settings_.replicated && !looking_up_ && now >= next_lookup_ms_) {
    next_lookup_ms_ = now + 2000;
    find_replicas();
  }
  if (legacy_ && !migrating_ && now >= migrate_at_ms_ && (settings_.replicated || !slots_.empty()))
    migrate();
  for (uint32_t p = 0; p < slots_.size(); ++p) {
    auto& s = slots_[p];
    if (!s.sp || !s.log) continue;
    if (!s.tailing && now >= s.next_tail_ms) tail(p);
    if (!s.leading) {
      checkpoint(s, false);
      continue;
    }
    if (!s.ready) {
      if (s.catch_up_to < 0 && !s.asking_offsets) ask_log_end(p, -1);
      if (s.catch_up_to >= 0 && s.sp->applied_offset() >= s.catch_up_to && !s.planning &&
          now >= s.read_retry_at) {
        become_ready(p);
      }
      continue;
    }
    if (s.recording && !s.record_in_flight && now >= s.retry_record_at) record_dispatch(p);
    // Targets with nothing left to send go (here: a produce may answer at
    // once, inside the loop below): next_tick_at() looks at every queue
    // after every message, and a leader delivers to ever new targets.
    std::erase_if(s.queues, [](const auto& tq) { return tq.second.empty(); });
    for (auto& [t, q] : s.queues) {
      if (q.empty()) continue;
      if (q.front().in_flight) {
        resend_if_moved(p, t);
      } else if (now >= q.front().retry_at) {
        pump(p, t);
      }
    }
    prefetch(p);
    plan(p);
    write_progress(p);
    collect(p);
    checkpoint(s, false);
  }
}

void delay_schedule_state::on_tick(uint64_t id) {
  if (timer_.fired(id)) tick();  // else replaced by an earlier one, which ran
}

void delay_schedule_state::arm_tick() {
  const int64_t now = now_ms();
  timer_.arm(self_, std::chrono::milliseconds(std::max<int64_t>(next_tick_at(now) - now, 1)));
}

bool delay_schedule_state::idle() const {
  if (opening_ || !early_.empty() || legacy_ || looking_up_) return false;
  for (const auto& [sp, q] : appends_) {
    if (!q.waiting.empty() || !q.out.empty()) return false;
  }
  for (const auto& s : slots_) {
    if (!s.leading) continue;
    if (!s.ready || s.planning || !s.soon.empty() || s.recording || s.record_in_flight ||
        !s.targets_left.empty() || s.progress_in_flight || s.collecting) {
      return false;
    }
    for (const auto& [t, q] : s.queues) {
      if (!q.empty()) return false;
    }
  }
  return true;
}

int64_t delay_schedule_state::next_tick_at(int64_t now) const {
  int64_t at = now + (idle() ? settings_.idle_tick : settings_.tick).count();
  for (const auto& s : slots_) {
    if (!s.sp || !s.log) continue;
    if (!s.tailing) at = std::min(at, s.next_tail_ms);  // a read to start again
    if (!s.leading || !s.ready) continue;
    if (!s.soon.empty() && !s.recording && s.sp->can_plan()) {
      at =
          std::min(at, s.soon.front().envelope.due_ms -
                           std::min<int64_t>(static_cast<int64_t>(s.record_ms), max_plan_ahead_ms));
    }
    for (const auto& [t, q] : s.queues) {
      if (!q.empty() && !q.front().in_flight) {
        at = std::min(at, std::max(q.front().not_before, q.front().retry_at));
      }
    }
    if (!s.planning && s.soon.size() < max_soon_entries && s.soon_bytes < max_soon_bytes) {
      if (auto w = s.sp->next_wake()) {
        at = std::min(at, std::max(*w - prefetch_ahead.count(), s.read_retry_at));
      }
    }
  }
  return at;
}

void delay_schedule_state::tail(uint32_t p) {
  auto& s = slots_[p];
  s.tailing = true;
  const auto load = s.load;
  fetch_request fr{s.sp->applied_offset(), envelope_read_bytes, false, true};
  // A read that failed or timed out starts again after a pause, not at the
  // next tick (the timer is armed for next_tail_ms).
  auto pause = [this](slot& sl) {
    sl.tailing = false;
    sl.next_tail_ms = now_ms() + tail_retry_ms;
  };
  auto t = deadline([this, p, load, pause] {
    if (current(p, load)) pause(slots_[p]);
  });
  auto on_slice = [this, p, load, t](fetch_reply& r) {
    if (!t.settle() || !current(p, load)) return;
    slots_[p].tailing = false;
    apply_slice(p, r);
  };
  auto on_error = [this, p, load, t, pause](caf::error& e) {
    if (!t.settle() || !current(p, load)) return;
    pause(slots_[p]);
    // Below the log start: what the index lacks was collected; an index
    // started over at the log start holds every pending entry.
    if (code_of(e) == errc::offset_out_of_range) restart_at_log_start(p, load);
  };
  // Only a leader's partition parks a fetch; a follower's index reads in
  // runs (apply_slice).
  auto sent = s.leading ? self_->request(s.log, caf::infinite, wait_atom::value, fr,
                                         caf::timespan{tail_wait})
                        : self_->request(s.log, caf::infinite, fetch_atom::value, fr);
  std::move(sent).then(std::move(on_slice), std::move(on_error));
}

void delay_schedule_state::restart_at_log_start(uint32_t p, uint64_t load) {
  auto t = deadline([] {});
  self_->request(slots_[p].log, caf::infinite, offsets_atom::value)
      .then([this, p, load, t](partition_offsets& o) {
        if (!t.settle() || !current(p, load) ||
            o.log_start_offset <= slots_[p].sp->applied_offset())
          return;
        actor_log().warn(
            "delay-schedule: {}-{}: index behind the log start {}; rebuilding it from there",
            schedule_topic, p, o.log_start_offset);
        (void)slots_[p].sp->reset(o.log_start_offset);
        if (slots_[p].leading) slots_[p].ready = false;
      });
}

void delay_schedule_state::apply_slice(uint32_t p, const fetch_reply& r) {
  auto& s = slots_[p];
  s.high_watermark = r.high_watermark;
  s.log_start = r.log_start_offset;
  if (r.slice.length == 0) {
    // Caught up: a leader's long poll came back empty (tail_wait elapsed),
    // it parks again after a tick; a follower looks again after 50 ms.
    s.next_tail_ms = now_ms() + (s.leading ? settings_.tick.count() : 50);
    return;
  }
  auto& sp = *s.sp;
  auto next = for_each_fetched(r, sp.applied_offset(), [&](const storage::record_view& rv) {
    const int64_t offset = rv.record_offset();
    auto rec = delay::decode_schedule_record(rv.key.value_or(""), rv.value.value_or(""));
    if (!rec) {
      actor_log().warn("delay-schedule: {}-{}: record {} skipped: not a schedule record",
                       schedule_topic, p, offset);
      sp.skip_to(offset + 1);
      return;
    }
    if (auto st = sp.apply(offset, *rec); !st) {
      actor_log().error("delay-schedule: {}-{}: record {}: {}", schedule_topic, p, offset,
                        st.error().message());
      sp.skip_to(offset + 1);
    }
  });
  if (!next) {
    actor_log().error("delay-schedule: {}-{}: {}", schedule_topic, p, text_of(next.error()));
    return;
  }
  sp.skip_to(*next);
  if (s.sp->applied_offset() < s.high_watermark) {
    tail(p);  // more to read now
  } else if (!s.leading) {
    // A follower's index only has to be near the log end when it takes
    // over (it then reads up to the log end first): read in 50 ms runs, not
    // a fetch per tick under a steady stream of envelopes.
    s.next_tail_ms = now_ms() + 50;
  }
}

// --- taking over ---

void delay_schedule_state::become_ready(uint32_t p) {
  auto& s = slots_[p];
  if (auto st = s.sp->lead(now_ms()); !st) {
    actor_log().error("delay-schedule: {}-{}: cannot load its index: {}", schedule_topic, p,
                      st.error().message());
    return;
  }
  auto redo = s.sp->unfinished();
  actor_log().debug(
      "delay-schedule: {}-{}: ready at {}: {} in the wheel, {} to repeat, completed {}",
      schedule_topic, p, s.sp->applied_offset(), s.sp->in_wheel(), redo.size(),
      s.sp->completed_through());
  if (redo.empty()) {
    s.ready = true;
    return;
  }
  std::vector<int64_t> offsets;
  for (const auto& d : redo) {
    for (const auto& t : d.targets) {
      for (const auto& e : t.entries) offsets.push_back(e.offset);
    }
  }
  s.planning = true;
  const auto load = s.load;
  read_envelopes(p, offsets,
                 [this, p, load, redo](std::vector<delay::fired_envelope> envs, bool complete) {
                   if (!current(p, load)) return;
                   slots_[p].planning = false;
                   repeat(p, redo, envs, complete);
                 });
}

void delay_schedule_state::repeat(uint32_t p, const std::vector<delay::dispatch_record>& redo,
                                  const std::vector<delay::fired_envelope>& envs, bool complete) {
  auto& s = slots_[p];
  // A failed read: a later tick takes over again (a missing envelope
  // would make its dispatch impossible to repeat).
  if (!complete) {
    s.read_retry_at = now_ms() + record_retry_ms;
    return;
  }
  std::map<int64_t, const delay::envelope_record*> by_offset;
  for (const auto& f : envs) by_offset[f.offset] = &f.envelope;
  for (const auto& d : redo) {
    std::vector<std::string> batches;
    for (const auto& t : d.targets) {
      std::vector<const delay::envelope_record*> parts;
      for (const auto& e : t.entries) {
        if (auto it = by_offset.find(e.offset); it != by_offset.end()) parts.push_back(it->second);
      }
      auto b = parts.size() == t.entries.size()
                   ? delay::schedule_partition::build_batch(t, parts, s.sp->producer_id())
                   : storage::result<std::string>(
                         storage::make_error_code(storage::errc::invalid_batch));
      if (!b) {
        actor_log().error(
            "delay-schedule: {}-{}: dispatch {} to {}-{} cannot be repeated (its envelopes "
            "are gone); its messages may be missing there",
            schedule_topic, p, d.number, t.topic, t.partition);
        batches.emplace_back();
        continue;
      }
      batches.push_back(std::move(*b));
    }
    enqueue(p, d, std::move(batches));
  }
  actor_log().info("delay-schedule: {}-{}: {} unfinished dispatch(es) produced again",
                   schedule_topic, p, redo.size());
  s.ready = true;
}

void delay_schedule_state::read_envelopes(uint32_t p, std::vector<int64_t> offsets,
                                          envelopes_fn done) {
  auto r = std::make_shared<envelope_read>();
  std::sort(offsets.begin(), offsets.end());
  offsets.erase(std::unique(offsets.begin(), offsets.end()), offsets.end());
  r->wanted = std::move(offsets);
  r->load = slots_[p].load;
  r->done = std::move(done);
  read_step(p, std::move(r));
}

void delay_schedule_state::read_step(uint32_t p, std::shared_ptr<envelope_read> r) {
  if (!current(p, r->load)) return;  // the slot changed role: nobody waits for this
  if (r->next == r->wanted.size()) return r->done(std::move(r->got), true);
  const int64_t off = r->wanted[r->next];
  // Whole batches from the first wanted offset on, as far as the wanted
  // offsets that fit in envelope_read_bytes reach: envelopes due together
  // were mostly appended together, so one read serves many; a lone one
  // (due times spread over a long window) costs a read of about its own
  // size, not 128 KiB parsed for one record.
  const double per_offset = std::max(1.0, slots_[p].bytes_per_offset);
  const auto reach = static_cast<int64_t>(envelope_read_bytes / per_offset);
  auto last = std::upper_bound(r->wanted.begin() + static_cast<std::ptrdiff_t>(r->next),
                               r->wanted.end(), off + std::max<int64_t>(reach - 1, 0));
  const int64_t span = *std::prev(last) - off + 1;
  const auto max_bytes = static_cast<uint32_t>(
      std::min<double>(envelope_read_bytes, static_cast<double>(span) * per_offset * 1.25 + 1024));
  fetch_request fr{off, max_bytes, false, true};
  auto t = deadline([this, p, r, off] {
    if (!current(p, r->load)) return;
    actor_log().warn("delay-schedule: {}-{}: reading envelope {}: timed out", schedule_topic, p,
                     off);
    r->done(std::move(r->got), false);
  });
  self_->request(slots_[p].log, caf::infinite, fetch_atom::value, fr)
      .then(
          [this, p, r, off, t](fetch_reply& reply) {
            if (!t.settle() || !current(p, r->load)) return;
            if (reply.slice.length > 0 && reply.slice.next_offset > reply.slice.first_offset) {
              auto& avg = slots_[p].bytes_per_offset;
              avg = 0.8 * avg +
                    0.2 * static_cast<double>(reply.slice.length) /
                        static_cast<double>(reply.slice.next_offset() - reply.slice.first_offset());
            }
            auto missing = [&](int64_t below) {
              for (; r->next < r->wanted.size() && r->wanted[r->next] < below; ++r->next) {
                actor_log().error("delay-schedule: {}-{}: no envelope at offset {}", schedule_topic,
                                  p, r->wanted[r->next]);
              }
            };
            int64_t end = off + 1;
            if (reply.slice.length > 0) {
              auto next = for_each_fetched(reply, off, [&](const storage::record_view& rv) {
                const int64_t o = rv.record_offset();
                missing(o);
                if (r->next == r->wanted.size() || r->wanted[r->next] != o) return;
                auto rec =
                    delay::decode_schedule_record(rv.key.value_or(""), rv.value.value_or(""));
                if (rec && rec->kind == schedule_kind::envelope) {
                  r->got.push_back({o, std::move(rec->envelope)});
                  ++r->next;
                }  // else: reported missing by the next call
              });
              if (next) {
                end = std::max(end, *next);
              } else {
                actor_log().error("delay-schedule: {}-{}: reading envelopes at {}: {}",
                                  schedule_topic, p, off, text_of(next.error()));
              }
            }
            missing(end);
            read_step(p, r);
          },
          [this, p, r, off, t](caf::error& e) {
            if (!t.settle() || !current(p, r->load)) return;
            // Not known to be gone: the caller tries these again later.
            actor_log().warn("delay-schedule: {}-{}: reading envelope {}: {}", schedule_topic, p,
                             off, text_of(e));
            r->done(std::move(r->got), false);
          });
}

// --- delivering ---

void delay_schedule_state::prefetch(uint32_t p) {
  auto& s = slots_[p];
  if (s.planning || now_ms() < s.read_retry_at || s.soon.size() >= max_soon_entries ||
      s.soon_bytes >= max_soon_bytes) {
    return;
  }
  auto due = s.sp->due(now_ms() + prefetch_ahead.count(), max_due_per_plan);
  if (due.empty()) return;
  std::vector<int64_t> offsets;
  for (const auto& e : due) offsets.push_back(static_cast<int64_t>(e.id()));
  s.planning = true;
  const auto load = s.load;
  read_envelopes(p, offsets,
                 [this, p, load, due](std::vector<delay::fired_envelope> envs, bool complete) {
                   if (!current(p, load)) return;
                   slots_[p].planning = false;
                   read_ahead(p, due, envs, complete);
                   plan(p);
                 });
}

void delay_schedule_state::read_ahead(uint32_t p, const std::vector<delay::timer_entry>& due,
                                      std::vector<delay::fired_envelope>& envs, bool complete) {
  auto& s = slots_[p];
  std::map<int64_t, delay::fired_envelope*> by_offset;
  for (auto& f : envs) by_offset[f.offset] = &f;
  std::vector<delay::timer_entry> unread;
  std::vector<int64_t> dropped;
  for (const auto& e : due) {
    const auto off = static_cast<int64_t>(e.id());
    auto it = by_offset.find(off);
    if (it == by_offset.end()) {
      // Not in the log (logged) or not tried after a failed read.
      if (complete) {
        dropped.push_back(off);
      } else {
        unread.push_back(e);
      }
    } else if (delay::record_count(it->second->envelope.batch) > 0) {
      s.soon_bytes += it->second->envelope.batch.size();
      s.soon.push_back(std::move(*it->second));
    } else {
      actor_log().error("delay-schedule: {}-{}: envelope {} holds no batch; dropped",
                        schedule_topic, p, off);
      dropped.push_back(off);
    }
  }
  if (!complete) s.read_retry_at = now_ms() + record_retry_ms;
  s.sp->unfire(unread);  // read again on a later tick
  s.sp->drop(dropped);
  // Due order, equal due times in log order. An envelope applied after the
  // wheel passed its time fires late and sorts in among the rest.
  std::stable_sort(s.soon.begin(), s.soon.end(), [](const auto& x, const auto& y) {
    return std::tie(x.envelope.due_ms, x.offset) < std::tie(y.envelope.due_ms, y.offset);
  });
}

void delay_schedule_state::plan(uint32_t p) {
  auto& s = slots_[p];
  if (s.recording || s.soon.empty() || !s.sp->can_plan()) return;
  // Planned ahead by about what recording a dispatch takes, so the record
  // is written by the time its entries are due; each target's batch then
  // waits for its last entry's due time (a dispatch spans about that much).
  const int64_t now = now_ms();
  const int64_t ahead = std::min<int64_t>(static_cast<int64_t>(s.record_ms), max_plan_ahead_ms);
  std::vector<delay::fired_envelope> fired;
  while (!s.soon.empty() && s.soon.front().envelope.due_ms <= now + ahead &&
         fired.size() < max_due_per_plan) {
    s.soon_bytes -= s.soon.front().envelope.batch.size();
    fired.push_back(std::move(s.soon.front()));
    s.soon.pop_front();
  }
  if (fired.empty()) return;
  auto planned = s.sp->plan(fired);
  if (!planned) {
    // Envelopes parsed when read: a bug. Their entries stay fired (not
    // delivered, their bucket kept) until another broker takes over.
    actor_log().error("delay-schedule: {}-{}: cannot plan: {}", schedule_topic, p,
                      planned.error().message());
    return;
  }
  s.recording = std::move(*planned);
  record_dispatch(p);
}

void delay_schedule_state::record_dispatch(uint32_t p) {
  auto& s = slots_[p];
  if (!s.recording || s.record_in_flight) return;
  s.record_in_flight = true;
  s.record_sent_ms = now_ms();
  const auto load = s.load;
  writer_.produce(self_, schedule_topic, p,
                  record_batch_of(schedule_kind::dispatch, s.recording->record, now_ms()),
                  acks_level::all, schedule_timeout,
                  [this, p, load](caf::expected<produce_reply> w) {
                    if (!current(p, load)) return;
                    auto& s = slots_[p];
                    s.record_in_flight = false;
                    if (!w) {
                      // The same record again (same number and sequences):
                      // a gap would strand every later dispatch.
                      actor_log().warn(
                          "delay-schedule: {}-{}: dispatch {} not recorded: {}; "
                          "retrying",
                          schedule_topic, p, s.recording->record.number, text_of(w.error()));
                      s.retry_record_at = now_ms() + record_retry_ms;
                      return;
                    }
                    const auto took = static_cast<double>(now_ms() - s.record_sent_ms);
                    s.record_ms = 0.75 * s.record_ms + 0.25 * took;
                    auto planned = std::move(*s.recording);
                    s.recording.reset();
                    enqueue(p, planned.record, std::move(planned.batches));
                    plan(p);  // what came due meanwhile
                  });
}

void delay_schedule_state::enqueue(uint32_t p, const delay::dispatch_record& d,
                                   std::vector<std::string> batches) {
  auto& s = slots_[p];
  size_t targets = 0;
  for (size_t i = 0; i < d.targets.size(); ++i) {
    if (batches[i].empty()) continue;  // cannot be repeated (logged)
    const auto& t = d.targets[i];
    delay::target key{t.topic, t.partition};
    int64_t last_due = 0;
    for (const auto& e : t.entries) last_due = std::max(last_due, e.due_ms);
    target_batch b;
    b.dispatch = d.number;
    b.bytes = std::make_shared<std::string>(std::move(batches[i]));
    b.not_before = last_due;
    s.queues[key].push_back(std::move(b));
    ++targets;
  }
  if (targets == 0) {
    s.sp->completed(d.number);
    return;
  }
  s.targets_left[d.number] = targets;
  for (const auto& t : d.targets) pump(p, {t.topic, t.partition});
}

void delay_schedule_state::pump(uint32_t p, const delay::target& t) {
  auto& s = slots_[p];
  auto it = s.queues.find(t);
  if (it == s.queues.end() || it->second.empty() || it->second.front().in_flight) return;
  auto& b = it->second.front();
  if (now_ms() < b.not_before) return;  // the timer sends it at its time
  b.in_flight = true;
  b.sent_to = leader_of(t);
  const auto attempt = ++b.attempt;
  const auto load = s.load;
  writer_.produce(self_, t.first, t.second, b.bytes, acks_level::all, delivery_timeout,
                  [this, p, load, t, attempt](caf::expected<produce_reply> w) {
                    if (!current(p, load)) return;
                    auto it = slots_[p].queues.find(t);
                    // An answer to an attempt given up on (the leader moved).
                    if (it == slots_[p].queues.end() || it->second.empty() ||
                        it->second.front().attempt != attempt) {
                      return;
                    }
                    produced(p, t, w ? caf::error{} : w.error());
                  });
}

int32_t delay_schedule_state::leader_of(const delay::target& t) const {
  const auto& leaders = settings_.writer.leaders;
  return leaders ? leaders->leader(t.first, t.second) : -1;
}

void delay_schedule_state::resend_if_moved(uint32_t p, const delay::target& t) {
  auto& b = slots_[p].queues[t].front();
  auto now_at = leader_of(t);
  if (now_at < 0 || now_at == b.sent_to) return;
  // The target's leader changed while this batch was out: the old one may
  // never answer (SIGKILLed). Send it to the new one now.
  b.in_flight = false;
  b.retry_at = 0;
  pump(p, t);
}

void delay_schedule_state::produced(uint32_t p, const delay::target& t, const caf::error& err) {
  auto& s = slots_[p];
  auto qi = s.queues.find(t);
  if (qi == s.queues.end() || qi->second.empty()) return;
  auto& q = qi->second;
  auto& b = q.front();
  if (err) {
    auto code = code_of(err);
    if (code != errc::unknown_topic && code != errc::unknown_partition) {
      // Retried by the timer, the same batch: its sequences make a repeat
      // harmless, and the target's order waits for it. Backoff 100 ms
      // doubling to 2 s; logged on the first failure and every 20th.
      if (b.failures++ % 20 == 0) {
        actor_log().warn(
            "delay-schedule: {}-{}: delivery to {}-{} failed ({} time(s)): {}; retrying",
            schedule_topic, p, t.first, t.second, b.failures, text_of(err));
      }
      b.in_flight = false;
      const int64_t backoff = record_retry_ms << std::min<uint32_t>(b.failures - 1, 5);
      b.retry_at = now_ms() + std::min<int64_t>(backoff, 2000);
      return;
    }
    actor_log().error("delay-schedule: {}-{}: {}-{} is gone; its delayed messages are dropped",
                      schedule_topic, p, t.first, t.second);
  } else {
    stats_.delivered += static_cast<uint64_t>(delay::record_count(*b.bytes));
  }
  const auto number = b.dispatch;
  q.pop_front();
  if (auto left = s.targets_left.find(number);
      left != s.targets_left.end() && --left->second == 0) {
    s.targets_left.erase(left);
    s.sp->completed(number);
    write_progress(p);  // planning waits for the log to hold the completion
    plan(p);
  }
  pump(p, t);
}

void delay_schedule_state::write_progress(uint32_t p) {
  auto& s = slots_[p];
  const int64_t now = now_ms();
  if (s.progress_in_flight || now < s.retry_progress_at) return;
  auto pr = s.sp->progress_due(now, s.high_watermark);
  if (!pr) return;
  s.progress_in_flight = true;
  const auto load = s.load;
  writer_.produce(
      self_, schedule_topic, p, record_batch_of(schedule_kind::progress, *pr, now), acks_level::all,
      schedule_timeout, [this, p, load](caf::expected<produce_reply> w) {
        if (!current(p, load)) return;
        auto& sl = slots_[p];
        sl.progress_in_flight = false;
        if (w) {
          sl.progress_failures = 0;
          if (!sl.tailing) tail(p);  // applied: planning may go on
          return;
        }
        // Only late: reported again after a backoff (1 s doubling to 8 s),
        // logged on the first failure and every 20th.
        sl.sp->progress_lost();
        if (sl.progress_failures++ % 20 == 0) {
          actor_log().warn("delay-schedule: {}-{}: progress not recorded ({} time(s)): {}",
                           schedule_topic, p, sl.progress_failures, text_of(w.error()));
        }
        sl.retry_progress_at =
            now_ms() + (1000ll << std::min<uint32_t>(sl.progress_failures - 1, 3));
      });
}

void delay_schedule_state::collect(uint32_t p) {
  auto& s = slots_[p];
  const int64_t now = now_ms();
  if (s.collecting || now - s.last_gc_ms < settings_.gc_interval.count()) return;
  s.last_gc_ms = now;
  int64_t lowest = s.sp->lowest_needed();
  // Nothing after the last sequences record: it stays (deleting it alone
  // would take writing another, and that one the next, for ever).
  if (s.sequences_at >= 0 && lowest == s.sequences_at + 1) lowest = s.sequences_at;
  if (lowest <= s.log_start) return;
  s.collecting = true;
  const auto load = s.load;
  // The partition's size first: past keep_delivered_bytes the delivered
  // records go whatever their age.
  self_->request(s.log, schedule_timeout, offsets_atom::value)
      .then(
          [this, p, load, lowest](partition_offsets& o) {
            if (!current(p, load)) return;
            auto& s = slots_[p];
            const int64_t below = s.kept.floor(now_ms(), lowest, o.size_bytes);
            if (below <= s.log_start) {
              s.collecting = false;
            } else if (below <= s.sequences_cover) {
              move_log_start(p, load, below);  // the last sequences record holds theirs
            } else {
              delete_below(p, load, below);
            }
          },
          [this, p, load](caf::error&) {
            if (current(p, load)) slots_[p].collecting = false;
          });
}

void delay_schedule_state::delete_below(uint32_t p, uint64_t load, int64_t below) {
  // The sequences record first: the records below `below` held the last
  // dispatch numbers and sequences. It holds what was applied up to cover.
  const int64_t cover = slots_[p].sp->applied_offset();
  auto written = [this, p, load, below, cover](caf::expected<produce_reply> w) {
    if (!current(p, load)) return;
    if (!w) {
      slots_[p].collecting = false;
      return;
    }
    slots_[p].sequences_at = w->base_offset;
    slots_[p].sequences_cover = cover;
    move_log_start(p, load, below);
  };
  writer_.produce(self_, schedule_topic, p,
                  record_batch_of(schedule_kind::sequences, slots_[p].sp->sequences(), now_ms()),
                  acks_level::all, schedule_timeout, std::move(written));
}

void delay_schedule_state::move_log_start(uint32_t p, uint64_t load, int64_t below) {
  auto moved = [this, p, load](int64_t start) {
    if (!current(p, load)) return;
    slots_[p].collecting = false;
    slots_[p].log_start = start;
  };
  auto failed = [this, p, load, below](caf::error& e) {
    if (!current(p, load)) return;
    slots_[p].collecting = false;
    actor_log().warn("delay-schedule: {}-{}: cannot delete below {}: {}", schedule_topic, p, below,
                     text_of(e));
  };
  self_->request(slots_[p].log, schedule_timeout, delete_atom::value, below)
      .then(std::move(moved), std::move(failed));
}

void delay_schedule_state::checkpoint(slot& s, bool force) {
  const int64_t now = now_ms();
  if (!force && now - s.last_checkpoint_ms < settings_.checkpoint_interval.count()) return;
  s.last_checkpoint_ms = now;
  if (!force && s.checkpointed == s.sp->applied_offset()) return;  // nothing new to sync
  s.checkpointed = s.sp->applied_offset();
  if (auto st = s.sp->checkpoint(); !st) {
    actor_log().warn("delay-schedule: index checkpoint failed: {}", st.error().message());
  }
}

delay_stats delay_schedule_state::stats() const {
  auto out = stats_;
  for (const auto& s : slots_) {
    if (!s.sp) continue;
    out.in_wheel += s.sp->in_wheel() + s.soon.size();
    out.store_buckets += s.sp->bucket_files();
    out.in_flight += s.targets_left.size();
    out.log_start = std::max(out.log_start, s.log_start);
  }
  return out;
}

void delay_schedule_state::close() {
  timer_.close();
  for (auto& s : slots_) {
    if (s.sp) checkpoint(s, true);
  }
}

}  // namespace actormq
