#include "actors/delay/delay_state.h"

#include <fmt/format.h>

#include "actors/delay/schedule_envelope.h"
#include "actors/errc.h"
#include "actors/logger.h"

namespace actormq {

namespace {
int64_t now_ms() {
  return storage::system_now()();
}
constexpr int64_t retry_delay_ms = 1000;
/// A delivery not answered by then is retried (see request_deadlines.h).
constexpr auto delivery_timeout = std::chrono::seconds(30);
}  // namespace

caf::error delay_state::open(delay_settings settings) {
  settings_ = std::move(settings);
  storage::log_config lc;
  lc.segment_bytes = settings_.segment_bytes;
  // Envelopes are needed until delivered: collect_envelopes() drops the
  // segments below the lowest pending one; the age limit is a backstop.
  lc.retention_ms = settings_.max_delay.count() + 24 * 3600 * 1000ll;
  lc.flush = storage::flush_policy::never();
  lc.validate_records = false;  // envelopes are built here
  lc.max_batch_bytes = 64u << 20;
  storage::recovery_report report;
  auto log = storage::log::open(settings_.dir / "log", lc, &report);
  if (!log) return from_storage(log.error(), "open delay schedule log");
  log_ = std::move(*log);
  storage::schedule_store_config sc;
  sc.bucket_width = settings_.bucket_width;
  auto store = storage::schedule_store::open(settings_.dir / "schedule", sc, &report);
  if (!store) return from_storage(store.error(), "open delay schedule store");
  store_ = std::move(*store);
  auto wheel = delay::timing_wheel::make({}, storage::timestamp_ms(now_ms()));
  if (!wheel) return from_storage(wheel.error(), "timing wheel");
  wheel_.emplace(std::move(*wheel));
  loaded_until_ = 0;
  last_flush_ms_ = now_ms();
  actor_log().info("delay: {} pending bucket files, schedule log [{}, {})", store_->bucket_count(),
                   log_->log_start_offset()(), log_->next_offset()());
  return {};
}

void delay_state::attach(self_ptr self) {
  self_ = self;
}

caf::result<schedule_reply> delay_state::schedule(delayed_produce& req) {
  auto now = now_ms();
  if (req.deliver_at_ms > now + settings_.max_delay.count()) {
    return make_error(errc::invalid_request,
                      fmt::format("deliver-at is more than {} ahead",
                                  delay::format_duration(settings_.max_delay)));
  }
  auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(req.batch->data()),
                                        req.batch->size());
  auto h = storage::validate_batch(bytes, log_->config().max_batch_bytes,
                                   storage::validation::full_records);
  if (!h) return from_storage(h.error(), "delayed batch");
  if (h->size_bytes() != bytes.size()) {
    return make_error(errc::invalid_request, "a delayed produce carries exactly one batch");
  }
  auto rp = self_->make_response_promise<schedule_reply>();
  // Refuse unknown targets now rather than at delivery time.
  topics_.with(
      self_, settings_.registry, req.topic,
      [this, req, rp](caf::expected<topic_handle> th) mutable {
        if (!th) return rp.deliver(th.error()), void();
        if (req.partition >= th->partitions.size()) {
          rp.deliver(make_error(errc::unknown_partition,
                                fmt::format("{} has no partition {}", req.topic, req.partition)));
          return;
        }
        append(std::move(req), rp);
      });
  return rp;
}

void delay_state::append(delayed_produce req, caf::typed_response_promise<schedule_reply> rp) {
  auto now = now_ms();
  delay::schedule_envelope env{req.topic, req.partition, req.deliver_at_ms, *req.batch};
  auto bytes = env.encode(now);
  auto r = log_->append({reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()});
  if (!r) {
    rp.deliver(from_storage(r.error(), "append to delay schedule log"));
    return;
  }
  int64_t off = r->base_offset();
  storage::schedule_entry se{storage::timestamp_ms(req.deliver_at_ms),
                             static_cast<uint8_t>(delay::timer_kind::delayed_message),
                             static_cast<uint64_t>(off)};
  if (auto st = store_->add(se); !st) {
    rp.deliver(from_storage(st.error(), "add to delay schedule store"));
    return;
  }
  dirty_ = true;
  ++stats_.scheduled;
  // Entries of buckets already in memory go to the wheel now; later ones are
  // loaded with their bucket.
  auto bucket = store_->bucket_of(se.due)();
  if (bucket < loaded_until_) {
    wheel_->add({se.due, delay::timer_kind::delayed_message, delay::timer_id(se.id)});
    loaded_buckets_.insert(bucket);  // so its file is removed once delivered
  }
  schedule_reply reply{off, req.deliver_at_ms};
  if (req.acks == acks_level::fsync) {
    sync_waiters_.emplace_back(reply, rp);  // answered by the next flush (group commit)
  } else {
    rp.deliver(reply);
  }
}

