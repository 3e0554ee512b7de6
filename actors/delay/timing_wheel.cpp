#include "actors/delay/timing_wheel.h"

#include <algorithm>
#include <bit>
#include <cassert>

#include "storage/errc.h"

namespace actormq::delay {

storage::result<timing_wheel> timing_wheel::make(timing_wheel_config cfg, timestamp_ms start) {
  using storage::errc;
  if (cfg.tick.count() < 1) return errc::invalid_argument;
  if (cfg.slots < 2 || cfg.slots > 4096 || !std::has_single_bit(cfg.slots)) {
    return errc::invalid_argument;
  }
  auto bits = static_cast<uint32_t>(std::countr_zero(cfg.slots));
  if (cfg.levels < 1 || uint64_t{bits} * cfg.levels > 48) return errc::invalid_argument;
  if (start() < 0) return errc::invalid_argument;
  return timing_wheel(cfg, start() / cfg.tick.count());
}

timing_wheel::timing_wheel(timing_wheel_config cfg, int64_t start_tick)
    : cfg_(cfg),
      tick_ms_(cfg.tick.count()),
      bits_(static_cast<uint32_t>(std::countr_zero(cfg.slots))),
      clock_(start_tick),
      buckets_(size_t{cfg.levels} * cfg.slots) {}

int64_t timing_wheel::due_tick(timestamp_ms due) const {
  // Round up: an entry must never fire before its due time. C++ division
  // truncates toward zero, which already rounds negative values up.
  int64_t q = due() / tick_ms_;
  if (due() % tick_ms_ > 0) ++q;
  return q;
}

timestamp_ms timing_wheel::window_end() const {
  const uint32_t top_shift = bits_ * (cfg_.levels - 1);
  const int64_t end_tick = ((clock_ >> top_shift) + cfg_.slots) << top_shift;
  // ceil(due / T) < end_tick  <=>  due <= (end_tick - 1) * T.
  return timestamp_ms((end_tick - 1) * tick_ms_ + 1);
}

std::chrono::milliseconds timing_wheel::min_window() const {
  const int64_t top_width = int64_t{1} << (bits_ * (cfg_.levels - 1));
  return std::chrono::milliseconds((cfg_.slots - 1) * top_width * tick_ms_);
}

std::optional<timestamp_ms> timing_wheel::next_due() const {
  if (!ready_.empty()) return now();
  if (nonempty_.empty()) return std::nullopt;
  return timestamp_ms(nonempty_.begin()->expiry * tick_ms_);
}

uint32_t timing_wheel::alloc(const timer_entry& e) {
  uint32_t n;
  if (!free_.empty()) {
    n = free_.back();
    free_.pop_back();
  } else {
    n = static_cast<uint32_t>(nodes_.size());
    nodes_.emplace_back();
  }
  node& x = nodes_[n];
  x.entry = e;
  x.seq = next_seq_++;
  x.prev = x.next = npos;
  x.live = true;
  return n;
}

void timing_wheel::release(uint32_t n) {
  nodes_[n].live = false;
  free_.push_back(n);
}

void timing_wheel::link(uint32_t n, uint16_t level, uint16_t slot, int64_t expiry) {
  bucket& b = bucket_at(level, slot);
  node& x = nodes_[n];
  x.level = level;
  x.slot = slot;
  x.next = npos;
  if (b.head == npos) {
    b.expiry = expiry;
    b.head = b.tail = n;
    x.prev = npos;
    nonempty_.insert(bucket_ref{expiry, level, slot});
    return;
  }
  // Placement keeps each level's live buckets within S consecutive indices,
  // so a slot never holds two different intervals at once.
  assert(b.expiry == expiry);
  x.prev = b.tail;
  nodes_[b.tail].next = n;
  b.tail = n;
}

void timing_wheel::unlink(uint32_t n) {
  node& x = nodes_[n];
  bucket& b = bucket_at(x.level, x.slot);
  if (x.prev != npos) {
    nodes_[x.prev].next = x.next;
  } else {
    b.head = x.next;
  }
  if (x.next != npos) {
    nodes_[x.next].prev = x.prev;
  } else {
    b.tail = x.prev;
  }
  x.prev = x.next = npos;
  if (b.head == npos) nonempty_.erase(bucket_ref{b.expiry, x.level, x.slot});
}

bool timing_wheel::place(uint32_t n) {
  const int64_t d = due_tick(nodes_[n].entry.due);
  if (d <= clock_) return false;
  for (uint32_t k = 0; k < cfg_.levels; ++k) {
    const uint32_t shift = bits_ * k;
    const int64_t index = d >> shift;
    if (index < (clock_ >> shift) + cfg_.slots) {
      link(n, static_cast<uint16_t>(k), static_cast<uint16_t>(index & (cfg_.slots - 1)),
           index << shift);
      return true;
    }
  }
  // add() checks the window, and cascades only move entries down.
  assert(false && "timing_wheel: entry beyond the window");
  return false;
}

void timing_wheel::enqueue_ready(std::vector<uint32_t>& batch) {
  auto before = [this](uint32_t a, uint32_t b) {
    const node& x = nodes_[a];
    const node& y = nodes_[b];
    if (x.entry.due != y.entry.due) return x.entry.due < y.entry.due;
    return x.seq < y.seq;
  };
  if (!std::is_sorted(batch.begin(), batch.end(), before)) {
    std::sort(batch.begin(), batch.end(), before);
  }
  for (uint32_t n : batch) {
    nodes_[n].level = ready_level;
    ready_.push_back(n);
  }
}

timing_wheel::add_result timing_wheel::add(const timer_entry& e) {
  const timer_key k = key_of(e);
  if (index_.count(k) != 0) return add_result::duplicate;
  if (e.due >= window_end()) return add_result::overflow;
  const uint32_t n = alloc(e);
  index_.emplace(k, n);
  if (!place(n)) {
    nodes_[n].level = ready_level;
    ready_.push_back(n);
  }
  return add_result::added;
}

bool timing_wheel::cancel(timer_key k) {
  auto it = index_.find(k);
  if (it == index_.end()) return false;
  const uint32_t n = it->second;
  index_.erase(it);
  if (nodes_[n].level == ready_level) {
    // Still referenced by ready_: advance() frees it when it gets there.
    nodes_[n].live = false;
    return true;
  }
  unlink(n);
  release(n);
  return true;
}

std::vector<timer_entry> timing_wheel::advance(timestamp_ms now, size_t max_entries) {
  const int64_t target = now() < 0 ? clock_ : now() / tick_ms_;
  if (target > clock_) {
    std::vector<uint32_t> batch;
    while (!nonempty_.empty() && nonempty_.begin()->expiry <= target) {
      const int64_t expiry = nonempty_.begin()->expiry;
      clock_ = expiry;
      batch.clear();
      // Every bucket expiring at this tick, higher levels first: their
      // entries either move down (to buckets expiring later) or are due now
      // and join the batch of this tick.
      while (!nonempty_.empty() && nonempty_.begin()->expiry == expiry) {
        const bucket_ref r = *nonempty_.begin();
        nonempty_.erase(nonempty_.begin());
        bucket& b = bucket_at(r.level, r.slot);
        uint32_t n = b.head;
        b.head = b.tail = npos;
        while (n != npos) {
          const uint32_t next = nodes_[n].next;
          nodes_[n].prev = nodes_[n].next = npos;
          if (!place(n)) batch.push_back(n);
          n = next;
        }
      }
      enqueue_ready(batch);
    }
    clock_ = target;
  }

  std::vector<timer_entry> out;
  while (out.size() < max_entries && !ready_.empty()) {
    const uint32_t n = ready_.front();
    ready_.pop_front();
    if (nodes_[n].live) {
      out.push_back(nodes_[n].entry);
      index_.erase(key_of(nodes_[n].entry));
    }
    release(n);
  }
  return out;
}

}  // namespace actormq::delay
