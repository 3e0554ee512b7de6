#include "actors/partition/replica_tracker.h"

#include <algorithm>

namespace actormq {

void replica_tracker::reset(int32_t self, const std::vector<int32_t>& replicas,
                            std::vector<int32_t> isr, int64_t hw, clock::time_point now) {
  self_ = self;
  followers_.clear();
  for (auto r : replicas) {
    if (r == self) continue;
    follower f;
    f.last_caught_up = now;
    f.last_fetch = now;
    followers_[r] = f;
  }
  isr_ = std::move(isr);
  hw_ = hw;
}

void replica_tracker::set_isr(std::vector<int32_t> isr) {
  isr_ = std::move(isr);
}

void replica_tracker::set_replicas(const std::vector<int32_t>& replicas, clock::time_point now) {
  std::erase_if(followers_, [&](const auto& f) {
    return std::find(replicas.begin(), replicas.end(), f.first) == replicas.end();
  });
  for (auto r : replicas) {
    if (r == self_ || followers_.count(r)) continue;
    follower f;
    f.last_caught_up = now;
    f.last_fetch = now;
    followers_[r] = f;
  }
}

bool replica_tracker::in_isr(int32_t replica) const {
  return std::find(isr_.begin(), isr_.end(), replica) != isr_.end();
}

int64_t replica_tracker::log_end_of(int32_t replica) const {
  auto it = followers_.find(replica);
  return it == followers_.end() ? -1 : it->second.log_end;
}

void replica_tracker::on_fetch(int32_t replica, int64_t fetch_offset, int64_t leader_end,
                               clock::time_point now) {
  auto it = followers_.find(replica);
  if (it == followers_.end()) return;  // not a replica of this partition
  auto& f = it->second;
  f.log_end = fetch_offset;
  if (fetch_offset >= leader_end) {
    f.last_caught_up = now;
  } else if (f.leader_end_at_last_fetch >= 0 && fetch_offset >= f.leader_end_at_last_fetch) {
    f.last_caught_up = std::max(f.last_caught_up, f.last_fetch);
  }
  f.leader_end_at_last_fetch = leader_end;
  f.last_fetch = now;
}

int64_t replica_tracker::update_high_watermark(int64_t leader_end) {
  int64_t low = leader_end;
  for (auto r : isr_) {
    if (r == self_) continue;
    auto it = followers_.find(r);
    if (it == followers_.end()) continue;  // in the set but not a replica: ignore
    low = std::min(low, it->second.log_end);
  }
  // An unknown follower (-1) holds the watermark where it is.
  if (low > hw_) hw_ = low;
  return hw_;
}

std::optional<std::vector<int32_t>> replica_tracker::shrunk(clock::time_point now,
                                                            clock::duration lag) const {
  std::vector<int32_t> keep;
  bool changed = false;
  for (auto r : isr_) {
    auto it = followers_.find(r);
    if (r != self_ && it != followers_.end() && now - it->second.last_caught_up > lag) {
      changed = true;
      continue;
    }
    keep.push_back(r);
  }
  if (!changed) return std::nullopt;
  return keep;
}

std::optional<std::vector<int32_t>> replica_tracker::expanded(int32_t replica,
                                                              int64_t epoch_start) const {
  if (in_isr(replica)) return std::nullopt;
  auto it = followers_.find(replica);
  if (it == followers_.end()) return std::nullopt;
  const auto& f = it->second;
  if (f.log_end < hw_ || f.log_end < epoch_start) return std::nullopt;
  auto out = isr_;
  out.push_back(replica);
  return out;
}

}  // namespace actormq
