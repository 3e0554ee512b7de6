#include "actors/cluster/peer_table.h"

#include <algorithm>

namespace actormq {

std::chrono::milliseconds backoff_policy::delay(uint32_t failures) const {
  auto d = initial;
  for (uint32_t i = 1; i < failures && d < max; ++i) d *= 2;
  return std::min(d, max);
}

peer_table::peer_table(int32_t self_id, backoff_policy backoff)
    : self_id_(self_id), backoff_(backoff) {}

peer_table::changes peer_table::set_desired(const std::vector<peer_address>& peers,
                                            time_point now) {
  std::map<int32_t, peer_address> desired;
  for (const auto& p : peers) {
    if (p.broker_id != self_id_) desired[p.broker_id] = p;
  }
  changes out;
  for (auto i = peers_.begin(); i != peers_.end();) {
    auto d = desired.find(i->first);
    if (d == desired.end() || d->second != i->second.address) {
      out.forget.push_back(i->first);
      i = peers_.erase(i);
    } else {
      ++i;
    }
  }
  for (const auto& [id, address] : desired) {
    if (peers_.count(id) != 0) continue;
    entry e;
    e.address = address;
    e.since = now;
    e.token = next_token_++;
    peers_.emplace(id, std::move(e));
    out.start.push_back({id, peers_[id].token});
  }
  return out;
}

bool peer_table::attempt_succeeded(int32_t broker_id, uint64_t token, uint64_t incarnation,
                                   time_point now) {
  auto i = peers_.find(broker_id);
  if (i == peers_.end() || i->second.token != token || i->second.state == peer_state::up) {
    return false;
  }
  auto& e = i->second;
  enter(e, peer_state::up, now);
  e.failures = 0;
  e.incarnation = incarnation;
  e.last_error.clear();
  e.lost = false;
  return true;
}

std::optional<peer_table::retry> peer_table::attempt_failed(int32_t broker_id, uint64_t token,
                                                            std::string error, time_point now,
                                                            bool refused) {
  auto i = peers_.find(broker_id);
  if (i == peers_.end() || i->second.token != token || i->second.state == peer_state::up) {
    return std::nullopt;
  }
  auto& e = i->second;
  enter(e, peer_state::down, now);
  e.last_error = std::move(error);
  ++e.failures;
  auto r = schedule_retry(broker_id, e);
  if (e.lost && refused) r.gone_incarnation = e.incarnation;
  e.lost = false;
  return r;
}

std::optional<peer_table::retry> peer_table::connection_lost(int32_t broker_id, std::string error,
                                                             time_point now) {
  auto i = peers_.find(broker_id);
  if (i == peers_.end() || i->second.state != peer_state::up) return std::nullopt;
  auto& e = i->second;
  enter(e, peer_state::down, now);
  e.last_error = std::move(error);
  e.failures = 1;
  e.lost = true;
  return schedule_retry(broker_id, e);
}

std::optional<peer_table::attempt> peer_table::retry_due(int32_t broker_id, uint64_t token) {
  auto i = peers_.find(broker_id);
  if (i == peers_.end() || i->second.token != token || i->second.state != peer_state::down) {
    return std::nullopt;
  }
  // The state stays down while retrying: "down since" keeps the time the
  // peer was lost, not the time of the latest attempt.
  i->second.token = next_token_++;
  return attempt{broker_id, i->second.token};
}

std::optional<peer_state> peer_table::state_of(int32_t broker_id) const {
  auto i = peers_.find(broker_id);
  if (i == peers_.end()) return std::nullopt;
  return i->second.state;
}

uint64_t peer_table::incarnation_of(int32_t broker_id) const {
  auto i = peers_.find(broker_id);
  return i == peers_.end() ? 0 : i->second.incarnation;
}

std::optional<peer_address> peer_table::address_of(int32_t broker_id) const {
  auto i = peers_.find(broker_id);
  if (i == peers_.end()) return std::nullopt;
  return i->second.address;
}

std::vector<peer_status> peer_table::snapshot(time_point now, int64_t wall_now_ms) const {
  std::vector<peer_status> out;
  out.reserve(peers_.size());
  for (const auto& [id, e] : peers_) {
    auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - e.since).count();
    out.push_back({id, e.address.host, e.address.port, e.state, wall_now_ms - age, e.last_error,
                   e.incarnation});
  }
  return out;
}

void peer_table::enter(entry& e, peer_state s, time_point now) {
  if (e.state != s) e.since = now;
  e.state = s;
}

peer_table::retry peer_table::schedule_retry(int32_t broker_id, entry& e) {
  e.token = next_token_++;
  return {broker_id, e.token, backoff_.delay(e.failures)};
}

}  // namespace actormq