void delay_state::load_buckets(int64_t now) {
  int64_t horizon = now + settings_.load_ahead.count();
  while (true) {
    auto next = store_->next_bucket(storage::timestamp_ms(loaded_until_));
    if (!next || (*next)() > horizon) break;
    auto b = store_->load_bucket(*next);
    if (!b) {
      actor_log().error("delay: cannot load bucket {}: {}", (*next)(), b.error().message());
      break;
    }
    for (const auto& e : b->entries) {
      wheel_->add({e.due, static_cast<delay::timer_kind>(e.kind), delay::timer_id(e.id)});
    }
    loaded_buckets_.insert((*next)());
    loaded_until_ = (*next)() + store_->bucket_width().count();
  }
  // No file yet for nearer buckets: still count them as loaded so new
  // entries for them go straight to the wheel.
  int64_t reach = store_->bucket_of(storage::timestamp_ms(horizon))();
  if (reach > loaded_until_) loaded_until_ = reach;
}

void delay_state::fire(int64_t now) {
  if (in_flight_ >= settings_.max_deliveries_in_flight) return;
  size_t room = settings_.max_deliveries_in_flight - in_flight_;
  auto due = wheel_->advance(storage::timestamp_ms(now), room);
  if (due.size() < room) {
    fired_through_ = now + 1;
  } else if (!due.empty()) {
    fired_through_ = due.back().due();  // more may be due at that same time
  }
  for (const auto& e : due) {
    // A retried entry is already pending at its original due time.
    if (!retry_origin_.count(e.id())) pending_dues_.insert(e.due());
    deliver(e);
  }
}

void delay_state::deliver(const delay::timer_entry& e) {
  ++in_flight_;
  auto slice = log_->read(storage::offset(static_cast<int64_t>(e.id())), 1);
  std::string buf;
  if (slice && slice->length > 0) {
    buf.resize(slice->length);
    if (auto st = slice->file->read_at(slice->position,
                                       {reinterpret_cast<uint8_t*>(buf.data()), buf.size()});
        !st) {
      slice = st.error();
    }
  }
  if (!slice || slice->length == 0) {
    actor_log().error("delay: envelope {} unreadable ({}); dropped", e.id(),
                      slice ? "gone" : slice.error().message());
    return finish(e.due(), {}, e);
  }
  auto env =
      delay::schedule_envelope::decode({reinterpret_cast<const uint8_t*>(buf.data()), buf.size()});
  if (!env) {
    actor_log().error("delay: envelope {} does not decode; dropped", e.id());
    return finish(e.due(), {}, e);
  }
  auto batch = std::make_shared<std::string>(std::move(env->batch));
  delay::clear_producer(*batch);
  auto target = env->topic;
  auto partition = env->partition;
  topics_.with(self_, settings_.registry, target,
               [this, e, batch, target, partition](caf::expected<topic_handle> th) {
                 if (!th) return finish(e.due(), th.error(), e);
                 if (partition >= th->partitions.size()) {
                   return finish(e.due(), make_error(errc::unknown_partition), e);
                 }
                 auto on_error = [this, e, target](const caf::error& err) {
                   if (err.category() != errc_category) topics_.forget(target);
                   finish(e.due(), err, e);
                 };
                 auto t = deadlines_.add(
                     request_deadlines::clock::now() + delivery_timeout,
                     [on_error] { on_error(caf::make_error(caf::sec::request_timeout)); });
                 self_
                     ->request(th->partitions[partition], caf::infinite, produce_atom::value,
                               produce_request{batch, acks_level::fsync})
                     .then(
                         [this, e, t](produce_reply&) {
                           if (t.settle()) finish(e.due(), {}, e);
                         },
                         [on_error, t](caf::error& err) {
                           if (t.settle()) on_error(err);
                         });
               });
}

