#include "actors/request_deadlines.h"

#include <utility>
#include <vector>

namespace actormq {

bool request_deadlines::ticket::settle() const {
  if (!e_ || e_->settled) return false;
  e_->settled = true;
  if (e_->owner) e_->owner->map_.erase(e_->it);
  e_->on_timeout = nullptr;  // drop what it captured now, not with the last handler
  return true;
}

request_deadlines::~request_deadlines() {
  release();
}

request_deadlines::request_deadlines(request_deadlines&& other) noexcept
    : map_(std::move(other.map_)) {
  other.map_.clear();
  adopt();
}

request_deadlines& request_deadlines::operator=(request_deadlines&& other) noexcept {
  if (this != &other) {
    release();
    map_ = std::move(other.map_);
    other.map_.clear();
    adopt();
  }
  return *this;
}

void request_deadlines::adopt() {
  // Node-based: moving the map keeps every iterator valid.
  for (auto& [deadline, e] : map_) e->owner = this;
}

void request_deadlines::release() {
  // Handlers that still hold tickets must not touch the map once it is gone.
  for (auto& [deadline, e] : map_) e->owner = nullptr;
  map_.clear();
}

request_deadlines::ticket request_deadlines::add(clock::time_point deadline,
                                                 on_timeout_fn on_timeout) {
  auto e = std::make_shared<entry>();
  e->owner = this;
  e->on_timeout = std::move(on_timeout);
  e->it = map_.emplace(deadline, e);
  return ticket{std::move(e)};
}

size_t request_deadlines::expire(clock::time_point now) {
  // Collect first: an on_timeout may add or settle other entries.
  std::vector<std::shared_ptr<entry>> due;
  while (!map_.empty() && map_.begin()->first <= now) {
    auto e = map_.begin()->second;
    map_.erase(map_.begin());
    e->settled = true;
    e->owner = nullptr;
    due.push_back(std::move(e));
  }
  for (auto& e : due) {
    auto fn = std::move(e->on_timeout);
    if (fn) fn();
  }
  return due.size();
}

}  // namespace actormq
