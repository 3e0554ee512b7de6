#pragma once
// The "sticky" assignment strategy (see assignor.h): cooperative.

#include "actors/group/assignor.h"

namespace actormq::group {

/// Moves as few partitions as it can:
///  1. every member keeps each current partition that still exists, that it
///     still subscribes to and that no member earlier in id order claimed;
///  2. each partition left unowned goes to the subscribed member owning the
///     fewest partitions (ties: smallest id);
///  3. while some member owns 2 or more partitions more than another member
///     that could take one of them, the largest such owner gives its highest
///     movable partition to the smallest one.
/// With identical subscriptions the counts then differ by at most 1, and only
/// the partitions that had to move are in a member's revoked/added lists, so
/// members whose partitions did not move keep consuming through a rebalance.
class sticky_assignor final : public assignor {
 public:
  static constexpr std::string_view protocol_name = "sticky";
  std::string_view name() const override { return protocol_name; }
  bool cooperative() const override { return true; }

 protected:
  assignment_map do_assign(const std::vector<member_subscription>& members,
                           const topic_metadata& topics) const override;
};

}  // namespace actormq::group
