#pragma once
// Partition assignment strategies of a consumer group.
//
// An assignor maps the group's members (each with its subscribed topics and
// the partitions it owns now) and the topics' partition counts to the
// partitions each member owns next. It is a pure function: members are
// processed in member-id order, so the same input always gives the same
// plan, whatever order the caller lists them in.
//
//   range        per topic, contiguous ranges; the first members get one more
//   round_robin  all partitions in (topic, partition) order dealt in turn
//   sticky       keeps every still-valid current partition, moves only what is
//                needed for counts to differ by at most 1 (cooperative)
//
// Eager assignors (range, round_robin) expect every member to stop all its
// partitions on each rebalance; a cooperative one (sticky) only stops the
// partitions in member_plan::revoked. See group_membership.h.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "actors/group/types.h"

namespace actormq::group {

struct member_subscription {
  member_id id;
  std::vector<std::string> topics;       ///< subscribed topics
  std::vector<topic_partition> current;  ///< partitions owned before this rebalance
};

/// One member's part of an assignment plan; all lists sorted.
struct member_plan {
  std::vector<topic_partition> assigned;  ///< everything the member owns next
  std::vector<topic_partition> revoked;   ///< in current, not in assigned
  std::vector<topic_partition> added;     ///< in assigned, not in current
};

using assignment_plan = std::map<member_id, member_plan>;

class assignor {
 public:
  virtual ~assignor() = default;

  /// The protocol name members ask for: "range", "roundrobin", "sticky".
  virtual std::string_view name() const = 0;
  /// True when members keep unmoved partitions across a rebalance.
  virtual bool cooperative() const = 0;

  /// Computes the next assignment and, per member, what it loses and gains.
  /// Topics missing from topics (or with 0 partitions) contribute nothing.
  assignment_plan assign(std::vector<member_subscription> members,
                         const topic_metadata& topics) const;

 protected:
  /// members are sorted by id and their topic lists sorted and deduplicated.
  /// Returns an entry for every member (possibly empty), lists in any order.
  virtual assignment_map do_assign(const std::vector<member_subscription>& members,
                                   const topic_metadata& topics) const = 0;
};

/// The assignor named name ("range", "roundrobin", "sticky"), or nullptr.
std::unique_ptr<assignor> make_assignor(std::string_view name);

/// Whether member m subscribes to topic (m.topics is sorted).
bool subscribes(const member_subscription& m, const std::string& topic);

}  // namespace actormq::group
