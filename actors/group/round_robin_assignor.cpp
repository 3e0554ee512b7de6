#include "actors/group/round_robin_assignor.h"

namespace actormq::group {

assignment_map round_robin_assignor::do_assign(const std::vector<member_subscription>& members,
                                               const topic_metadata& topics) const {
  assignment_map out;
  for (const auto& m : members) out[m.id];
  if (members.empty()) return out;
  size_t turn = 0;  // index of the member dealt to next
  for (const auto& [topic, count] : topics) {
    for (int32_t p = 0; p < count; ++p) {
      // Skip members not subscribed to this topic; at most one full circle.
      for (size_t tried = 0; tried < members.size(); ++tried) {
        const auto& m = members[turn];
        turn = (turn + 1) % members.size();
        if (subscribes(m, topic)) {
          out[m.id].push_back({topic, p});
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace actormq::group
