#include "actors/cluster/replica_fetcher_state.h"

#include <fmt/format.h>

#include <algorithm>

#include "actors/errc.h"
#include "actors/logger.h"

namespace actormq {

std::string replica_fetcher_state::who() const {
  return fmt::format("replica {}-{} (leader {}, epoch {})", settings_.topic, settings_.partition,
                     settings_.leader, settings_.leader_epoch);
}

void replica_fetcher_state::init(self_ptr self, replica_fetcher_settings settings) {
  self_ = self;
  settings_ = std::move(settings);
  backoff_ = settings_.backoff_min;
  follow();
}

void replica_fetcher_state::resume(bool from_top) {
  if (from_top) {
    follow();
  } else {
    pull();
  }
}

void replica_fetcher_state::failed(const char* step, const caf::error& err, bool from_top) {
  ++failures_;
  auto text = text_of(err);
  // Log a new kind of failure at once, a repeated one only now and then.
  if (text != last_error_ || failures_ % 50 == 0) {
    actor_log().warn("{}: {} failed ({} in a row): {}; retrying", who(), step, failures_, text);
    last_error_ = text;
  }
  if (from_top) leader_node_ = nullptr;
  self_->delayed_send(self_, backoff_, retry_atom::value, from_top);
  backoff_ = std::min(settings_.backoff_max, backoff_ * 2);
}

void replica_fetcher_state::follow() {
  self_
      ->request(settings_.local, settings_.request_timeout, follow_atom::value,
                settings_.leader_epoch, settings_.leader)
      .then(
          [this](const replica_position& p) {
            log_end_ = p.log_end_offset;
            ask_epoch_ = p.ask_epoch;
            find_leader([this] { truncate(); });
          },
          [this](caf::error& e) { failed("follow", e, true); });
}

void replica_fetcher_state::find_leader(std::function<void()> then) {
  if (leader_node_) return then();
  self_->request(settings_.peers, settings_.request_timeout, node_atom::value, settings_.leader)
      .then(
          [this, then](const node_actor& n) {
            leader_node_ = n;
            then();
          },
          [this](caf::error& e) { failed("finding the leader's node", e, true); });
}

void replica_fetcher_state::truncate() {
  if (ask_epoch_ < 0) {
    actor_log().info("{}: following from offset {}", who(), log_end_);
    return pull();
  }
  topic_partition tp{settings_.topic, settings_.partition};
  const int32_t asked = ask_epoch_;
  self_
      ->request(leader_node_, settings_.request_timeout, epoch_end_atom::value, tp,
                settings_.leader_epoch, asked)
      .then(
          [this, asked](const epoch_end& answer) {
            self_
                ->request(settings_.local, settings_.request_timeout, truncate_atom::value,
                          settings_.leader_epoch, asked, answer)
                .then(
                    [this](const replica_position& p) {
                      log_end_ = p.log_end_offset;
                      ask_epoch_ = p.ask_epoch;
                      truncate();  // the next question (KIP-279), or the pulls
                    },
                    [this](caf::error& e) { failed("truncation", e, true); });
          },
          [this](caf::error& e) { failed("asking where the epoch ended", e, true); });
}

void replica_fetcher_state::pull() {
  if (!leader_node_) return follow();
  topic_partition tp{settings_.topic, settings_.partition};
  replica_fetch_request req;
  req.replica_id = settings_.self;
  req.leader_epoch = settings_.leader_epoch;
  req.fetch_offset = log_end_;
  req.max_bytes = settings_.max_bytes;
  self_
      ->request(leader_node_, settings_.max_wait + settings_.request_timeout,
                replica_fetch_atom::value, tp, req, settings_.max_wait)
      .then(
          [this](replica_fetch_reply& r) {
            self_
                ->request(settings_.local, settings_.request_timeout, replica_append_atom::value,
                          settings_.leader_epoch, std::move(r))
                .then(
                    [this](int64_t end) {
                      log_end_ = end;
                      if (failures_ > 0) {
                        actor_log().info("{}: pulling again at {} after {} failures", who(), end,
                                         failures_);
                      }
                      failures_ = 0;
                      last_error_.clear();
                      backoff_ = settings_.backoff_min;
                      pull();
                    },
                    // The local append failed (disk, or a batch that does not
                    // continue the log): start over with a truncation check.
                    [this](caf::error& e) { failed("append", e, true); });
          },
          [this](caf::error& e) {
            // The leader's log does not hold our position: the histories
            // diverged or it truncated; ask again where our epoch ended.
            bool diverged = code_of(e) == errc::offset_out_of_range;
            bool lost = e == caf::sec::request_timeout || e == caf::sec::request_receiver_down;
            failed("pull", e, diverged || lost);
          });
}

}  // namespace actormq
