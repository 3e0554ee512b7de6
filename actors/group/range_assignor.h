#pragma once
// The "range" assignment strategy (see assignor.h).

#include "actors/group/assignor.h"

namespace actormq::group {

/// Per topic, the members subscribed to it (in id order) get contiguous ranges
/// of partitions: with n partitions and m members each gets n / m and the
/// first n % m members one more. Eager: every member stops all its partitions
/// on a rebalance. 6 partitions over {a, b, c}: a = 0,1  b = 2,3  c = 4,5.
class range_assignor final : public assignor {
 public:
  static constexpr std::string_view protocol_name = "range";
  std::string_view name() const override { return protocol_name; }
  bool cooperative() const override { return false; }

 protected:
  assignment_map do_assign(const std::vector<member_subscription>& members,
                           const topic_metadata& topics) const override;
};

}  // namespace actormq::group
