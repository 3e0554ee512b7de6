#pragma once
// decoded_queue: the messages a consumer or reader decoded from its fetches,
// waiting for poll(). They are held a fetch at a time: one chunk per decoded
// fetch of one partition, with the views into its bytes in a vector that
// shares ownership of the buffer they point into. A message costs a vector
// slot, not a node and a reference count of its own (which is what a deque
// of view-and-owner pairs cost: a node allocation every three messages and
// two atomic operations each). A poll that stays within one fetch moves no
// message: its batch points into the fetch's vector and shares it.
//
// Plain C++; not thread-safe: the consumer's user thread owns it.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
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
  /// One partition's messages decoded from one fetch, in offset order, and
  /// the bytes they point into. Batches taken from it share it. Once views
  /// are queued the vector never grows (no reallocation moves a view a batch
  /// points at); drop() only shortens it past what was taken.
  struct decoded_fetch {
    std::shared_ptr<const fetched_buffer> buffer;
    std::vector<message_view> views;
  };

  /// A decoded fetch in the queue, and how much of it was taken.
  struct chunk {
    std::shared_ptr<decoded_fetch> fetch;
    uint32_t partition = 0;
    size_t next = 0;  ///< views before it were taken

    std::string_view topic() const { return fetch->buffer->topic; }
    const std::vector<message_view>& views() const { return fetch->views; }
    std::vector<message_view>& views() { return fetch->views; }
    size_t left() const { return views().size() - next; }
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

  /// Takes up to max messages (at least one, if any wait) from the front
  /// into a batch that keeps them and their buffers alive. Within one fetch
  /// the batch points into it; across fetches the views move into a vector
  /// of the batch's own (no batch points at a view not yet taken).
  /// track(chunk, last) is called once for each chunk taken from, with the
  /// last message taken of it, before it moves.
  template <typename Track>
  message_batch take(size_t max, Track&& track);

 private:
  std::deque<chunk> chunks_;
  size_t size_ = 0;
};

template <typename Track>
message_batch decoded_queue::take(size_t max, Track&& track) {
  size_t n = std::min(size_, std::max<size_t>(max, 1));
  if (n == 0) return {};
  if (auto& c = chunks_.front(); c.left() >= n) {
    const message_view* first = c.views().data() + c.next;
    std::vector<message_batch::owner> owners{c.fetch};  // may throw: before anything changes
    track(std::as_const(c), std::as_const(first[n - 1]));
    c.next += n;
    size_ -= n;
    if (c.left() == 0) chunks_.pop_front();
    return message_batch(first, first + n, std::move(owners));
  }
  // Everything that may throw first: then nothing changes if it does.
  auto own = std::make_shared<std::vector<message_view>>();
  own->reserve(n);
  size_t spanned = 0;
  for (size_t seen = 0; seen < n; ++spanned) seen += chunks_[spanned].left();
  std::vector<message_batch::owner> owners;
  owners.reserve(spanned + 1);
  owners.push_back(own);
  while (own->size() < n) {
    auto& c = chunks_.front();
    size_t k = std::min(c.left(), n - own->size());
    track(std::as_const(c), std::as_const(c.views()[c.next + k - 1]));
    owners.push_back(c.fetch->buffer);
    auto from = c.views().begin() + static_cast<std::ptrdiff_t>(c.next);
    own->insert(own->end(), std::make_move_iterator(from),
                std::make_move_iterator(from + static_cast<std::ptrdiff_t>(k)));
    c.next += k;
    size_ -= k;
    if (c.left() == 0) chunks_.pop_front();
  }
  return message_batch(own->data(), own->data() + n, std::move(owners));
}

}  // namespace actormq::client::detail
