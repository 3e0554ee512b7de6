#include "actors/group/lag_watch.h"

#include <algorithm>

#include "actors/group/lag.h"

namespace actormq::group {

size_t lag_watch::points() const {
  size_t n = 0;
  for (const auto& [tp, h] : history_) n += h.size();
  return n;
}

int64_t lag_watch::appended_at(const std::deque<point>& h, int64_t offset) {
  // The first observation whose high watermark is above offset.
  auto it = std::find_if(h.begin(), h.end(),
                         [offset](const point& p) { return p.high_watermark > offset; });
  if (it == h.end()) return h.empty() ? 0 : h.back().at_ms;
  if (it == h.begin()) return it->at_ms;  // older than the history: a lower bound
  const auto& before = *std::prev(it);
  const auto& after = *it;
  // Linear between the two observations: offset was appended once the high
  // watermark passed it.
  const double span = static_cast<double>(after.high_watermark - before.high_watermark);
  const double into = static_cast<double>(offset + 1 - before.high_watermark);
  return before.at_ms +
         static_cast<int64_t>(static_cast<double>(after.at_ms - before.at_ms) * into / span);
}

void lag_watch::trim(std::deque<point>& h, int64_t committed) {
  // Points wholly below the committed offset: keep only the last of them
  // (the interpolation's lower end).
  while (h.size() >= 2 && h[1].high_watermark <= committed) h.pop_front();
  if (h.size() <= max_points) return;
  // Still too long: every other interior point goes (the first and the last
  // stay, so the age of a stuck offset keeps its lower end).
  std::deque<point> thin;
  for (size_t i = 0; i < h.size(); ++i) {
    if (i == 0 || i + 1 == h.size() || i % 2 == 0) thin.push_back(h[i]);
  }
  h.swap(thin);
}

lag_verdict lag_watch::observe(const std::vector<lag_observation>& parts, int64_t now_ms) {
  ++checks_;
  lag_verdict v;
  int64_t worst_lag = -1;
  std::map<topic_partition, std::deque<point>> seen;
  for (const auto& p : parts) {
    auto& h = history_[p.tp];
    if (p.high_watermark < 0) {
      seen[p.tp].swap(h);  // unknown this time: keep what was known
      continue;
    }
    if (h.empty() || h.back().high_watermark != p.high_watermark) {
      h.push_back({p.high_watermark, now_ms});
    }
    std::optional<storage::offset> committed;
    if (p.committed) committed = storage::offset(*p.committed);
    auto lag = compute_lag(p.tp, committed, storage::offset(p.log_start),
                           storage::offset(p.high_watermark))
                   .lag;
    v.lag += lag;
    const int64_t next = p.high_watermark - lag;  // the oldest unconsumed offset
    int64_t age = 0;
    if (lag > 0) age = std::max<int64_t>(0, now_ms - appended_at(h, next));
    if (lag > 0 && (age > v.age_ms || (age == v.age_ms && lag > worst_lag))) {
      v.age_ms = age;
      worst_lag = lag;
      v.worst = p.tp.topic + "-" + std::to_string(p.tp.partition);
    }
    trim(h, next);
    seen[p.tp].swap(h);
  }
  // Partitions the group no longer has are forgotten.
  history_.swap(seen);
  v.over = (thresholds_.max_messages > 0 && v.lag >= thresholds_.max_messages) ||
           (thresholds_.max_age_ms > 0 && v.age_ms >= thresholds_.max_age_ms);
  if (v.over && !alerting_) {
    v.what = lag_verdict::change::raised;
    ++raised_;
  } else if (!v.over && alerting_) {
    v.what = lag_verdict::change::cleared;
  }
  alerting_ = v.over;
  last_ = v;
  return v;
}

}  // namespace actormq::group
