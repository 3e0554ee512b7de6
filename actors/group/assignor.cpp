#include "actors/group/assignor.h"

#include <algorithm>
#include <iterator>

#include "actors/group/range_assignor.h"
#include "actors/group/round_robin_assignor.h"
#include "actors/group/sticky_assignor.h"

namespace actormq::group {

namespace {
template <typename T>
void sort_unique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}
}  // namespace

bool subscribes(const member_subscription& m, const std::string& topic) {
  return std::binary_search(m.topics.begin(), m.topics.end(), topic);
}

assignment_plan assignor::assign(std::vector<member_subscription> members,
                                 const topic_metadata& topics) const {
  std::sort(members.begin(), members.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  for (auto& m : members) {
    sort_unique(m.topics);
    sort_unique(m.current);
  }
  auto next = do_assign(members, topics);
  assignment_plan plan;
  for (const auto& m : members) {
    auto& p = plan[m.id];
    p.assigned = std::move(next[m.id]);
    sort_unique(p.assigned);
    p.revoked = sorted_minus(m.current, p.assigned);
    p.added = sorted_minus(p.assigned, m.current);
  }
  return plan;
}

std::unique_ptr<assignor> make_assignor(std::string_view name) {
  if (name == range_assignor::protocol_name) return std::make_unique<range_assignor>();
  if (name == round_robin_assignor::protocol_name) return std::make_unique<round_robin_assignor>();
  if (name == sticky_assignor::protocol_name) return std::make_unique<sticky_assignor>();
  return nullptr;
}

}  // namespace actormq::group
