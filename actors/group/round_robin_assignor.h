#pragma once
// The "roundrobin" assignment strategy (see assignor.h).

#include "actors/group/assignor.h"

namespace actormq::group {

/// All partitions of all subscribed topics, in (topic, partition) order, are
/// dealt to the members in id order in turn, skipping a member that does not
/// subscribe to the partition's topic. Eager, like range.
/// 6 partitions over {a, b, c}: a = 0,3  b = 1,4  c = 2,5.
class round_robin_assignor final : public assignor {
 public:
  static constexpr std::string_view protocol_name = "roundrobin";
  std::string_view name() const override { return protocol_name; }
  bool cooperative() const override { return false; }

 protected:
  assignment_map do_assign(const std::vector<member_subscription>& members,
                           const topic_metadata& topics) const override;
};

}  // namespace actormq::group
