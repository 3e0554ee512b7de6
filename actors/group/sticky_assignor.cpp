#include "actors/group/sticky_assignor.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <set>

namespace actormq::group {

namespace {

bool exists(const topic_metadata& topics, const topic_partition& tp) {
  auto it = topics.find(tp.topic);
  return it != topics.end() && tp.partition >= 0 && tp.partition < it->second;
}

// One donor -> receiver move that narrows the gap between the two, if any.
struct move {
  size_t from;
  size_t to;
  topic_partition tp;
};

}  // namespace

assignment_map sticky_assignor::do_assign(const std::vector<member_subscription>& members,
                                          const topic_metadata& topics) const {
  const size_t n = members.size();
  std::vector<std::set<topic_partition>> owned(n);
  std::set<topic_partition> taken;

  // 1. Keep what is still valid; a partition two members claim goes to the
  // first in id order.
  for (size_t i = 0; i < n; ++i) {
    for (const auto& tp : members[i].current) {
      if (exists(topics, tp) && subscribes(members[i], tp.topic) && taken.insert(tp).second) {
        owned[i].insert(tp);
      }
    }
  }

  // 2. Hand each unowned partition to the least loaded subscriber.
  for (const auto& [topic, count] : topics) {
    for (int32_t p = 0; p < count; ++p) {
      topic_partition tp{topic, p};
      if (taken.count(tp) != 0) continue;
      std::optional<size_t> best;
      for (size_t i = 0; i < n; ++i) {
        if (subscribes(members[i], topic) && (!best || owned[i].size() < owned[*best].size())) {
          best = i;
        }
      }
      if (!best) continue;  // nobody subscribes to this topic
      owned[*best].insert(tp);
      taken.insert(std::move(tp));
    }
  }

  // 3. Even out: each move lowers the sum of squared counts, so this ends.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  auto find_move = [&]() -> std::optional<move> {
    auto by_load_desc = order;
    std::stable_sort(by_load_desc.begin(), by_load_desc.end(),
                     [&](size_t a, size_t b) { return owned[a].size() > owned[b].size(); });
    auto by_load_asc = order;
    std::stable_sort(by_load_asc.begin(), by_load_asc.end(),
                     [&](size_t a, size_t b) { return owned[a].size() < owned[b].size(); });
    for (size_t d : by_load_desc) {
      for (size_t r : by_load_asc) {
        if (owned[d].size() <= owned[r].size() + 1) break;
        for (auto it = owned[d].rbegin(); it != owned[d].rend(); ++it) {
          if (subscribes(members[r], it->topic)) return move{d, r, *it};
        }
      }
    }
    return std::nullopt;
  };
  while (auto m = find_move()) {
    owned[m->from].erase(m->tp);
    owned[m->to].insert(m->tp);
  }

  assignment_map out;
  for (size_t i = 0; i < n; ++i) {
    out[members[i].id] = {owned[i].begin(), owned[i].end()};
  }
  return out;
}

}  // namespace actormq::group
