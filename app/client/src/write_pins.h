#pragma once
// write_pins: buffers that a session's queued writes may still read, kept
// until those writes are known to be finished. Plain C++, loop thread only.
//
// Why: a produce request refers to the batch bytes instead of copying them
// (Orphanage::referenceExternalData), and the batch was kept alive only by
// the request's reply promise. A request that ends without its reply (the
// request timeout cancels the promise) may still have its write queued
// behind others or half done: TwoPartyVatNetwork writes a session's
// messages one after another, and a frozen broker stops the writes without
// closing the connection. Freed then, the batch would be read by the write
// when the broker thaws (a use after free that sends freed memory).
//
// When a write is known finished: the session writes its messages in the
// order they are sent, and the broker answers a request only after reading
// all of it, so an answer to a request proves every request sent before it
// on the same session fully written. When the session is destroyed its
// queued writes go with it, and so do its pins (the session owns this
// object and destroys it after its stream and network).
//
// Memory: a request that timed out with its buffer kept closes its session
// (connection_impl::call_at): a broker that answers nothing for a request
// timeout would otherwise have every batch sent after it queued and pinned
// behind it, without bound. So a session pins at most what was sent to it
// within one request timeout.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>

namespace actormq::client::detail {

class write_pins {
 public:
  /// Something a request's message refers to (a batch buffer).
  using pin = std::shared_ptr<const void>;

  /// Numbers a request sent now on the session: 1, 2, ... in send order.
  uint64_t sent() { return ++sent_; }

  /// Request seq was answered: every request sent before it (and it) is
  /// written, so their pins go.
  void answered(uint64_t seq) {
    if (seq <= answered_) return;
    answered_ = seq;
    auto end = pins_.upper_bound(seq);
    for (auto it = pins_.begin(); it != end; ++it) bytes_ -= it->second.bytes;
    pins_.erase(pins_.begin(), end);
  }

  /// Request seq ended unanswered: keeps p until a later request is
  /// answered or the session goes. Dropped at once when one already was
  /// (returns whether p is kept).
  bool keep(uint64_t seq, pin p, size_t bytes) {
    if (seq == 0 || seq <= answered_ || p == nullptr) return false;
    pins_.emplace(seq, kept{std::move(p), bytes});
    bytes_ += bytes;
    return true;
  }

  /// Pins held now, and the bytes they hold.
  size_t size() const { return pins_.size(); }
  size_t bytes() const { return bytes_; }

 private:
  struct kept {
    pin p;
    size_t bytes = 0;
  };
  uint64_t sent_ = 0;
  uint64_t answered_ = 0;  ///< the highest request number answered
  std::multimap<uint64_t, kept> pins_;
  size_t bytes_ = 0;
};

}  // namespace actormq::client::detail
