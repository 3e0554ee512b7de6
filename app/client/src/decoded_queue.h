#pragma once
// decoded_queue: the messages a consumer or reader decoded from its fetches,
// waiting for poll(). They are held a fetch at a time: one chunk per decoded
// fetch of one partition, with the views into its bytes in a vector and one
// reference to the buffer they point into. A message costs a vector slot, not
// a node and a reference count of its own (which is what a deque of
// view-and-owner pairs cost: a node allocation every three messages and two
// atomic operations each).
//
// Plain C++; not thread-safe: the consumer's user thread owns it.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "actormq/client/message_batch.h"
#include "actormq/client/types.h"
#include "fetch_types.h"

namespace actormq::client::detail {

class decoded_queue {
 public:
  /// One partition's messages decoded from one fetch, in offset order.
  struct chunk {
    std::shared_ptr<const fetched_buffer> owner;  ///< the bytes the views point into
    uint32_t partition = 0;
    std::vector<message_view> views;
    size_t next = 0;  ///< views before it were taken

    std::string_view topic() const { return owner->topic; }
    size_t left() const { return views.size() - next; }
  };

  bool empty() const { return size_ == 0; }
  /// Messages waiting.
  size_t size() const { return size_; }

  /// Queues the views of one fetch of (owner's topic, partition); an empty
  /// vector queues nothing.
  void push(std::shared_ptr<const fetched_buffer> owner, uint32_t partition,
            std::vector<message_view> views);

  /// The offset of tp's first waiting message, if one waits.
  std::optional<int64_t> first_offset(const topic_partition& tp) const;

  /// Drops the messages of tp at or after offset from (all of them by default).
  void drop(const topic_partition& tp, int64_t from = std::numeric_limits<int64_t>::min());
  /// Drops the messages of every partition not in keep.
  void keep_only(const std::set<topic_partition>& keep);

  /// Moves up to max messages (at least one, if any wait) from the front into
  /// a batch that keeps their buffers alive. track(chunk, last) is called once
  /// for each chunk taken from, with the last message taken of it, before it
  /// moves.
  template <typename Track>
  message_batch take(size_t max, Track&& track);

 private:
  std::deque<chunk> chunks_;
  size_t size_ = 0;
};

template <typename Track>
message_batch decoded_queue::take(size_t max, Track&& track) {
  size_t n = std::min(size_, std::max<size_t>(max, 1));
  std::vector<message_view> views;
  std::vector<message_batch::owner> owners;
  if (n > 0 && chunks_.front().next == 0 && chunks_.front().views.size() == n) {
    // The whole of the first chunk: its vector becomes the batch's.
    auto& c = chunks_.front();
    track(std::as_const(c), std::as_const(c.views.back()));
    owners.push_back(c.owner);  // before the views move: it may throw
    views = std::move(c.views);
    chunks_.pop_front();
    size_ -= n;
    return message_batch(std::move(views), std::move(owners));
  }
  views.reserve(n);
  while (views.size() < n) {
    auto& c = chunks_.front();
    size_t k = std::min(c.left(), n - views.size());
    track(std::as_const(c), std::as_const(c.views[c.next + k - 1]));
    for (size_t i = 0; i < k; ++i) views.push_back(std::move(c.views[c.next + i]));
    c.next += k;
    size_ -= k;
    owners.push_back(c.owner);
    if (c.left() == 0) chunks_.pop_front();
  }
  return message_batch(std::move(views), std::move(owners));
}

}  // namespace actormq::client::detail
