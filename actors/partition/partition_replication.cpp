// partition_state's replication half (docs/replication.md): leading (follower
// pulls, high watermark, in-sync set, acks=all) and following (appending the
// leader's batches as they are, KIP-101 truncation). Only partitions of
// replicated topics get here; a lone broker's partition never does.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <iterator>

#include "actors/errc.h"
#include "actors/logger.h"
#include "actors/partition/partition_state.h"
#include "storage/file_handle.h"
#include "storage/offset_checkpoint.h"
#include "storage/replica_truncation.h"

namespace actormq {

namespace {
constexpr const char* hw_file = "high-watermark";
constexpr auto isr_write_timeout = std::chrono::seconds(10);
}  // namespace

int64_t partition_state::readable_end() const {
  if (!settings_.replicated) return log_->next_offset()();
  return std::min(hw_, log_->next_offset()());
}

caf::error partition_state::not_leader_error() const {
  if (leader_id_ >= 0) {
    return make_error(errc::not_leader, fmt::format("{} is led by broker {} (epoch {})", who(),
                                                    leader_id_, leader_epoch_));
  }
  return make_error(errc::not_leader,
                    fmt::format("{} has no leader here (epoch {})", who(), leader_epoch_));
}

void partition_state::init_replication() {
  auto cache = storage::leader_epoch_cache::open(log_->dir());
  if (!cache) {
    // Without it this replica cannot tell where its epochs ended: it must
    // not lead or follow. The supervisor restarts it; an operator sees why.
    actor_log().error("{}: leader-epoch cache unusable: {}", who(), cache.error().message());
    self_->quit(from_storage(cache.error(), who() + " leader-epoch cache"));
    return;
  }
  epochs_ = std::move(*cache);
  storage::offset_checkpoint cp(log_->dir() / hw_file);
  if (auto hw = cp.read(); hw && *hw) {
    hw_ = std::min((**hw)(), log_->next_offset()());
  } else if (!hw) {
    actor_log().warn("{}: high-watermark checkpoint unreadable ({}); starting from the log start",
                     who(), hw.error().message());
  }
  hw_ = std::max(hw_, log_->log_start_offset()());
  hw_checkpointed_ = hw_;
}

void partition_state::checkpoint_high_watermark() {
  if (!epochs_ || hw_ == hw_checkpointed_) return;
  storage::offset_checkpoint cp(log_->dir() / hw_file);
  if (auto st = cp.write(storage::offset(hw_)); !st) {
    actor_log().warn("{}: high-watermark checkpoint not written: {}", who(), st.error().message());
    return;
  }
  hw_checkpointed_ = hw_;
  if (auto st = epochs_->truncate_from_start(log_->log_start_offset()); !st) {
    actor_log().warn("{}: leader-epoch cache not trimmed: {}", who(), st.error().message());
  }
}

replica_position partition_state::position() const {
  replica_position p;
  p.log_end_offset = log_->next_offset()();
  p.latest_epoch = epochs_ ? epochs_->latest_epoch().value_or(-1) : -1;
  p.high_watermark = hw_;
  return p;
}

int64_t partition_state::current_epoch_start() const {
  if (!epochs_ || epochs_->entries().empty()) return 0;
  return epochs_->entries().back().start_offset();
}

// --- leading ---

caf::result<bool> partition_state::lead(const leadership& l) {
  if (!settings_.replicated || !epochs_) {
    return make_error(errc::invalid_request, who() + " is not replicated");
  }
  const bool new_term = role_ != role::leader || l.leader_epoch != leader_epoch_;
  if (!new_term) {
    // The same term: a newer in-sync set, replica list or revision (an
    // older one, racing this leader's own committed write, is ignored). A
    // replica the controller added (an internal topic grown to its
    // replication factor) becomes a follower whose pulls count.
    if (l.revision < leadership_.revision) return true;
    leadership_ = l;
    tracker_.set_replicas(l.replicas, std::chrono::steady_clock::now());
    tracker_.set_isr(l.isr);
    advance_high_watermark();
    return true;
  }
  if (l.leader_epoch < leader_epoch_) {
    return make_error(errc::stale_leader_epoch, fmt::format("{}: epoch {} is older than {}", who(),
                                                            l.leader_epoch, leader_epoch_));
  }
  const int64_t end = log_->next_offset()();
  if (auto st = epochs_->assign(l.leader_epoch, storage::offset(end)); !st) {
    return from_storage(st.error(), who() + " leader-epoch cache");
  }
  role_ = role::leader;
  leader_epoch_ = l.leader_epoch;
  leader_id_ = l.self;
  leadership_ = l;
  tracker_.reset(l.self, l.replicas, l.isr, std::min(hw_, end), std::chrono::steady_clock::now());
  actor_log().info("{}: leading in epoch {} from offset {} (high watermark {}, in sync [{}])",
                   who(), leader_epoch_, end, hw_, fmt::join(l.isr, ","));
  advance_high_watermark();
  arm_tick();  // the follower checks
  return true;
}

void partition_state::advance_high_watermark() {
  if (role_ != role::leader) return;
  const int64_t before = hw_;
  hw_ = std::max(hw_, tracker_.update_high_watermark(log_->next_offset()()));
  if (hw_ == before) return;
  if (!replicated_waiters_.empty()) {
    auto done = std::partition(replicated_waiters_.begin(), replicated_waiters_.end(),
                               [&](const replicated_waiter& w) { return w.last_offset >= hw_; });
    std::vector<replicated_waiter> ready(std::make_move_iterator(done),
                                         std::make_move_iterator(replicated_waiters_.end()));
    replicated_waiters_.erase(done, replicated_waiters_.end());
    // The high watermark may have passed them only because the in-sync set
    // shrank below the minimum (followers dropped, not caught up): then
    // fewer copies than acks=all promises exist, and the producer must hear
    // so (Kafka's NOT_ENOUGH_REPLICAS_AFTER_APPEND). Its retry is refused
    // until the set is large enough again, then answered as a duplicate.
    const auto in_sync = tracker_.isr().size();
    const auto needed = static_cast<size_t>(leadership_.min_insync_replicas);
    for (auto& w : ready) {
      if (in_sync < needed) {
        w.promise.deliver(make_error(
            errc::not_enough_replicas,
            fmt::format("{}: offsets {}..{} written, but only {} of {} replicas in sync; acks=all "
                        "needs {}",
                        who(), w.reply.base_offset, w.reply.last_offset, in_sync,
                        leadership_.replicas.size(), needed)));
      } else {
        w.promise.deliver(w.reply);
      }
    }
  }
  wake_waiters();
}

caf::result<replica_fetch_reply> partition_state::replica_fetch(const replica_fetch_request& req,
                                                                caf::timespan max_wait) {
  if (role_ != role::leader) return not_leader_error();
  if (req.leader_epoch != leader_epoch_) {
    return make_error(errc::stale_leader_epoch,
                      fmt::format("{}: broker {} follows epoch {}, this leader's is {}", who(),
                                  req.replica_id, req.leader_epoch, leader_epoch_));
  }
  const int64_t end = log_->next_offset()();
  // Below the log start (retention deleted it) is not an error: the empty
  // answer carries the log start, where the follower restarts its log.
  if (req.fetch_offset > end) {
    return make_error(
        errc::offset_out_of_range,
        fmt::format("{}: broker {} fetches at {}, the leader holds [{}, {})", who(), req.replica_id,
                    req.fetch_offset, log_->log_start_offset()(), end));
  }
  tracker_.on_fetch(req.replica_id, req.fetch_offset, end, std::chrono::steady_clock::now());
  advance_high_watermark();
  if (!isr_write_in_flight_) {
    if (auto grown = tracker_.expanded(req.replica_id, current_epoch_start())) {
      propose_isr(std::move(*grown), "caught up");
    }
  }
  if (req.fetch_offset < end || max_wait.count() <= 0) {
    auto r = replica_read(req);
    if (!r) return r.error();
    return std::move(*r);
  }
  auto rp = self_->make_response_promise<replica_fetch_reply>();
  auto deadline = std::chrono::steady_clock::now() + max_wait;
  parked_replica_fetches_.push_back({deadline, req, rp});
  arm_wait_timer(deadline);
  return rp;
}

caf::expected<replica_fetch_reply> partition_state::replica_read(
    const replica_fetch_request& req) const {
  replica_fetch_reply out;
  out.high_watermark = hw_;
  out.log_start_offset = log_->log_start_offset()();
  out.log_end_offset = log_->next_offset()();
  if (req.fetch_offset < out.log_start_offset) return out;
  auto slice = log_->read(storage::offset(req.fetch_offset), req.max_bytes);
  if (!slice) {
    return from_storage(slice.error(),
                        fmt::format("{} replica fetch at {}", who(), req.fetch_offset));
  }
  if (slice->length > 0) {
    out.batches.resize(slice->length);
    auto st = slice->file->read_at(
        slice->position, {reinterpret_cast<uint8_t*>(out.batches.data()), out.batches.size()});
    if (!st) return from_storage(st.error(), who() + " replica fetch read");
  }
  // The epochs of what is sent: from the one covering the fetch offset to
  // the last that starts before the end of the batches.
  const int64_t data_end = slice->length > 0 ? slice->next_offset() : req.fetch_offset;
  const auto& entries = epochs_->entries();
  size_t first = 0;
  while (first + 1 < entries.size() && entries[first + 1].start_offset() <= req.fetch_offset) {
    ++first;
  }
  for (size_t i = first; i < entries.size(); ++i) {
    if (i > first && entries[i].start_offset() >= data_end) break;
    out.epochs.push_back({entries[i].epoch, entries[i].start_offset()});
  }
  return out;
}

void partition_state::wake_replica_fetches() {
  if (parked_replica_fetches_.empty()) return;
  auto parked = std::move(parked_replica_fetches_);
  parked_replica_fetches_.clear();
  for (auto& f : parked) {
    auto r = replica_read(f.request);
    if (r) {
      f.promise.deliver(std::move(*r));
    } else {
      f.promise.deliver(r.error());
    }
  }
}

void partition_state::expire_replica_fetches(std::chrono::steady_clock::time_point now) {
  auto due = std::partition(parked_replica_fetches_.begin(), parked_replica_fetches_.end(),
                            [&](const parked_replica_fetch& f) { return f.deadline > now; });
  std::vector<parked_replica_fetch> expired(std::make_move_iterator(due),
                                            std::make_move_iterator(parked_replica_fetches_.end()));
  parked_replica_fetches_.erase(due, parked_replica_fetches_.end());
  for (auto& f : expired) {
    auto r = replica_read(f.request);  // nothing new: an empty reply with the positions
    if (r) {
      f.promise.deliver(std::move(*r));
    } else {
      f.promise.deliver(r.error());
    }
  }
}

caf::result<epoch_end> partition_state::end_of_epoch(int32_t leader_epoch, int32_t epoch) const {
  if (role_ != role::leader) return not_leader_error();
  if (leader_epoch != leader_epoch_) {
    return make_error(errc::stale_leader_epoch,
                      fmt::format("{}: asked in epoch {}, this leader's is {}", who(), leader_epoch,
                                  leader_epoch_));
  }
  auto e = epochs_->end_offset_for(epoch, log_->next_offset());
  return epoch_end{e.leader_epoch, e.end_offset()};
}

void partition_state::replication_tick() {
  if (role_ != role::leader || isr_write_in_flight_) return;
  auto lag =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(leadership_.replica_lag);
  if (auto smaller = tracker_.shrunk(std::chrono::steady_clock::now(), lag)) {
    propose_isr(std::move(*smaller), "a follower lags");
  }
}

void partition_state::propose_isr(std::vector<int32_t> isr, const char* why) {
  if (!settings_.isr_writer) return;
  isr_write_in_flight_ = true;
  const int32_t epoch = leader_epoch_;
  actor_log().info("{}: in-sync set [{}] -> [{}] ({}), writing", who(),
                   fmt::join(tracker_.isr(), ","), fmt::join(isr, ","), why);
  self_
      ->request(settings_.isr_writer, isr_write_timeout, alter_isr_atom::value, settings_.topic,
                settings_.partition, epoch, isr, leadership_.revision)
      .then(
          [this, epoch, isr](int64_t revision) {
            isr_write_in_flight_ = false;
            if (role_ != role::leader || leader_epoch_ != epoch) return;
            if (revision > leadership_.revision) {
              leadership_.revision = revision;
              leadership_.isr = isr;
              tracker_.set_isr(isr);
            }
            actor_log().info("{}: in-sync set is [{}]", who(), fmt::join(isr, ","));
            advance_high_watermark();
          },
          [this](caf::error& e) {
            isr_write_in_flight_ = false;
            actor_log().warn("{}: in-sync set change not written: {}", who(), text_of(e));
          });
}

void partition_state::drop_leader_waiters(const caf::error& why) {
  for (auto& w : replicated_waiters_) w.promise.deliver(why);
  replicated_waiters_.clear();
  for (auto& f : parked_replica_fetches_) f.promise.deliver(why);
  parked_replica_fetches_.clear();
}

// --- following ---

caf::result<replica_position> partition_state::follow(int32_t leader_epoch, int32_t leader) {
  if (!settings_.replicated || !epochs_) {
    return make_error(errc::invalid_request, who() + " is not replicated");
  }
  if (leader_epoch < leader_epoch_) {
    return make_error(errc::stale_leader_epoch, fmt::format("{}: epoch {} is older than {}", who(),
                                                            leader_epoch, leader_epoch_));
  }
  const bool was_leader = role_ == role::leader;
  role_ = role::follower;
  leader_epoch_ = leader_epoch;
  leader_id_ = leader;
  if (was_leader || !replicated_waiters_.empty() || !parked_replica_fetches_.empty()) {
    drop_leader_waiters(not_leader_error());
  }
  if (was_leader) {
    actor_log().info("{}: stepped down in epoch {}; {}", who(), leader_epoch,
                     leader >= 0 ? fmt::format("broker {} leads", leader) : "no leader");
  }
  auto step =
      storage::first_truncation_step(epochs_->entries(), log_->next_offset(), storage::offset(hw_));
  if (!step.ask_epoch && leader >= 0) {
    if (auto err = truncate_log(step.truncate_to, "no leader epoch known here")) return err;
  }
  auto p = position();
  p.ask_epoch = step.ask_epoch.value_or(-1);
  return p;
}

caf::result<int64_t> partition_state::replica_append(int32_t leader_epoch, replica_fetch_reply& r) {
  if (role_ != role::follower || leader_epoch != leader_epoch_) {
    return make_error(errc::stale_leader_epoch,
                      fmt::format("{}: a fetch of epoch {} arrived in epoch {}", who(),
                                  leader_epoch, leader_epoch_));
  }
  if (r.batches.empty() && r.log_start_offset > log_->next_offset()()) {
    // The leader no longer holds what this replica would pull next: start
    // over, empty, at the leader's log start.
    actor_log().warn(
        "{}: the leader's log starts at {}, past this replica's end {}; restarting "
        "the log there",
        who(), r.log_start_offset, log_->next_offset()());
    if (auto st = log_->truncate_fully_and_start_at(storage::offset(r.log_start_offset)); !st) {
      auto err = from_storage(st.error(), who() + " restart at the leader's log start");
      stop_if_log_failed(err);
      return err;
    }
    if (auto st = epochs_->truncate_from_end(storage::offset(0)); !st) {
      return from_storage(st.error(), who() + " leader-epoch cache");
    }
    producers_.clear();
    rebuild_producer_state();
    hw_ = r.log_start_offset;
    return r.log_start_offset;
  }
  if (!r.batches.empty()) {
    std::span<const uint8_t> bytes{reinterpret_cast<const uint8_t*>(r.batches.data()),
                                   r.batches.size()};
    auto a = log_->append_replicated(bytes);
    if (!a) {
      auto err = from_storage(a.error(), who() + " replica append");
      stop_if_log_failed(err);
      return err;
    }
    storage::for_each_batch(bytes,
                            [&](const storage::batch_header& h, auto) { producers_.record(h); });
    if (!unflushed_since_) {
      unflushed_since_ = caf::make_timestamp();
      arm_tick();  // a time-based flush falls due
    }
    if (a->rolled > 0 || flush_due()) request_flush();
  }
  const int64_t end = log_->next_offset()();
  for (const auto& e : r.epochs) {
    if (e.start_offset >= end) break;  // no record of that epoch here yet
    auto latest = epochs_->latest_epoch();
    if (latest && e.epoch <= *latest) continue;
    if (auto st = epochs_->assign(e.epoch, storage::offset(e.start_offset)); !st) {
      return from_storage(st.error(), who() + " leader-epoch cache");
    }
  }
  hw_ = std::max(hw_, std::min(r.high_watermark, end));
  // The leader deleted records (retention, a compacting coordinator): so
  // does this replica, up to what it holds.
  if (r.log_start_offset > log_->log_start_offset()()) {
    auto to = std::min(r.log_start_offset, end);
    if (auto st = log_->advance_start(storage::offset(to)); !st) {
      auto err = from_storage(st.error(), who() + " follow the leader's log start");
      stop_if_log_failed(err);
      return err;
    }
  }
  return end;
}

caf::error partition_state::truncate_log(storage::offset to, const std::string& why) {
  const auto end = log_->next_offset();
  if (to >= end) return {};
  actor_log().warn("{}: truncating {} -> {}: {}", who(), end(), to(), why);
  if (auto st = log_->truncate(to); !st) {
    auto err = from_storage(st.error(), who() + " truncate");
    stop_if_log_failed(err);
    return err;
  }
  if (auto st = epochs_->truncate_from_end(log_->next_offset()); !st) {
    return from_storage(st.error(), who() + " leader-epoch cache");
  }
  // The producer table may hold batches that are gone: rebuild it (the
  // snapshot is used only when it covers no more than the log now holds).
  producers_.clear();
  rebuild_producer_state();
  hw_ = std::min(hw_, log_->next_offset()());
  return {};
}

caf::result<replica_position> partition_state::truncate_to_leader(int32_t leader_epoch,
                                                                  int32_t asked_epoch,
                                                                  const epoch_end& answer) {
  if (role_ != role::follower || leader_epoch != leader_epoch_) {
    return make_error(errc::stale_leader_epoch,
                      fmt::format("{}: a truncation of epoch {} arrived in epoch {}", who(),
                                  leader_epoch, leader_epoch_));
  }
  auto step = storage::next_truncation_step(
      epochs_->entries(), log_->next_offset(), storage::offset(hw_), asked_epoch,
      storage::epoch_end_offset{answer.epoch, storage::offset(answer.end_offset)});
  if (!step) return from_storage(step.error(), who() + " truncation");
  if (auto err = truncate_log(step->truncate_to,
                              fmt::format("the leader's epoch {} ends at {} (asked about {})",
                                          answer.epoch, answer.end_offset, asked_epoch))) {
    return err;
  }
  auto p = position();
  p.ask_epoch = step->ask_epoch.value_or(-1);
  return p;
}

}  // namespace actormq
