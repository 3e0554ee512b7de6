#pragma once
// message_batch: what consumer::poll_batch() returns. It shares the fetched
// bytes and their decoded views (reference-counted, one per partition fetch)
// and exposes the records in them as message_views, so reading a batch costs no
// allocation or copy per message. A view is valid while its batch lives;
// message_view::to_message() makes an owning copy.

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "actormq/client/types.h"

namespace actormq::client {

/// The views are contiguous and read-only; a batch is cheap to copy (it
/// shares what it keeps alive). Taking a batch out of one fetch's messages
/// moves none of them: the batch points into the consumer's decoded fetch and
/// keeps all of it alive (its bytes and its views, up to the partition's
/// fetch size and a view a record) for as long as the batch lives; keep
/// to_message() copies of what must outlive it.
class message_batch {
 public:
  /// Something a batch keeps alive for its views (opaque to users).
  using owner = std::shared_ptr<const void>;
  using const_iterator = const message_view*;

  message_batch() = default;
  /// The views [first, last), which live as long as owners do.
  message_batch(const message_view* first, const message_view* last, std::vector<owner> owners)
      : first_(first), last_(last), owners_(std::move(owners)) {}
  message_batch(const message_batch&) = default;
  message_batch& operator=(const message_batch&) = default;
  /// A batch moved from is empty (it no longer keeps its views alive).
  message_batch(message_batch&& o) noexcept
      : first_(std::exchange(o.first_, nullptr)),
        last_(std::exchange(o.last_, nullptr)),
        owners_(std::move(o.owners_)) {}
  message_batch& operator=(message_batch&& o) noexcept {
    first_ = std::exchange(o.first_, nullptr);
    last_ = std::exchange(o.last_, nullptr);
    owners_ = std::move(o.owners_);
    return *this;
  }

  size_t size() const { return static_cast<size_t>(last_ - first_); }
  bool empty() const { return first_ == last_; }
  const message_view& operator[](size_t i) const { return first_[i]; }
  const_iterator begin() const { return first_; }
  const_iterator end() const { return last_; }

  /// Owning copies of every message.
  std::vector<message> to_messages() const;

 private:
  const message_view* first_ = nullptr;
  const message_view* last_ = nullptr;
  std::vector<owner> owners_;
};

}  // namespace actormq::client
