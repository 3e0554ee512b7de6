#include "actors/group/group_membership.h"

#include <algorithm>
#include <iterator>

namespace actormq::group {

std::string_view to_string(group_state s) {
  switch (s) {
    case group_state::empty:
      return "empty";
    case group_state::stable:
      return "stable";
    case group_state::propagating:
      return "propagating";
  }
  return "unknown";
}

result<group_membership> group_membership::create(group_config config, topic_metadata topics) {
  auto a = make_assignor(config.protocol);
  if (!a) return errc::unknown_protocol;
  if (config.min_session_timeout_ms <= 0 ||
      config.max_session_timeout_ms < config.min_session_timeout_ms) {
    return errc::invalid_argument;
  }
  return group_membership(std::move(config), std::move(topics), std::move(a));
}

group_membership::group_membership(group_config config, topic_metadata topics,
                                   std::unique_ptr<assignor> a)
    : config_(std::move(config)), topics_(std::move(topics)), assignor_(std::move(a)) {}

group_membership::member* group_membership::find(std::string_view id) {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

const group_membership::member* group_membership::find(std::string_view id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

member_id group_membership::next_member_id(const std::string& client_id) {
  member_id id = client_id.empty() ? std::string("member") : client_id;
  // Appended piece by piece: g++ 12 at -O3 reports a false -Wrestrict for
  // id += "-" + str (GCC bug 105329), which breaks Release builds.
  if (!config_.member_id_salt.empty()) {
    id += '-';
    id += config_.member_id_salt;
  }
  id += '-';
  id += std::to_string(next_member_seq_++);
  return id;
}

result<join_result> group_membership::join(join_request request, int64_t now_ms) {
  if (request.session_timeout_ms < config_.min_session_timeout_ms ||
      request.session_timeout_ms > config_.max_session_timeout_ms) {
    return errc::invalid_session_timeout;
  }
  std::sort(request.topics.begin(), request.topics.end());
  request.topics.erase(std::unique(request.topics.begin(), request.topics.end()),
                       request.topics.end());
  if (request.topics.empty()) return errc::invalid_argument;

  member* m = nullptr;
  if (!request.id.empty()) {
    m = find(request.id);
    if (m == nullptr) return errc::unknown_member;
    m->info.client_id = std::move(request.client_id);
    m->info.client_host = std::move(request.client_host);
    m->info.session_timeout_ms = request.session_timeout_ms;
    m->info.last_heartbeat_ms = now_ms;
    if (m->info.topics != request.topics) {
      m->info.topics = std::move(request.topics);
      rebalance();
    }
  } else {
    auto id = next_member_id(request.client_id);
    member fresh;
    fresh.info.id = id;
    fresh.info.client_id = std::move(request.client_id);
    fresh.info.client_host = std::move(request.client_host);
    fresh.info.topics = std::move(request.topics);
    fresh.info.session_timeout_ms = request.session_timeout_ms;
    fresh.info.last_heartbeat_ms = now_ms;
    m = &members_.emplace(id, std::move(fresh)).first->second;
    rebalance();
    // Commits from before this join cannot exist; fence at the join anyway.
    m->info.fence = generation_;
  }
  join_result out{m->info.id, assignment_for(*m)};
  m->confirmed = m->info.assigned;
  m->info.confirmed_generation = generation_;
  return out;
}

result<heartbeat_result> group_membership::heartbeat(std::string_view id, generation_id generation,
                                                     int64_t now_ms) {
  member* m = find(id);
  if (m == nullptr) return errc::unknown_member;
  if (generation > generation_) return errc::illegal_generation;
  m->info.last_heartbeat_ms = now_ms;
  if (generation < generation_) {
    return heartbeat_result{heartbeat_status::rebalance_needed, assignment_for(*m)};
  }
  m->confirmed = m->info.assigned;
  m->info.confirmed_generation = generation_;
  return heartbeat_result{heartbeat_status::ok, assignment_for(*m)};
}

status group_membership::leave(std::string_view id) {
  auto it = members_.find(id);
  if (it == members_.end()) return errc::unknown_member;
  members_.erase(it);
  rebalance();
  return {};
}

std::vector<member_id> group_membership::expire(int64_t now_ms) {
  std::vector<member_id> gone;
  for (auto it = members_.begin(); it != members_.end();) {
    const auto& info = it->second.info;
    if (now_ms - info.last_heartbeat_ms >= info.session_timeout_ms) {
      gone.push_back(it->first);
      it = members_.erase(it);
    } else {
      ++it;
    }
  }
  if (!gone.empty()) rebalance();
  return gone;
}

std::optional<int64_t> group_membership::next_expiry_ms() const {
  std::optional<int64_t> next;
  for (const auto& [id, m] : members_) {
    const int64_t at = m.info.last_heartbeat_ms + m.info.session_timeout_ms;
    if (!next || at < *next) next = at;
  }
  return next;
}

status group_membership::authorize_commit(std::string_view id, generation_id generation) const {
  const member* m = find(id);
  if (m == nullptr) return errc::unknown_member;
  if (generation > generation_) return errc::illegal_generation;
  if (generation < m->info.fence) return errc::stale_generation;
  return {};
}

status group_membership::authorize_commit(std::string_view id, generation_id generation,
                                          const topic_partition& tp) const {
  if (auto st = authorize_commit(id, generation); !st) return st;
  const auto& owned = find(id)->info.assigned;
  if (!std::binary_search(owned.begin(), owned.end(), tp)) return errc::not_assigned;
  return {};
}

bool group_membership::update_topics(topic_metadata topics) {
  bool changed = false;
  for (const auto& [id, m] : members_) {
    for (const auto& t : m.info.topics) {
      auto before = topics_.find(t);
      auto after = topics.find(t);
      const int32_t old_count = before == topics_.end() ? 0 : before->second;
      const int32_t new_count = after == topics.end() ? 0 : after->second;
      changed = changed || old_count != new_count;
    }
  }
  topics_ = std::move(topics);
  if (changed) rebalance();
  return changed;
}

bool group_membership::has_unknown_topics() const {
  for (const auto& [id, m] : members_) {
    for (const auto& t : m.info.topics) {
      if (!topics_.count(t)) return true;
    }
  }
  return false;
}

void group_membership::rebalance() {
  generation_ += 1;
  std::vector<member_subscription> subs;
  subs.reserve(members_.size());
  for (const auto& [id, m] : members_) subs.push_back({id, m.info.topics, m.info.assigned});
  auto plan = assignor_->assign(std::move(subs), topics_);
  const bool cooperative = assignor_->cooperative();
  for (auto& [id, m] : members_) {
    auto& p = plan[id];
    if (!cooperative || !p.revoked.empty()) m.info.fence = generation_;
    m.info.assigned = std::move(p.assigned);
  }
}

member_assignment group_membership::assignment_for(const member& m) const {
  member_assignment a;
  a.generation = generation_;
  a.assigned = m.info.assigned;
  if (assignor_->cooperative()) {
    a.revoked = sorted_minus(m.confirmed, m.info.assigned);
    a.added = sorted_minus(m.info.assigned, m.confirmed);
  } else if (m.info.confirmed_generation != generation_) {
    a.revoked = m.confirmed;
    a.added = m.info.assigned;
  }
  return a;
}

result<std::vector<topic_partition>> group_membership::assignment(std::string_view id) const {
  const member* m = find(id);
  if (m == nullptr) return errc::unknown_member;
  return m->info.assigned;
}

assignment_map group_membership::assignments() const {
  assignment_map out;
  for (const auto& [id, m] : members_) out[id] = m.info.assigned;
  return out;
}

group_description group_membership::describe() const {
  group_description d;
  d.group_id = config_.group_id;
  d.protocol = config_.protocol;
  d.generation = generation_;
  d.state = members_.empty() ? group_state::empty : group_state::stable;
  for (const auto& [id, m] : members_) {
    if (m.info.confirmed_generation != generation_) d.state = group_state::propagating;
    d.members.push_back(m.info);
  }
  return d;
}

}  // namespace actormq::group
