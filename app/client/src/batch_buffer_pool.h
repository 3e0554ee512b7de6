#pragma once
// batch_buffer_pool: the byte buffers of the producer's settled batches,
// kept for its next batches (as Kafka's producer keeps its BufferPool).
//
// Without it every batch is built in a new buffer: at batch_bytes 1 MiB a
// fresh allocation that grows by doubling (copying the batch so far at
// each step) and page-faults on every page it touches the first time (the
// faults alone were 6 % of W2's client samples: docs/benchmarks.md, "W2:
// the client's copies and Nagle's rule").
//
// A batch's buffer comes back when the last reference to it goes: the
// batch settled, its request's write done, its write pin released
// (write_pins.h), on whichever thread that is. So the pool has a mutex of
// its own, taken last (never while waiting for another). It keeps at most
// max_bytes of capacity and no buffer larger than max_capacity; the rest
// is freed as before. An idle producer keeps less: the accumulator lowers
// the limit when nothing is buffered (and frees the excess) and raises it
// again when it opens a batch.

#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

namespace actormq::client::detail {

class batch_buffer_pool : public std::enable_shared_from_this<batch_buffer_pool> {
 public:
  batch_buffer_pool(size_t max_bytes, size_t max_capacity)
      : max_bytes_(max_bytes), max_capacity_(max_capacity) {}

  /// A buffer to build a batch in: a pooled one (its capacity kept), else
  /// an empty one.
  std::string take() {
    std::lock_guard lk(mu_);
    if (free_.empty()) return {};
    std::string s = std::move(free_.back());
    free_.pop_back();
    pooled_bytes_ -= s.capacity();
    return s;
  }

  /// Shares a built batch; its buffer returns to the pool when the last
  /// reference is dropped (freed instead once the pool is gone or full).
  std::shared_ptr<std::string> share(std::string bytes) {
    return std::shared_ptr<std::string>(new std::string(std::move(bytes)),
                                        [weak = weak_from_this()](std::string* s) {
                                          if (auto pool = weak.lock())
                                            pool->give_back(std::move(*s));
                                          delete s;
                                        });
  }

  /// Keeps at most max_bytes of capacity from now on, freeing the excess.
  void limit(size_t max_bytes) {
    std::vector<std::string> freed;  // freed after the lock is released
    std::lock_guard lk(mu_);
    max_bytes_ = max_bytes;
    while (!free_.empty() && pooled_bytes_ > max_bytes_) {
      pooled_bytes_ -= free_.back().capacity();
      freed.push_back(std::move(free_.back()));
      free_.pop_back();
    }
  }

  /// Buffers and bytes of capacity pooled now.
  size_t buffers() const {
    std::lock_guard lk(mu_);
    return free_.size();
  }
  size_t bytes() const {
    std::lock_guard lk(mu_);
    return pooled_bytes_;
  }

 private:
  void give_back(std::string s) {
    const size_t cap = s.capacity();
    if (cap > max_capacity_) return;
    std::lock_guard lk(mu_);
    if (pooled_bytes_ + cap > max_bytes_) return;
    try {
      free_.push_back(std::move(s));
    } catch (const std::bad_alloc&) {
      return;  // called from a deleter: the buffer is freed instead
    }
    pooled_bytes_ += cap;
  }

  size_t max_bytes_;  // guarded by mu_
  const size_t max_capacity_;
  mutable std::mutex mu_;
  std::vector<std::string> free_;
  size_t pooled_bytes_ = 0;
};

}  // namespace actormq::client::detail
