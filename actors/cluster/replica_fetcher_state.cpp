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

void replica_fetcher_state::tick() {
  ticking_ = false;
  deadlines_.expire(request_deadlines::clock::now());
  if (!deadlines_.empty()) {
    ticking_ = true;
    self_->delayed_send(self_, settings_.deadline_check, tick_atom::value);
  }
}

request_deadlines::ticket replica_fetcher_state::deadline(caf::timespan timeout, const char* step,
                                                          bool from_top) {
  auto t = deadlines_.add(request_deadlines::clock::now() + timeout, [this, step, from_top] {
    failed(step, caf::make_error(caf::sec::request_timeout), from_top);
  });
  if (!ticking_) {
    ticking_ = true;
    self_->delayed_send(self_, settings_.deadline_check, tick_atom::value);
  }
  return t;
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
  auto t = deadline(settings_.request_timeout, "follow", true);
  self_
      ->request(settings_.local, caf::infinite, follow_atom::value, settings_.leader_epoch,
                settings_.leader)
      .then(
          [this, t](const replica_position& p) {
            if (!t.settle()) return;
            log_end_ = p.log_end_offset;
            ask_epoch_ = p.ask_epoch;
            find_leader([this] { truncate(); });
          },
          [this, t](caf::error& e) {
            if (t.settle()) failed("follow", e, true);
          });
}

void replica_fetcher_state::find_leader(std::function<void()> then) {
  if (leader_node_) return then();
  auto t = deadline(settings_.request_timeout, "finding the leader's node", true);
  self_->request(settings_.peers, caf::infinite, node_atom::value, settings_.leader)
      .then(
          [this, t, then](const node_actor& n) {
            if (!t.settle()) return;
            leader_node_ = n;
            then();
          },
          [this, t](caf::error& e) {
            if (t.settle()) failed("finding the leader's node", e, true);
          });
}

void replica_fetcher_state::truncate() {
  if (ask_epoch_ < 0) {
    actor_log().info("{}: following from offset {}", who(), log_end_);
    return pull();
  }
  topic_partition tp{settings_.topic, settings_.partition};
  const int32_t asked = ask_epoch_;
  auto t = deadline(settings_.request_timeout, "asking where the epoch ended", true);
  self_
      ->request(leader_node_, caf::infinite, epoch_end_atom::value, tp, settings_.leader_epoch,
                asked)
      .then(
          [this, t, asked](const epoch_end& answer) {
            if (!t.settle()) return;
            auto t2 = deadline(settings_.request_timeout, "truncation", true);
            self_
                ->request(settings_.local, caf::infinite, truncate_atom::value,
                          settings_.leader_epoch, asked, answer)
                .then(
                    [this, t2](const replica_position& p) {
                      if (!t2.settle()) return;
                      log_end_ = p.log_end_offset;
                      ask_epoch_ = p.ask_epoch;
                      truncate();  // the next question (KIP-279), or the pulls
                    },
                    [this, t2](caf::error& e) {
                      if (t2.settle()) failed("truncation", e, true);
                    });
          },
          [this, t](caf::error& e) {
            if (t.settle()) failed("asking where the epoch ended", e, true);
          });
}

void replica_fetcher_state::pull() {
  if (!leader_node_) return follow();
  topic_partition tp{settings_.topic, settings_.partition};
  replica_fetch_request req;
  req.replica_id = settings_.self;
  req.leader_epoch = settings_.leader_epoch;
  req.fetch_offset = log_end_;
  req.max_bytes = settings_.max_bytes;
  // A timed-out pull may mean the leader's node is gone: find it again.
  auto t = deadline(settings_.max_wait + settings_.request_timeout, "pull", true);
  self_
      ->request(leader_node_, caf::infinite, replica_fetch_atom::value, tp, req, settings_.max_wait)
      .then(
          [this, t](replica_fetch_reply& r) {
            if (!t.settle()) return;
            leader_log_end_ = r.log_end_offset;
            leader_high_watermark_ = r.high_watermark;
            auto t2 = deadline(settings_.request_timeout, "append", true);
            self_
                ->request(settings_.local, caf::infinite, replica_append_atom::value,
                          settings_.leader_epoch, std::move(r))
                .then(
                    [this, t2](int64_t end) {
                      if (!t2.settle()) return;
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
                    [this, t2](caf::error& e) {
                      if (t2.settle()) failed("append", e, true);
                    });
          },
          [this, t](caf::error& e) {
            if (!t.settle()) return;
            // The leader's log does not hold our position: the histories
            // diverged or it truncated; ask again where our epoch ended.
            bool diverged = code_of(e) == errc::offset_out_of_range;
            bool lost = e == caf::sec::request_timeout || e == caf::sec::request_receiver_down;
            failed("pull", e, diverged || lost);
          });
}

}  // namespace actormq
