#pragma once
// The last `capacity` message ids, oldest dropped first: the memory of
// memory_processed_store and file_processed_store. Plain C++.

#include <cstddef>
#include <deque>
#include <unordered_set>

#include "actormq/client/message_id.h"

namespace actormq::client::detail {

class id_window {
 public:
  explicit id_window(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  bool contains(const message_id& id) const { return ids_.count(id) > 0; }
  /// Adds id (no-op when present); drops the oldest beyond capacity.
  void add(const message_id& id) {
    if (!ids_.insert(id).second) return;
    order_.push_back(id);
    while (order_.size() > capacity_) {
      ids_.erase(order_.front());
      order_.pop_front();
    }
  }
  size_t size() const { return order_.size(); }
  size_t capacity() const { return capacity_; }
  /// Oldest first.
  const std::deque<message_id>& ids() const { return order_; }

 private:
  size_t capacity_;
  std::unordered_set<message_id> ids_;
  std::deque<message_id> order_;
};

}  // namespace actormq::client::detail
