#pragma once
// Value types shared by the consumer-group logic: partitions, generations,
// assignments. Plain C++, no CAF.

#include <algorithm>
#include <compare>
#include <cstdint>
#include <iterator>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "storage/result.h"
#include "storage/types.h"

namespace actormq::group {

/// The group module returns the storage module's result type (a value or an
/// error_code); its own error codes are in group/errc.h.
template <typename T>
using result = storage::result<T>;
using status = storage::status;

/// Bumped on every membership or subscription change; a member presents the
/// generation it knows with heartbeats and commits.
using generation_id = storage::named_type<int32_t, struct generation_tag>;

/// Assigned by the group on first join, e.g. "client-1-3".
using member_id = std::string;

struct topic_partition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const topic_partition&) const = default;
  friend std::ostream& operator<<(std::ostream& os, const topic_partition& tp) {
    return os << tp.topic << '-' << tp.partition;
  }
};

/// Serialization for CAF (the cluster's NODE actor takes partitions across
/// brokers); a plain template, so this header needs no CAF include.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topic_partition& x) {
  return f(x.topic, x.partition);
}

/// The partitions of a that are not in b (both sorted).
inline std::vector<topic_partition> sorted_minus(const std::vector<topic_partition>& a,
                                                 const std::vector<topic_partition>& b) {
  std::vector<topic_partition> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

/// Topic name -> partition count, as the group sees the cluster metadata.
using topic_metadata = std::map<std::string, int32_t>;

/// Member id -> its partitions, each list sorted by (topic, partition).
using assignment_map = std::map<member_id, std::vector<topic_partition>>;

}  // namespace actormq::group
