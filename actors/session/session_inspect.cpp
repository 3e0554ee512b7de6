// session_state::inspect: what the actor inspector shows of a SESSION
// (docs/inspector.md, "session").

#include <fmt/format.h>

#include "actors/inspect/json_writer.h"
#include "actors/session/session_actor.h"

namespace actormq {

void session_state::inspect(actor_report& r) const {
  // A client may use many groups through one connection and this runs
  // every second: each list stops at 100 entries, its count covers all.
  constexpr size_t max_listed = 100;
  json_writer w;
  w.begin_object()
      .field("peer", settings_.peer)
      .field("outstanding_requests", deadlines_.size())
      .field("ticking", ticking_)
      .field("group_count", groups_.size());
  w.key("groups").begin_array();
  size_t n = 0;
  for (const auto& [group, handle] : groups_) {
    if (n++ == max_listed) break;
    w.value(group);
  }
  w.end_array().field("member_count", members_.size()).key("members").begin_array();
  n = 0;
  for (const auto& [group, member] : members_) {
    if (n++ == max_listed) break;
    w.begin_object().field("group", group).field("member", member).end_object();
  }
  w.end_array().field("checker_count", checkers_.size()).key("checkers").begin_array();
  n = 0;
  for (const auto& [group, hook] : checkers_) {
    if (n++ == max_listed) break;
    w.value(group);
  }
  // Topics whose produce quota this session met: requests held now, when
  // the first of them goes, and how many were ever held.
  w.end_array().key("throttled").begin_array();
  n = 0;
  size_t held_now = 0;
  auto now = produce_throttle::clock::now();
  for (const auto& [topic, tt] : throttles_) {
    held_now += tt.held.size();
    if (n++ == max_listed) continue;
    auto next_ms =
        tt.held.empty()
            ? 0
            : std::chrono::duration_cast<std::chrono::milliseconds>(tt.held.front().release - now)
                  .count();
    w.begin_object()
        .field("topic", topic)
        .field("held", tt.held.size())
        .field("next_release_ms", std::max<int64_t>(next_ms, 0))
        .field("held_total", tt.held_total)
        .end_object();
  }
  w.end_array().field("held_requests", held_now).field("held_bytes", held_bytes_).end_object();
  r.state_json = w.take();
  r.summary = fmt::format("{} reqs {} groups {} members {} checkers {}{}", settings_.peer,
                          deadlines_.size(), groups_.size(), members_.size(), checkers_.size(),
                          held_now ? fmt::format(" throttled {}", held_now) : std::string{});
}

}  // namespace actormq
