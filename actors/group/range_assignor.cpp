#include "actors/group/range_assignor.h"

namespace actormq::group {

assignment_map range_assignor::do_assign(const std::vector<member_subscription>& members,
                                         const topic_metadata& topics) const {
  assignment_map out;
  for (const auto& m : members) out[m.id];
  for (const auto& [topic, count] : topics) {
    std::vector<const member_subscription*> subscribers;
    for (const auto& m : members) {
      if (subscribes(m, topic)) subscribers.push_back(&m);
    }
    if (subscribers.empty() || count <= 0) continue;
    const auto n = static_cast<size_t>(count);
    const size_t per_member = n / subscribers.size();
    const size_t with_extra = n % subscribers.size();
    size_t next = 0;
    for (size_t i = 0; i < subscribers.size(); ++i) {
      const size_t take = per_member + (i < with_extra ? 1 : 0);
      auto& list = out[subscribers[i]->id];
      for (size_t k = 0; k < take; ++k, ++next) {
        list.push_back({topic, static_cast<int32_t>(next)});
      }
    }
  }
  return out;
}

}  // namespace actormq::group
