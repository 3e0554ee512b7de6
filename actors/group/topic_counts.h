#pragma once
// topic_counts: the partition count of every topic of a cluster, for the
// group coordinators of one broker. A group's coordinator is picked by the
// group name's hash, so it often holds none of the partitions its members
// read; its own topic registry (which holds only the topics with a replica
// here) cannot tell it what to assign. The broker's KJ thread sets the
// counts from the cluster view on every change; group actors read them.
// Alone (no cluster), groups ask the topic registry instead.
//
// Thread-safety: set() and get() from any thread.

#include <mutex>
#include <optional>
#include <string>

#include "actors/group/types.h"

namespace actormq::group {

class topic_counts {
 public:
  /// Replaces the counts (the cluster view changed).
  void set(topic_metadata counts) {
    std::lock_guard lk(mu_);
    counts_ = std::move(counts);
  }
  /// The counts last set; nothing before the first set().
  std::optional<topic_metadata> get() const {
    std::lock_guard lk(mu_);
    return counts_;
  }
  /// One topic's partition count; nullopt when the cluster has no such
  /// topic (or nothing was set yet).
  std::optional<int32_t> count(const std::string& topic) const {
    std::lock_guard lk(mu_);
    if (!counts_) return std::nullopt;
    auto it = counts_->find(topic);
    if (it == counts_->end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable std::mutex mu_;
  std::optional<topic_metadata> counts_;
};

}  // namespace actormq::group
