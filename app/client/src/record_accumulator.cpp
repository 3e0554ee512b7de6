#include "record_accumulator.h"

#include <algorithm>

#include "actormq/client/partitioner.h"
#include "actormq/client/producer.h"
#include "storage/record_batch.h"

namespace actormq::client::detail {

namespace L = storage::batch_layout;

void record_accumulator::set_partition_count(const std::string& topic, uint32_t n,
                                             clock::time_point now) {
  auto& m = meta_[topic];
  if (n == 0) return;
  m.counted_at = now;
  if (m.partitions == n) return;
  m.partitions = n;
  m.sticky %= m.partitions;
}

record_accumulator::topic_meta* record_accumulator::find_meta(std::string_view topic) {
  if (last_meta_ == nullptr || last_meta_->first != topic) {
    auto it = meta_.find(topic);
    if (it == meta_.end()) return nullptr;
    last_meta_ = &*it;
  }
  return &last_meta_->second;
}

std::optional<uint32_t> record_accumulator::recent_partition_count(std::string_view topic,
                                                                   clock::time_point now,
                                                                   clock::duration max_age) {
  const topic_meta* m = find_meta(topic);
  if (m == nullptr || m->partitions == 0) return std::nullopt;
  if (now - m->counted_at >= max_age) return std::nullopt;
  return m->partitions;
}

record_accumulator::record_accumulator(const producer_config& cfg, size_t batch_limit)
    : cfg_(cfg),
      batch_limit_(batch_limit),
      // A buffer grows by doubling: one may reach twice the batch limit,
      // not beyond.
      pool_(std::make_shared<batch_buffer_pool>(busy_pool_bytes(), 2 * batch_limit)) {}

size_t record_accumulator::busy_pool_bytes() const {
  return cfg_.buffer_memory / 2;
}

size_t record_accumulator::idle_pool_bytes() const {
  return 2 * batch_limit_;
}

uint32_t record_accumulator::choose_partition(const producer_record_view& rec) {
  topic_meta* found = find_meta(rec.topic);
  auto& m = found != nullptr ? *found : meta_[std::string(rec.topic)];
  if (rec.partition) return *rec.partition;
  if (m.partitions == 0) return 0;
  if (rec.key) return partition_for_key(*rec.key, m.partitions);
  if (cfg_.partitioner == partitioner_kind::murmur2_round_robin) {
    return m.round_robin++ % m.partitions;
  }
  return m.sticky % m.partitions;
}

bool record_accumulator::append(const topic_partition& tp, const producer_record_view& rec,
                                int64_t timestamp_ms, size_t est, delivery_callback cb) {
  auto& ps = parts_[tp];
  // A level takes precedence over a deliver-at time; deliver-at records of
  // a partition share one batch whatever their times (deliverAtList).
  delay_key dk;
  if (rec.delay_level.value_or(0) > 0) {
    dk.level = *rec.delay_level;
  } else if (rec.deliver_at_ms.value_or(0) > 0) {
    dk.own_times = true;
  }
  auto& slot = dk.delayed() ? ps.open_delayed : ps.open;
  // full: sealed because the batch reached the limit, not sent early
  // (drain(): only full batches use more than one slot in flight).
  auto seal_slot = [&](bool full) {
    if (dk.delayed()) {
      seal_delayed(tp, ps);
    } else {
      seal(tp, ps, full);
    }
  };
  bool wake = false;
  if (slot && (slot->builder.size_bytes() + est > batch_limit_ || slot->delay != dk)) {
    seal_slot(slot->builder.size_bytes() + est > batch_limit_);
    wake = true;
  }
  if (!slot) {
    open(slot, dk);
    wake = true;
  }
  auto id = record_message_id(rec, ids_);
  // Views of the headers, without the message id's (written first, once);
  // no allocation for a record without headers.
  std::vector<storage::record_header_view> hs;
  if (!rec.headers.empty()) {
    hs.reserve(rec.headers.size());
    for (const auto& h : rec.headers) {
      if (h.key != message_id::header_key) hs.push_back({h.key, h.value});
    }
  }
  slot->builder.add(rec.key, rec.value, storage::timestamp_ms(timestamp_ms),
                    storage::record_header_view{message_id::header_key, id.bytes()},
                    std::span<const storage::record_header_view>(hs));
  slot->callbacks.push_back(std::move(cb));
  slot->ids.push_back(id);
  if (dk.own_times) slot->dues.push_back(*rec.deliver_at_ms);
  slot->record_bytes += est;
  buffered_bytes_ += est;
  if (slot->builder.size_bytes() >= batch_limit_) {
    seal_slot(true);
    wake = true;
  }
  return wake;
}

void record_accumulator::open(std::optional<open_batch>& slot, const delay_key& dk) {
  slot.emplace();
  pool_->limit(busy_pool_bytes());
  slot->builder.reset(pool_->take());
  slot->created = clock::now();
  slot->delay = dk;
}

record_accumulator::batch_ptr record_accumulator::make_batch(const topic_partition& tp,
                                                             open_batch& ob) const {
  auto b = std::make_shared<producer_batch>();
  b->tp = tp;
  b->record_count = ob.builder.record_count();
  // The CRC is written once, after stamp() (an idempotent batch's
  // producer id and sequence are under it), by the sender without the
  // lock that every send() takes (write_crc()).
  b->bytes = pool_->share(ob.builder.build_without_crc());
  b->crc_pending = true;
  b->callbacks = std::move(ob.callbacks);
  b->ids = std::move(ob.ids);
  b->record_bytes = ob.record_bytes;
  b->deadline = ob.created + std::chrono::milliseconds(cfg_.delivery_timeout_ms);
  b->delay = ob.delay;
  b->dues = std::move(ob.dues);
  return b;
}

void record_accumulator::seal_delayed(const topic_partition& tp, partition_state& ps) {
  ps.delayed.push_back(make_batch(tp, *ps.open_delayed));
  ps.open_delayed.reset();
}

void record_accumulator::seal(const topic_partition& tp, partition_state& ps, bool full) {
  ps.batches.push_back(make_batch(tp, *ps.open));
  ps.batches.back()->full = full;
  ps.open.reset();
  auto it = meta_.find(tp.topic);
  if (it != meta_.end() && it->second.sticky == tp.partition && it->second.partitions > 0) {
    it->second.sticky = (it->second.sticky + 1) % it->second.partitions;
  }
}

void record_accumulator::stamp(producer_batch& b, int64_t producer_id, int16_t epoch,
                               int32_t sequence) {
  // A batch sent before (restamped under a new producer id) may still be
  // read by that earlier request's write: the new stamp goes into a copy.
  if (b.attempts > 0) b.bytes = std::make_shared<std::string>(*b.bytes);
  auto* p = reinterpret_cast<uint8_t*>(b.bytes->data());
  storage::store_le<int64_t>(p + L::producer_id, producer_id);
  storage::store_le<int16_t>(p + L::producer_epoch, epoch);
  storage::store_le<int32_t>(p + L::base_sequence, sequence);
  b.crc_pending = true;
  b.stamped = true;
}

void record_accumulator::write_crc(producer_batch& b) {
  if (!b.crc_pending) return;
  storage::store_crc({reinterpret_cast<uint8_t*>(b.bytes->data()), b.bytes->size()});
  b.crc_pending = false;
}

record_accumulator::drained record_accumulator::drain(const drain_context& ctx) {
  drained out;
  const auto now = ctx.now;
  out.next_wake = now + std::chrono::milliseconds(200);
  const auto max_in_flight = cfg_.max_in_flight_per_partition;
  // Without the broker's sequence check nothing puts a retried batch back
  // in its place: a producer that is not idempotent sends its ordered
  // batches one at a time (delayed ones are not ordered).
  const uint32_t ordered_in_flight = cfg_.idempotent ? max_in_flight : 1;
  for (auto& [tp, ps] : parts_) {
    if (ps.open) {
      // While a batch of the partition is in flight (or sealed batches
      // wait), keep filling the open batch instead of sealing a small one:
      // one round trip then carries what arrived meanwhile. Nagle's rule
      // for batches: only full batches are pipelined (max_in_flight), a
      // batch sent before it is full waits until nothing is in flight. A
      // reply wakes the sender. A flush seals it as soon as it may go, not
      // before: sealed early, records sent meanwhile would make more
      // small batches, one round trip each.
      bool blocked =
          ps.in_flight > 0 || std::any_of(ps.batches.begin(), ps.batches.end(), [](const auto& b) {
            return b->st == producer_batch::state::queued;
          });
      auto due = ps.open->created + std::chrono::milliseconds(cfg_.linger_ms);
      if (!blocked && (ctx.flush || now >= due)) {
        seal(tp, ps);
      } else if (!blocked) {
        out.next_wake = std::min(out.next_wake, due);
      }
    }
    for (auto& b : ps.batches) {
      if (b->st == producer_batch::state::in_flight) continue;
      // A full batch goes while fewer than the limit are in flight, one
      // not full only when none is.
      if (ps.in_flight >= (b->full ? ordered_in_flight : 1)) break;
      // Waiting for a new producer id: only a batch that may be stored is
      // resent, under its old stamp, to learn its fate (class comment).
      if (ctx.hold && !may_be_stored(*b)) continue;
      if (b->retry_at > now) {
        out.next_wake = std::min(out.next_wake, b->retry_at);
        break;  // later batches wait behind it: order
      }
      if (!ctx.route(*b)) {
        b->retry_at = now + ctx.backoff(std::max<uint32_t>(b->attempts, 1));
        out.next_wake = std::min(out.next_wake, b->retry_at);
        out.want_metadata = true;
        break;
      }
      if (cfg_.idempotent && !b->stamped) {
        stamp(*b, ctx.producer_id, ctx.epoch, ps.next_sequence);
        ps.next_sequence += b->record_count;
      }
      b->st = producer_batch::state::in_flight;
      ++b->attempts;
      ++ps.in_flight;
      ++in_flight_total_;
      out.ready.push_back(b);
    }
    if (ps.open_delayed) {
      auto due = ps.open_delayed->created + std::chrono::milliseconds(cfg_.linger_ms);
      if (ctx.flush || now >= due) {
        seal_delayed(tp, ps);
      } else {
        out.next_wake = std::min(out.next_wake, due);
      }
    }
    // Delayed batches carry no sequence and need no order among
    // themselves: one waiting for a retry does not hold back the rest.
    for (auto& b : ps.delayed) {
      if (ps.delayed_in_flight >= max_in_flight || ctx.hold) break;
      if (b->st == producer_batch::state::in_flight) continue;
      if (b->retry_at > now) {
        out.next_wake = std::min(out.next_wake, b->retry_at);
        continue;
      }
      if (!ctx.route(*b)) {
        b->retry_at = now + ctx.backoff(std::max<uint32_t>(b->attempts, 1));
        out.next_wake = std::min(out.next_wake, b->retry_at);
        out.want_metadata = true;
        continue;
      }
      b->st = producer_batch::state::in_flight;
      ++b->attempts;
      ++ps.delayed_in_flight;
      ++in_flight_total_;
      out.ready.push_back(b);
    }
  }
  return out;
}

void record_accumulator::returned(producer_batch& b) {
  auto& ps = parts_[b.tp];
  --(b.delay.delayed() ? ps.delayed_in_flight : ps.in_flight);
  --in_flight_total_;
  b.st = producer_batch::state::queued;
}

bool record_accumulator::earlier_unsettled(const producer_batch& b) const {
  if (b.delay.delayed()) return false;
  auto it = parts_.find(b.tp);
  if (it == parts_.end()) return false;
  for (const auto& e : it->second.batches) {
    if (e.get() == &b) return false;
    if (!e->absent) return true;
  }
  return false;
}

void record_accumulator::settle(producer_batch& b, const error& err, int64_t base_offset,
                                std::vector<completion>& out, int64_t scheduled_at,
                                uint32_t throttled_ms) {
  auto& ps = parts_[b.tp];
  auto& queue = b.delay.delayed() ? ps.delayed : ps.batches;
  auto it = std::find_if(queue.begin(), queue.end(), [&b](const auto& p) { return p.get() == &b; });
  if (it != queue.end()) queue.erase(it);
  buffered_bytes_ -= std::min(buffered_bytes_, b.record_bytes);
  if (buffered_bytes_ == 0) pool_->limit(idle_pool_bytes());  // idle: keep little
  completion c;
  c.tp = b.tp;
  c.callbacks = std::move(b.callbacks);
  c.ids = std::move(b.ids);
  // A request's builder reads the dues only while the batch is in flight,
  // and a settled batch is not (a reply, or queued when it expires).
  c.dues = std::move(b.dues);
  c.err = err;
  c.base_offset = err ? -1 : base_offset;
  c.scheduled_at = err ? -1 : scheduled_at;
  c.throttled_ms = throttled_ms;
  b.callbacks.clear();
  b.ids.clear();
  out.push_back(std::move(c));
}

delivery_report completion::report(size_t i) const {
  delivery_report rep = batch_report();
  set_record(i, rep);
  return rep;
}

delivery_report completion::batch_report() const {
  delivery_report rep;
  rep.topic = tp.topic;
  rep.partition = tp.partition;
  rep.scheduled = scheduled_at >= 0;
  rep.throttled_ms = throttled_ms;
  rep.err = err;
  return rep;
}

void completion::set_record(size_t i, delivery_report& rep) const {
  rep.offset = base_offset >= 0 ? base_offset + static_cast<int64_t>(i) : -1;
  rep.id = i < ids.size() ? ids[i] : message_id();
  // With own times the reply's is the earliest (or the broker's now, for
  // a time already past): each record is due at its own, not before it.
  rep.deliver_at_ms = !rep.scheduled    ? -1
                      : i < dues.size() ? std::max(dues[i], scheduled_at)
                                        : scheduled_at;
}

bool record_accumulator::has_unsent(const topic_partition& tp) const {
  auto it = parts_.find(tp);
  if (it == parts_.end()) return false;
  const partition_state& ps = it->second;
  return ps.open || ps.open_delayed || ps.batches.size() > ps.in_flight ||
         ps.delayed.size() > ps.delayed_in_flight;
}

std::vector<completion> record_accumulator::expire(clock::time_point now, bool& sequence_gap) {
  std::vector<completion> done;
  const auto timeout = std::chrono::milliseconds(cfg_.delivery_timeout_ms);
  for (auto& [tp, ps] : parts_) {
    // An open batch ages too: while nothing can be sent (no producer id,
    // every slot taken by a request to a frozen broker) drain() does not
    // seal it, and its records must still fail in time.
    if (ps.open && ps.open->created + timeout <= now) seal(tp, ps);
    if (ps.open_delayed && ps.open_delayed->created + timeout <= now) seal_delayed(tp, ps);
    auto copy = ps.batches;
    copy.insert(copy.end(), ps.delayed.begin(), ps.delayed.end());
    for (auto& b : copy) {
      if (b->st != producer_batch::state::queued || b->deadline > now) continue;
      if (cfg_.idempotent && b->stamped) sequence_gap = true;
      settle(*b, error(errc::delivery_timeout, "not acknowledged within delivery_timeout_ms"), -1,
             done);
    }
  }
  return done;
}

std::vector<completion> record_accumulator::fail_unsent(const error& err) {
  std::vector<completion> done;
  for (auto& [tp, ps] : parts_) {
    if (ps.open) seal(tp, ps);
    if (ps.open_delayed) seal_delayed(tp, ps);
    auto copy = ps.batches;
    copy.insert(copy.end(), ps.delayed.begin(), ps.delayed.end());
    for (auto& b : copy) {
      if (b->st == producer_batch::state::queued) settle(*b, err, -1, done);
    }
  }
  return done;
}

void record_accumulator::restart_sequences() {
  for (auto& [tp, ps] : parts_) {
    ps.next_sequence = 0;
    for (auto& b : ps.batches) {
      b->stamped = false;
      b->absent = false;
    }
  }
}

bool record_accumulator::awaiting_outcome() const {
  for (const auto& [tp, ps] : parts_) {
    for (const auto& b : ps.batches) {
      if (may_be_stored(*b)) return true;
    }
  }
  return false;
}

}  // namespace actormq::client::detail
