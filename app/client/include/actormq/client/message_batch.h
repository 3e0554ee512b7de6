#pragma once
// message_batch: what consumer::poll_batch() returns. It owns the fetched
// bytes (shared, reference-counted buffers, one per fetched partition) and
// exposes the records in them as message_views, so reading a batch costs no
// allocation or copy per message. A view is valid while its batch lives;
// message_view::to_message() makes an owning copy.

#include <cstddef>
#include <memory>
#include <vector>

#include "actormq/client/types.h"

namespace actormq::client {

class message_batch {
 public:
  /// Something a batch keeps alive for its views (opaque to users).
  using owner = std::shared_ptr<const void>;

  message_batch() = default;
  message_batch(std::vector<message_view> views, std::vector<owner> owners)
      : views_(std::move(views)), owners_(std::move(owners)) {}

  size_t size() const { return views_.size(); }
  bool empty() const { return views_.empty(); }
  const message_view& operator[](size_t i) const { return views_[i]; }
  std::vector<message_view>::const_iterator begin() const { return views_.begin(); }
  std::vector<message_view>::const_iterator end() const { return views_.end(); }

  /// Owning copies of every message.
  std::vector<message> to_messages() const;

 private:
  std::vector<message_view> views_;
  std::vector<owner> owners_;
};

}  // namespace actormq::client
