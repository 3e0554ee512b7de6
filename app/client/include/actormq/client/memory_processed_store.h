#pragma once
// The processed ids of one process: the last `capacity` of them, in memory.
// Enough to stop the duplicates of a rebalance or a producer retry within
// a running consumer; a restart forgets everything (see
// file_processed_store.h for one that survives).

#include <cstddef>
#include <memory>

#include "actormq/client/processed_store.h"

namespace actormq::client {

namespace detail {
class id_window;
}

class memory_processed_store final : public processed_store {
 public:
  explicit memory_processed_store(size_t capacity = 100000);
  ~memory_processed_store() override;

  result<bool> seen(const message_id& id) override;
  result<void> mark(const message_id& id) override;
  size_t size() const;

 private:
  std::unique_ptr<detail::id_window> window_;
};

}  // namespace actormq::client