void delay_state::finish(int64_t due, const caf::error& err, const delay::timer_entry& e) {
  --in_flight_;
  auto code = code_of(err);
  if (err && code != errc::unknown_topic && code != errc::unknown_partition &&
      code != errc::invalid_batch) {
    // Retriable (busy, timeout, disk full...): try again shortly; the entry
    // stays pending so progress is not recorded past it.
    actor_log().warn("delay: delivery of {} failed ({}); retrying", e.id(), text_of(err));
    auto retry = delay::timer_entry{storage::timestamp_ms(now_ms() + retry_delay_ms), e.kind, e.id};
    // The original due stays in pending_dues_ until the retry succeeds.
    if (!retry_origin_.count(e.id())) retry_origin_[e.id()] = due;
    wheel_->add(retry);
    return;
  }
  if (err) {
    actor_log().warn("delay: message {} for a topic or partition that no longer exists; dropped",
                     e.id());
  }
  int64_t origin = due;
  if (auto it = retry_origin_.find(e.id()); it != retry_origin_.end()) {
    origin = it->second;
    retry_origin_.erase(it);
  }
  if (auto it = pending_dues_.find(origin); it != pending_dues_.end()) pending_dues_.erase(it);
  ++stats_.delivered;
}

void delay_state::record_progress() {
  int64_t through = fired_through_ - 1;
  if (!pending_dues_.empty()) through = std::min(through, *pending_dues_.begin() - 1);
  if (through <= last_mark_) return;
  // Whole buckets below the mark are done; the mark's own bucket gets a record.
  for (auto it = loaded_buckets_.begin(); it != loaded_buckets_.end();) {
    if (*it + store_->bucket_width().count() - 1 <= through) {
      if (auto st = store_->remove_bucket(storage::timestamp_ms(*it)); !st) {
        actor_log().error("delay: remove bucket: {}", st.error().message());
        return;
      }
      it = loaded_buckets_.erase(it);
    } else {
      break;
    }
  }
  if (auto st = store_->mark_delivered(storage::timestamp_ms(through)); !st) {
    actor_log().error("delay: mark delivered: {}", st.error().message());
    return;
  }
  last_mark_ = through;
  stats_.delivered_through_ms = through;
  dirty_ = true;
}

void delay_state::flush_if_due(bool force) {
  auto now = now_ms();
  bool due =
      force || !sync_waiters_.empty() || now - last_flush_ms_ >= settings_.flush_interval.count();
  if (!dirty_ || !due) return;
  auto st = log_->flush();
  if (st) st = store_->flush();
  last_flush_ms_ = now;
  dirty_ = false;
  for (auto& [reply, rp] : sync_waiters_) {
    if (st) {
      rp.deliver(reply);
    } else {
      rp.deliver(from_storage(st.error(), "delay flush"));
    }
  }
  sync_waiters_.clear();
  if (!st) actor_log().error("delay: flush failed: {}", st.error().message());
}

void delay_state::tick() {
  deadlines_.expire(request_deadlines::clock::now());
  auto now = now_ms();
  load_buckets(now);
  fire(now);
  record_progress();
  flush_if_due(false);
  collect_envelopes(now);
}

void delay_state::collect_envelopes(int64_t now) {
  if (now - last_gc_ms_ < settings_.gc_interval.count()) return;
  last_gc_ms_ = now;
  // Every envelope below the lowest id in the store was delivered (or
  // cancelled): a pending entry keeps its bucket, and so its id, in the store.
  auto lowest = store_->lowest_entry_id();
  auto floor = lowest ? storage::offset(static_cast<int64_t>(*lowest)) : log_->next_offset();
  if (floor <= log_->log_start_offset()) return;
  if (auto st = log_->advance_start(floor); !st) {
    actor_log().error("delay: cannot advance the schedule log start to {}: {}", floor(),
                      st.error().message());
    return;
  }
  auto removed = log_->apply_retention();
  if (!removed) {
    actor_log().error("delay: schedule log retention: {}", removed.error().message());
  } else if (*removed > 0) {
    actor_log().info("delay: deleted {} delivered schedule-log segments; log start {}", *removed,
                     floor());
  }
}

delay_stats delay_state::stats() const {
  auto s = stats_;
  s.in_wheel = wheel_->size();
  s.in_flight = in_flight_;
  s.store_buckets = store_->bucket_count();
  s.log_start = log_->log_start_offset()();
  s.log_bytes = log_->size_bytes();
  s.log_segments = log_->segment_count();
  return s;
}

void delay_state::close() {
  flush_if_due(true);
  (void)log_->close();
}

}  // namespace actormq
