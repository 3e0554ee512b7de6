#include "actors/partition/partition_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iterator>

#include "actors/errc.h"
#include "actors/flush/flusher_actor.h"
#include "actors/logger.h"
#include "actors/retry/dead_letter_builder.h"
#include "actors/retry/retry_actor.h"
#include "storage/file_handle.h"
#include "storage/log_config.h"

namespace actormq {

namespace {
constexpr const char* snapshot_file = "producers.snapshot";
/// Bytes of the oldest batches a dead-letter-oldest step reads at most.
constexpr uint64_t trim_read_bytes = 1 << 20;
constexpr auto trim_timeout = std::chrono::seconds(30);
/// A full partition logs its refusals at most this often (they are counted).
constexpr auto full_warning_interval = std::chrono::seconds(1);
}  // namespace

std::string partition_state::who() const {
  return fmt::format("partition {}/{}", settings_.topic, settings_.partition);
}

void partition_state::init(self_ptr self, partition_settings settings,
                           std::shared_ptr<storage::log> log, caf::actor flusher) {
  self_ = self;
  settings_ = std::move(settings);
  log_ = std::move(log);
  flusher_ = std::move(flusher);
  last_housekeeping_ = caf::make_timestamp();
  rebuild_producer_state();
  if (settings_.replicated) init_replication();
  arm_tick();
}

partition_state::~partition_state() {
  if (!log_) return;
  // Produces waiting for dead-letter-oldest were appended: they wait for the
  // final flush like the others.
  for (auto& w : trim_waiters_) fsync_waiters_.push_back({w.reply.last_offset, w.reply, w.promise});
  trim_waiters_.clear();
  // A deleted topic's directory was moved away before its partitions were
  // stopped (topic_registry_state::retire) and goes next: nothing is kept
  // for a next start, and a write there would fail.
  std::error_code ec;
  const bool deleted = !std::filesystem::exists(log_->dir(), ec) && !ec;
  // Pending fsync waiters get an answer only if the final flush works. A
  // failed log is not flushed (a sync after a failed one proves nothing).
  storage::status st;
  if (!deleted) st = log_->flush();
  for (auto& w : fsync_waiters_) {
    if (deleted) {
      w.promise.deliver(make_error(errc::unknown_topic, who() + ": topic deleted"));
    } else if (log_->failed() && flush_failure_) {
      w.promise.deliver(flush_failure_);
    } else if (st) {
      w.promise.deliver(w.reply);
    } else {
      w.promise.deliver(from_storage(st.error(), "flush at close"));
    }
  }
  for (auto& f : parked_fetches_) answer_fetch(f);  // nothing new: an empty slice
  if (settings_.replicated) {
    drop_leader_waiters(make_error(errc::shutting_down, who() + " is closing"));
    if (!deleted) checkpoint_high_watermark();
  }
  if (deleted) {
    log_->abandon();
    actor_log().info("{}: closed (topic deleted)", who());
    return;
  }
  if (log_->failed()) {
    // No snapshot and no clean-shutdown marker: the restart recovers.
    (void)log_->close();
    actor_log().info("{}: closed after a write error; its reopen runs recovery", who());
    return;
  }
  write_producer_snapshot();
  if (auto cs = log_->close(); !cs) {
    actor_log().error("{}: close failed: {}", who(), cs.error().message());
  }
}

void partition_state::rebuild_producer_state() {
  // Start from the snapshot, then replay batch headers appended after it.
  int64_t from = log_->log_start_offset()();
  if (auto bytes = storage::read_file(log_->dir() / snapshot_file)) {
    auto covered = producers_.decode(*bytes);
    if (covered && *covered <= log_->next_offset()() && *covered >= from) {
      from = *covered;
    } else {
      producers_.clear();
    }
  }
  std::string buf;
  int64_t at = from;
  while (at < log_->next_offset()()) {
    auto slice = log_->read(storage::offset(at), 4 << 20);
    if (!slice || slice->length == 0) break;
    buf.resize(slice->length);
    auto st =
        slice->file->read_at(slice->position, {reinterpret_cast<uint8_t*>(buf.data()), buf.size()});
    if (!st) break;
    storage::for_each_batch({reinterpret_cast<const uint8_t*>(buf.data()), buf.size()},
                            [&](const storage::batch_header& h, auto) { producers_.record(h); });
    at = slice->next_offset();
  }
  snapshot_covered_ = at;
}

void partition_state::write_producer_snapshot() {
  int64_t covered = log_->next_offset()();
  if (covered == snapshot_covered_) return;
  auto bytes = producers_.encode(covered);
  auto st = storage::write_file_atomic(
      log_->dir() / snapshot_file, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  if (st) {
    snapshot_covered_ = covered;
  } else {
    actor_log().warn("{}: producer snapshot not written: {}", who(), st.error().message());
  }
}

caf::result<produce_reply> partition_state::produce(produce_request& req) {
  if (flush_failure_) return flush_failure_;
  if (!leads()) return not_leader_error();
  const bool wait_replicas = settings_.replicated && req.acks == acks_level::all;
  if (wait_replicas &&
      tracker_.isr().size() < static_cast<size_t>(leadership_.min_insync_replicas)) {
    return make_error(errc::not_enough_replicas,
                      fmt::format("{}: {} of the {} replicas in sync; acks=all needs {}", who(),
                                  tracker_.isr().size(), leadership_.replicas.size(),
                                  leadership_.min_insync_replicas));
  }
  auto& buf = *req.batches;
  std::span<uint8_t> bytes{reinterpret_cast<uint8_t*>(buf.data()), buf.size()};
  // Every batch is validated (header, CRC, records) before the first one's
  // producer fields are trusted, and only once: the append does not check
  // again (storage/validated_batches.h).
  auto checked = log_->validate(bytes);
  if (!checked) {
    auto err = from_storage(checked.error(), who() + " produce");
    stop_if_log_failed(err);
    return err;
  }
  const auto& first = checked->first();
  const int64_t records = checked->record_count();
  // Idempotence: one idempotent batch per request (the client sends so).
  if (first.producer_id >= 0) {
    if (checked->batches().size() != 1) {
      return make_error(errc::invalid_request, "an idempotent produce carries exactly one batch");
    }
    auto c = producers_.check(first);
    switch (c.what) {
      case producer_state_table::verdict::duplicate:
        ++duplicate_batches_;
        if (wait_replicas && c.last_offset >= hw_) {
          // The original is not replicated yet: its retry waits as it would.
          auto rp = self_->make_response_promise<produce_reply>();
          replicated_waiters_.push_back({c.last_offset, {c.base_offset, c.last_offset, true}, rp});
          return rp;
        }
        return produce_reply{c.base_offset, c.last_offset, true};
      case producer_state_table::verdict::out_of_order:
        ++out_of_order_batches_;
        return make_error(errc::out_of_order_sequence,
                          fmt::format("producer {} sequence {} is out of order", first.producer_id,
                                      first.base_sequence));
      case producer_state_table::verdict::fenced:
        return make_error(
            errc::invalid_producer_epoch,
            fmt::format("producer {} epoch {} is fenced", first.producer_id, first.producer_epoch));
      case producer_state_table::verdict::append:
        break;
    }
  }
  if (auto err = check_bound(records)) return err;
  auto r = log_->append(std::move(*checked));
  if (!r) {
    auto err = from_storage(r.error(), who() + " append");
    stop_if_log_failed(err);
    return err;
  }
  storage::for_each_batch(bytes,
                          [&](const storage::batch_header& h, auto) { producers_.record(h); });
  produce_reply reply{r->base_offset(), r->last_offset(), false};
  if (!unflushed_since_) {
    unflushed_since_ = caf::make_timestamp();
    arm_tick();  // a time-based flush falls due
  }
  if (settings_.replicated) {
    wake_replica_fetches();
    advance_high_watermark();  // a leader alone in its in-sync set
  } else {
    wake_waiters();
  }
  // A roll leaves the closed segment to the flusher (off this thread).
  if (req.acks == acks_level::fsync || r->rolled > 0 || flush_due()) request_flush();
  if (settings_.max_messages > 0 && settings_.when_full == full_policy::dead_letter_oldest &&
      message_count() > settings_.max_messages) {
    auto rp = self_->make_response_promise<produce_reply>();
    trim_waiters_.push_back({log_->next_offset()() - settings_.max_messages, reply, req.acks, rp});
    trim();
    return rp;
  }
  if (req.acks == acks_level::fsync && log_->flushed_offset()() <= reply.last_offset) {
    auto rp = self_->make_response_promise<produce_reply>();
    fsync_waiters_.push_back({reply.last_offset, reply, rp});
    return rp;
  }
  if (wait_replicas && reply.last_offset >= hw_) {
    auto rp = self_->make_response_promise<produce_reply>();
    replicated_waiters_.push_back({reply.last_offset, reply, rp});
    return rp;
  }
  return reply;
}

int64_t partition_state::message_count() const {
  return log_->next_offset()() - log_->log_start_offset()();
}

caf::error partition_state::check_bound(int64_t n) {
  const int64_t max = settings_.max_messages;
  if (max <= 0) return {};
  const int64_t count = message_count();
  std::string why;
  if (n > max) {
    why = fmt::format("a produce of {} messages exceeds max_messages {}", n, max);
  } else if (count + n <= max) {
    return {};
  } else if (settings_.when_full == full_policy::reject_new) {
    why = fmt::format("it holds {} of max_messages {} (full_policy reject-new)", count, max);
  } else if (!trim_error_.empty()) {
    why = fmt::format("it holds {} of max_messages {} and its oldest cannot be dead-lettered: {}",
                      count, max, trim_error_);
  } else {
    return {};  // dead-letter-oldest makes room after the append
  }
  if (settings_.metrics) {
    settings_.metrics->add(queue_full_metric, {{"topic", settings_.topic},
                                               {"partition", std::to_string(settings_.partition)}});
  }
  ++refused_since_warning_;
  auto now = caf::make_timestamp();
  if (now - last_full_warning_ >= full_warning_interval) {
    actor_log().warn("{}: queue full: refused {} produce(s) since the last warning: {}", who(),
                     refused_since_warning_, why);
    last_full_warning_ = now;
    refused_since_warning_ = 0;
  }
  return make_error(errc::queue_full, fmt::format("{} is full: {}", who(), why));
}

void partition_state::trim() {
  if (trim_in_flight_ || settings_.max_messages <= 0) return;
  const int64_t start = log_->log_start_offset()();
  const int64_t target = log_->next_offset()() - settings_.max_messages;
  if (target <= start) {
    trim_error_.clear();
    return answer_trim_waiters();
  }
  if (!settings_.dead_letters) return trim_failed("no dead-letter topic");
  auto slice = log_->read(storage::offset(start), trim_read_bytes);
  if (!slice) return trim_failed("read oldest: " + slice.error().message());
  auto bytes = storage::copy_bytes(*slice);
  if (!bytes) return trim_failed("read oldest: " + bytes.error().message());
  const std::string& buf = *bytes;
  // The same record the RETRY actor's dead letters carry, group "".
  auto out = std::make_shared<std::string>();
  int64_t next = start;
  auto now = storage::system_now()();
  auto why = fmt::format("partition full (max_messages {})", settings_.max_messages);
  storage::for_each_batch(
      {reinterpret_cast<const uint8_t*>(buf.data()), buf.size()},
      [&](const storage::batch_header&, auto batch) {
        (void)storage::for_each_record(batch, [&](const storage::record_view& r) {
          auto off = r.record_offset();
          if (off < next || off >= target) return;
          auto info = retry::read_delivery_info(r, settings_.topic,
                                                static_cast<int32_t>(settings_.partition));
          out->append(retry::build_dead_letter_batch(r, info, retry::dead_letter_reason::queue_full,
                                                     "", why, now));
          next = off + 1;
        });
      });
  if (next == start) {
    // Nothing decodable at the start (a control batch, say): step over the slice.
    next = std::min(slice->next_offset(), target);
  }
  const int64_t moved = static_cast<int64_t>(out->empty() ? 0 : next - start);
  auto advance = [this, start, next, moved] {
    trim_in_flight_ = false;
    if (auto st = log_->advance_start(storage::offset(next)); !st) {
      if (stop_if_log_failed(from_storage(st.error(), who() + " advance the log start"))) return;
      return trim_failed(
          fmt::format("advance the log start to {}: {}", next, st.error().message()));
    }
    trim_error_.clear();
    if (moved > 0) {
      actor_log().warn(
          "{}: queue full: dead-lettered offsets [{}, {}) to {}.dlq (reason queue_full)", who(),
          start, next, settings_.topic);
      if (settings_.metrics) {
        settings_.metrics->add(
            dead_letters_metric,
            {{"topic", settings_.topic}, {"group", ""}, {"reason", "queue_full"}},
            static_cast<uint64_t>(moved));
      }
    }
    trim();
  };
  trim_in_flight_ = true;
  if (out->empty()) return advance();
  // The dead letters are durable (acks fsync) before the start moves past
  // them: a crash in between leaves them in both places, never in neither.
  self_
      ->request(settings_.dead_letters, trim_timeout, produce_atom::value,
                produce_request{out, acks_level::fsync})
      .then([advance](produce_reply&) { advance(); },
            [this](caf::error& e) {
              trim_in_flight_ = false;
              trim_failed("produce to " + settings_.topic + ".dlq: " + text_of(e));
            });
}

void partition_state::trim_failed(std::string why) {
  if (trim_error_ != why) actor_log().error("{}: dead-letter-oldest failed: {}", who(), why);
  trim_error_ = std::move(why);
  arm_tick();  // the retry
  // The produces were appended: answer them. The next tick tries again, and
  // produces past the bound are refused with queue_full until a trim succeeds.
  for (auto& w : trim_waiters_) answer(w.reply, w.acks, w.promise);
  trim_waiters_.clear();
}

void partition_state::answer_trim_waiters() {
  auto start = log_->log_start_offset()();
  auto done = std::partition(trim_waiters_.begin(), trim_waiters_.end(),
                             [&](const trim_waiter& w) { return w.start > start; });
  std::vector<trim_waiter> ready(std::make_move_iterator(done),
                                 std::make_move_iterator(trim_waiters_.end()));
  trim_waiters_.erase(done, trim_waiters_.end());
  for (auto& w : ready) answer(w.reply, w.acks, w.promise);
}

void partition_state::answer(produce_reply reply, acks_level acks,
                             caf::typed_response_promise<produce_reply> rp) {
  if (acks == acks_level::fsync && log_->flushed_offset()() <= reply.last_offset) {
    fsync_waiters_.push_back({reply.last_offset, reply, rp});
    request_flush();
    return;
  }
  if (settings_.replicated && acks == acks_level::all && reply.last_offset >= hw_) {
    replicated_waiters_.push_back({reply.last_offset, reply, rp});
    return;
  }
  rp.deliver(reply);
}

bool partition_state::flush_due() const {
  const auto& fp = settings_.flush;
  if (log_->unflushed_messages() == 0) return false;
  return fp.every_messages > 0 && log_->unflushed_messages() >= fp.every_messages;
}

void partition_state::request_flush() {
  if (flush_in_flight_) return;  // the reply re-checks and issues the next one
  auto plan = log_->sync_target();
  if (plan.up_to() <= log_->flushed_offset() && plan.closed == 0) return;
  flush_in_flight_ = true;
  flush_ticket_ = plan.ticket();
  caf::anon_send(flusher_, flush_atom::value,
                 sync_job{std::move(plan), caf::actor_cast<caf::strong_actor_ptr>(self_)});
}

bool partition_state::stop_if_log_failed(const caf::error& err) {
  if (!log_->failed()) return false;
  if (flush_failure_) return true;  // stopping already
  actor_log().error("{}: {}; the log refuses writes until reopened: restarting the partition",
                    who(), text_of(err));
  flush_failure_ =
      make_error(code_of(err) == errc::none ? errc::storage_error : code_of(err),
                 fmt::format("{} (the partition restarts and recovers; retry)", text_of(err)));
  for (auto& w : fsync_waiters_) w.promise.deliver(flush_failure_);
  fsync_waiters_.clear();
  self_->quit(flush_failure_);
  return true;
}

void partition_state::on_flushed(int64_t up_to, const caf::error& err) {
  flush_in_flight_ = false;
  if (err) {
    // After a failed fdatasync the page cache state is unknown (fsyncgate):
    // the log refuses writes, and the registry restarts this partition,
    // whose reopen re-runs recovery.
    log_->fail();
    stop_if_log_failed(err);
    return;
  }
  if (up_to == flush_ticket_.up_to()) log_->mark_flushed(flush_ticket_);
  if (log_->flushed_offset() >= log_->next_offset()) unflushed_since_.reset();
  auto done = std::partition(fsync_waiters_.begin(), fsync_waiters_.end(),
                             [&](const fsync_waiter& w) { return w.last_offset >= up_to; });
  for (auto it = done; it != fsync_waiters_.end(); ++it) it->promise.deliver(it->reply);
  fsync_waiters_.erase(done, fsync_waiters_.end());
  if (!fsync_waiters_.empty() || flush_due()) request_flush();
  arm_tick();  // what was appended meanwhile falls due in its turn
}

caf::expected<fetch_reply> partition_state::read(const fetch_request& req) const {
  const int64_t hw = readable_end();
  auto end = req.to_log_end ? log_->next_offset()() : hw;
  auto slice = settings_.replicated
                   ? log_->read(storage::offset(req.offset), req.max_bytes, storage::offset(end))
                   : log_->read(storage::offset(req.offset), req.max_bytes);
  if (!slice) {
    return from_storage(slice.error(),
                        fmt::format("{} fetch at {} (log holds [{}, {}))", who(), req.offset,
                                    log_->log_start_offset()(), log_->next_offset()()));
  }
  return fetch_reply{std::move(*slice), hw, log_->log_start_offset()()};
}

caf::result<fetch_reply> partition_state::fetch(const fetch_request& req) const {
  if (!leads() && !(req.local_replica && !req.to_log_end)) return not_leader_error();
  auto r = read(req);
  if (!r) return r.error();
  return std::move(*r);
}

caf::result<fetch_reply> partition_state::fetch_wait(const fetch_request& req,
                                                     caf::timespan max_wait) {
  // Only a fetch at the very end parks; anything else answers now (data,
  // or offset_out_of_range). Replicated: the end consumers see is the high
  // watermark, and a fetch between it and the log end waits too.
  if (!leads()) return not_leader_error();
  const int64_t end = readable_end();
  const bool at_end = settings_.replicated
                          ? req.offset >= end && req.offset <= log_->next_offset()()
                          : req.offset == end;
  if (!at_end || max_wait.count() <= 0) return fetch(req);
  auto rp = self_->make_response_promise<fetch_reply>();
  auto deadline = std::chrono::steady_clock::now() + max_wait;
  parked_fetches_.push_back({deadline, req, rp});
  arm_wait_timer(deadline);
  return rp;
}

void partition_state::unpark(uint64_t token) {
  if (token == 0) return;
  auto mine = std::partition(parked_fetches_.begin(), parked_fetches_.end(),
                             [&](const parked_fetch& f) { return f.request.park_token != token; });
  std::vector<parked_fetch> now(std::make_move_iterator(mine),
                                std::make_move_iterator(parked_fetches_.end()));
  parked_fetches_.erase(mine, parked_fetches_.end());
  for (auto& f : now) answer_fetch(f);
}

void partition_state::arm_wait_timer(std::chrono::steady_clock::time_point deadline) {
  if (wait_timer_ && *wait_timer_ <= deadline) return;  // an earlier one will re-arm
  wait_timer_ = deadline;
  auto in = std::chrono::duration_cast<caf::timespan>(deadline - std::chrono::steady_clock::now());
  self_->delayed_send(self_, std::max(caf::timespan{0}, in), expire_atom::value, ++wait_timer_id_);
}

void partition_state::wake_waiters() {
  auto next = readable_end();
  if (!parked_fetches_.empty()) {
    auto ready = std::partition(parked_fetches_.begin(), parked_fetches_.end(),
                                [&](const parked_fetch& f) { return f.request.offset >= next; });
    std::vector<parked_fetch> woken(std::make_move_iterator(ready),
                                    std::make_move_iterator(parked_fetches_.end()));
    parked_fetches_.erase(ready, parked_fetches_.end());
    for (auto& f : woken) answer_fetch(f);
  }
}

void partition_state::on_wait_expired(uint64_t timer) {
  auto now = std::chrono::steady_clock::now();
  // An older timer (replaced by an earlier deadline) may fire too: it only
  // finds less to do. The latest one clears the armed state, so the next
  // deadline gets a timer even if this one fired a little early.
  if (timer == wait_timer_id_) wait_timer_.reset();
  auto due_fetches = std::partition(parked_fetches_.begin(), parked_fetches_.end(),
                                    [&](const parked_fetch& f) { return f.deadline > now; });
  std::vector<parked_fetch> expired(std::make_move_iterator(due_fetches),
                                    std::make_move_iterator(parked_fetches_.end()));
  parked_fetches_.erase(due_fetches, parked_fetches_.end());
  for (auto& f : expired) answer_fetch(f);  // an empty slice, or whatever arrived meanwhile
  expire_replica_fetches(now);
  std::optional<std::chrono::steady_clock::time_point> next;
  for (const auto& f : parked_fetches_) next = next ? std::min(*next, f.deadline) : f.deadline;
  for (const auto& f : parked_replica_fetches_) {
    next = next ? std::min(*next, f.deadline) : f.deadline;
  }
  if (next) arm_wait_timer(*next);
}

void partition_state::answer_fetch(parked_fetch& f) {
  auto r = read(f.request);
  if (r) {
    f.promise.deliver(std::move(*r));
  } else {
    f.promise.deliver(r.error());
  }
}

partition_offsets partition_state::offsets() const {
  return {log_->log_start_offset()(), readable_end(), log_->size_bytes(), log_->next_offset()()};
}

caf::result<int64_t> partition_state::offset_for_time(int64_t ts) const {
  if (ts == -1) return log_->log_start_offset()();
  if (ts == -2) return readable_end();
  auto o = log_->offset_for_timestamp(storage::timestamp_ms(ts));
  if (!o) return from_storage(o.error(), who() + " offset for timestamp");
  return std::min((*o)(), readable_end());
}

caf::result<int64_t> partition_state::delete_records(int64_t before) {
  if (!leads()) return not_leader_error();
  const int64_t to = std::min(before, readable_end());
  if (to > log_->log_start_offset()()) {
    if (auto st = log_->advance_start(storage::offset(to)); !st) {
      auto err = from_storage(st.error(), who() + " delete records");
      stop_if_log_failed(err);
      return err;
    }
    actor_log().debug("{}: records below {} deleted", who(), to);
  }
  return log_->log_start_offset()();
}

void partition_state::on_tick(uint64_t id) {
  if (!timer_.fired(id)) return;  // replaced by an earlier timer, which ran
  tick();
  if (!flush_failure_) arm_tick();
}

void partition_state::arm_tick() {
  const auto sys_now = caf::make_timestamp();
  auto until = [&](caf::timestamp t) { return std::max(caf::timespan{0}, t - sys_now); };
  auto in = std::min(settings_.idle_tick_interval,
                     until(last_housekeeping_ + settings_.housekeeping_interval));
  if (!flush_in_flight_) {  // its reply arms again
    const auto& fp = settings_.flush;
    if (fp.every_ms > 0 && unflushed_since_) {
      // Overdue (the last tick could not start it): retried, never a busy loop.
      auto due = until(*unflushed_since_ + std::chrono::milliseconds(fp.every_ms));
      in = std::min(in, due.count() > 0 ? due : settings_.tick_interval);
    }
    if (log_->closed_unsynced()) in = std::min(in, settings_.tick_interval);
  }
  if (!trim_in_flight_ && !trim_error_.empty()) in = std::min(in, settings_.tick_interval);
  if (settings_.replicated && role_ == role::leader) in = std::min(in, follower_check_interval());
  timer_.arm(self_, in);
}

caf::timespan partition_state::follower_check_interval() const {
  // A quarter of the lag (Kafka checks at half of replica.lag.time.max.ms),
  // within [tick_interval, idle_tick_interval] (the retry interval wins).
  return std::max(settings_.tick_interval,
                  std::min(leadership_.replica_lag / 4, settings_.idle_tick_interval));
}

void partition_state::tick() {
  // Any write error not met on a produce path (a roll's sync, say). Checked
  // before the error is built: this runs every tick of every partition.
  if (log_->failed()) {
    stop_if_log_failed(make_error(errc::storage_error, who() + ": an earlier write failed"));
    return;
  }
  const auto& fp = settings_.flush;
  auto now = caf::make_timestamp();
  if ((fp.every_ms > 0 && unflushed_since_ &&
       now - *unflushed_since_ >= std::chrono::milliseconds(fp.every_ms)) ||
      log_->closed_unsynced()) {
    request_flush();  // closed_unsynced: a roll by retention or replication
    // Nothing left to sync (it was, without a reply here): not due again.
    if (!flush_in_flight_ && log_->flushed_offset() >= log_->next_offset()) {
      unflushed_since_.reset();
    }
  }
  if (now - last_housekeeping_ >= settings_.housekeeping_interval) {
    last_housekeeping_ = now;
    if (auto n = log_->apply_retention(); !n) {
      if (stop_if_log_failed(from_storage(n.error(), who() + " retention"))) return;
      actor_log().warn("{}: retention failed: {}", who(), n.error().message());
    }
    write_producer_snapshot();
    if (settings_.replicated) checkpoint_high_watermark();
  }
  if (!trim_in_flight_ && !trim_error_.empty()) trim();
  if (settings_.replicated) replication_tick();
}

}  // namespace actormq
