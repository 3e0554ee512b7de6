#include "actormq/client/memory_processed_store.h"

#include "id_window.h"

namespace actormq::client {

memory_processed_store::memory_processed_store(size_t capacity)
    : window_(std::make_unique<detail::id_window>(capacity)) {}

memory_processed_store::~memory_processed_store() = default;

result<bool> memory_processed_store::seen(const message_id& id) {
  return window_->contains(id);
}

result<void> memory_processed_store::mark(const message_id& id) {
  window_->add(id);
  return {};
}

size_t memory_processed_store::size() const {
  return window_->size();
}

}  // namespace actormq::client
