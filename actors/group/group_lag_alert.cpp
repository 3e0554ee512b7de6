// The GROUP actor's lag alert (lag_watch.h): a check every
// lag_alerts.check_interval, and what a raised or cleared alert does.

#include <fmt/format.h>

#include <set>

#include "actors/group/group_actor_state.h"
#include "actors/logger.h"

namespace actormq {

namespace {
// Bounds of one check: well under a check interval's default, so checks do
// not pile up behind a slow peer (and one runs at a time anyway).
constexpr auto lag_check_timeout = std::chrono::seconds(4);
constexpr auto lag_check_peer_wait = std::chrono::seconds(2);
}  // namespace

std::vector<group::topic_partition> group_actor_state::partitions_of_interest() const {
  std::set<group::topic_partition> tps;
  for (const auto& [k, v] : offsets_) tps.insert({k.first, k.second});
  for (const auto& m : membership_->describe().members)
    tps.insert(m.assigned.begin(), m.assigned.end());
  return {tps.begin(), tps.end()};
}

void group_actor_state::check_lag() {
  if (lag_checking_) return;
  auto tps = partitions_of_interest();
  if (tps.empty()) return;
  lag_checking_ = true;
  auto all = std::make_shared<std::vector<group::topic_partition>>(std::move(tps));
  auto marks = std::make_shared<std::vector<std::pair<int64_t, int64_t>>>(
      all->size(), std::pair<int64_t, int64_t>{0, -1});
  auto pending = std::make_shared<size_t>(all->size());
  offsets_round round;
  round.timeout = lag_check_timeout;
  round.peer_wait = lag_check_peer_wait;
  round.failed_here_hw = -1;
  offsets_of(*all, round, [this, all, marks, pending](size_t i, int64_t start, int64_t hw) {
    (*marks)[i] = {start, hw};
    if (--*pending > 0) return;
    lag_checking_ = false;
    std::vector<group::lag_observation> obs;
    obs.reserve(all->size());
    for (size_t j = 0; j < all->size(); ++j) {
      const auto& tp = (*all)[j];
      std::optional<int64_t> committed;
      if (auto it = offsets_.find({tp.topic, tp.partition}); it != offsets_.end()) {
        committed = it->second.offset;
      }
      obs.push_back({tp, committed, (*marks)[j].first, (*marks)[j].second});
    }
    announce_lag(lag_watch_.observe(obs, now_ms()));
  });
}

void group_actor_state::announce_lag(const group::lag_verdict& v) {
  using change = group::lag_verdict::change;
  if (v.what == change::none) return;
  const auto& t = lag_watch_.thresholds();
  const bool raised = v.what == change::raised;
  if (raised) {
    actor_log().warn(
        "ALERT {}: lag {} messages, oldest unconsumed message {} ms old (at {}); thresholds "
        "{} messages, {} ms",
        who(), v.lag, v.age_ms, v.worst, t.max_messages, t.max_age_ms);
  } else {
    actor_log().info("{}: lag alert cleared: lag {} messages, oldest unconsumed {} ms old", who(),
                     v.lag, v.age_ms);
  }
  if (!alerts_) return;
  retry::alert a;
  a.env = {{"AMQ_REASON", raised ? "lag" : "lag_cleared"},
           {"AMQ_GROUP", group_},
           {"AMQ_TOPIC", v.worst.substr(0, v.worst.rfind('-'))},
           {"AMQ_LAG", std::to_string(v.lag)},
           {"AMQ_AGE_MS", std::to_string(v.age_ms)},
           {"AMQ_PARTITION", v.worst},
           {"AMQ_MAX_LAG", std::to_string(t.max_messages)},
           {"AMQ_MAX_AGE_MS", std::to_string(t.max_age_ms)},
           {"AMQ_TIME_MS", std::to_string(now_ms())}};
  if (!alerts_->fire(std::move(a))) {
    actor_log().warn("{}: alert hook queue full; lag alert dropped", who());
  }
}

}  // namespace actormq
