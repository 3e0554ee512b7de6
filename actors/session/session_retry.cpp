// session_state's retry and dead-letter operations: the member is checked
// with its group (it must be alive and own the partitions it nacks), then
// the RETRY actor does the work.
#include <fmt/format.h>

#include <algorithm>

#include "actors/errc.h"
#include "actors/session/session_actor.h"

namespace actormq {

namespace {

/// A nack may read and write many records, each durably.
constexpr auto retry_timeout = std::chrono::seconds(60);
/// A re-drive moves a whole DLQ.
constexpr auto redrive_timeout = std::chrono::minutes(10);

}  // namespace

void session_state::nack(const std::string& group, const std::string& member, int32_t generation,
                         std::vector<nack_item> items, done_fn<nack_reply> done) {
  if (items.empty()) return done(nack_reply{});
  with_group(group, [=, this](caf::expected<group_actor> g) {
    if (!g) return done(g.error());
    self_->request(*g, group_timeout, heartbeat_atom::value, member, generation)
        .then(
            [=, this](group::heartbeat_result& hb) {
              const auto& owned = hb.assignment.assigned;
              for (const auto& it : items) {
                group::topic_partition tp{it.topic, static_cast<int32_t>(it.partition)};
                if (std::find(owned.begin(), owned.end(), tp) == owned.end()) {
                  return done(make_error(errc::not_assigned,
                                         fmt::format("{}-{} is not assigned to member {}", it.topic,
                                                     it.partition, member)));
                }
              }
              self_
                  ->request(settings_.retry, retry_timeout, nack_atom::value,
                            nack_request{group, items})
                  .then([done](nack_reply& r) { done(r); },
                        [done](caf::error& e) { done(std::move(e)); });
            },
            [done](caf::error& e) { done(std::move(e)); });
  });
}

void session_state::redrive(redrive_request req, done_fn<redrive_reply> done) {
  self_->request(settings_.retry, redrive_timeout, redrive_atom::value, std::move(req))
      .then([done](redrive_reply& r) { done(r); }, [done](caf::error& e) { done(std::move(e)); });
}

void session_state::redrive_cursor(const std::string& dlq, done_fn<int64_t> done) {
  self_->request(settings_.retry, settings_.request_timeout, offsets_atom::value, dlq)
      .then([done](int64_t o) { done(o); }, [done](caf::error& e) { done(std::move(e)); });
}

void session_state::dead_letter_stats(done_fn<std::vector<metrics_registry::sample>> done) {
  self_->request(settings_.retry, settings_.request_timeout, describe_atom::value)
      .then([done](std::vector<metrics_registry::sample>& s) { done(std::move(s)); },
            [done](caf::error& e) { done(std::move(e)); });
}

}  // namespace actormq
