#include "actors/retry/retry_state.h"

#include <fmt/format.h>

#include "actors/errc.h"
#include "actors/logger.h"
#include "actors/retry/dead_letter_builder.h"
#include "actors/retry/retry_topics.h"
#include "storage/log_config.h"
#include "storage/record_batch.h"

namespace actormq {

namespace {

constexpr auto request_timeout = std::chrono::seconds(30);
/// Internal group whose committed offset on a DLQ is its re-drive cursor.
constexpr std::string_view redrive_group = "__redrive";
/// Bytes read from a DLQ per re-drive chunk.
constexpr uint32_t redrive_chunk_bytes = 256 << 10;

/// Delivers to a response promise; returns void so handlers can `return deliver(...)`.
template <typename Promise, typename T>
void deliver(Promise& rp, T&& value) {
  rp.deliver(std::forward<T>(value));
}

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

struct retry_state::nack_job {
  explicit nack_job(std::shared_ptr<int64_t> c) : running(std::move(c)) { ++*running; }
  ~nack_job() { --*running; }
  nack_job(const nack_job&) = delete;
  nack_job& operator=(const nack_job&) = delete;
  nack_request req;
  caf::typed_response_promise<nack_reply> rp;
  nack_reply reply;
  size_t next = 0;
  /// The state's count of running nack jobs (shared: a job may outlive
  /// the state in a callback CAF drops after the actor's exit).
  std::shared_ptr<int64_t> running;
};

struct retry_state::redrive_job {
  explicit redrive_job(std::shared_ptr<int64_t> c) : running(std::move(c)) { ++*running; }
  ~redrive_job() { --*running; }
  redrive_job(const redrive_job&) = delete;
  redrive_job& operator=(const redrive_job&) = delete;
  redrive_request req;
  caf::typed_response_promise<redrive_reply> rp;
  redrive_reply reply;
  int64_t pos = 0;
  int64_t end = 0;
  std::shared_ptr<int64_t> running;
};

int64_t retry_state::now_ms() {
  return storage::system_now()();
}

caf::error retry_state::init(self_ptr self, retry_actor_settings settings) {
  self_ = self;
  settings_ = std::move(settings);
  settings_.cluster.registry = settings_.registry;
  reader_ = partition_reader(settings_.cluster);
  writer_ = partition_writer(settings_.cluster);
  read_legacy_cursors();
  return {};
}

void retry_state::read_legacy_cursors() {
  std::error_code ec;
  if (!std::filesystem::exists(settings_.dir / "offsets.log", ec)) return;
  storage::recovery_report report;
  auto store = storage::offset_store::open(settings_.dir, {}, &report);
  if (!store) {
    actor_log().error("retry: cannot read the previous release's re-drive cursors in {}: {}",
                      settings_.dir.string(), store.error().message());
    return;
  }
  for (auto& [k, v] : (*store)->fetch_group(std::string(redrive_group))) {
    legacy_cursors_[k.first] = v.next_offset.value();
  }
  (void)(*store)->close();
  if (legacy_cursors_.empty()) return drop_legacy_cursors();
  actor_log().info(
      "retry: {} re-drive cursor(s) in the previous release's format under {}; each moves to "
      "{} (group {}) with its next re-drive",
      legacy_cursors_.size(), settings_.dir.string(), "__consumer_offsets", redrive_group);
  // Alone this broker coordinates every group: move them now.
  for (const auto& [name, next] : legacy_cursors_) {
    commit_cursor(name, next, [dlq = name](caf::error e) {  // clang 14: no capture of a binding
      if (e) {
        actor_log().warn("retry: the re-drive cursor of {} stays in the old file for now: {}", dlq,
                         text_of(e));
      }
    });
  }
}

void retry_state::drop_legacy_cursors() {
  std::error_code ec;
  std::filesystem::remove_all(settings_.dir, ec);
  if (ec) actor_log().warn("retry: cannot remove {}: {}", settings_.dir.string(), ec.message());
}

void retry_state::close() {}

void retry_state::with_redrive_group(std::function<void(caf::expected<group_actor>)> k) {
  self_
      ->request(settings_.coordinator, request_timeout, group_atom::value,
                std::string(redrive_group))
      .then([k](group_actor& g) { k(std::move(g)); }, [k](caf::error& e) { k(std::move(e)); });
}

void retry_state::cursor(const std::string& dlq, std::function<void(caf::expected<int64_t>)> k) {
  with_redrive_group([=, this](caf::expected<group_actor> g) {
    if (!g) return k(g.error());
    std::vector<group::topic_partition> tps{{dlq, 0}};
    self_->request(*g, request_timeout, committed_atom::value, tps)
        .then(
            [=, this](std::vector<committed_offset>& c) {
              int64_t at = c.empty() ? -1 : c[0].offset;
              if (auto it = legacy_cursors_.find(dlq); it != legacy_cursors_.end()) {
                at = std::max(at, it->second);
              }
              k(std::max<int64_t>(at, 0));
            },
            [k](caf::error& e) { k(std::move(e)); });
  });
}

void retry_state::commit_cursor(const std::string& dlq, int64_t next, done k) {
  with_redrive_group([=, this](caf::expected<group_actor> g) {
    if (!g) return k(g.error());
    std::vector<committed_offset> offsets{{dlq, 0, next, ""}};
    self_->request(*g, request_timeout, commit_atom::value, std::string(), int32_t{-1}, offsets)
        .then(
            [=, this](bool) {
              if (legacy_cursors_.erase(dlq) > 0 && legacy_cursors_.empty()) {
                actor_log().info("retry: the previous release's re-drive cursors are in {}",
                                 "__consumer_offsets");
                drop_legacy_cursors();
              }
              k({});
            },
            [k](caf::error& e) { k(std::move(e)); });
  });
}

std::vector<metrics_registry::sample> retry_state::stats() const {
  return settings_.metrics->snapshot();
}

caf::result<int64_t> retry_state::cursor(const std::string& dlq) {
  auto rp = self_->make_response_promise<int64_t>();
  cursor(dlq, [rp](caf::expected<int64_t> c) mutable {
    if (c)
      rp.deliver(*c);
    else
      rp.deliver(c.error());
  });
  return rp;
}

// --- topics and partitions ---

void retry_state::read_batch(const std::string& topic, uint32_t partition, int64_t offset,
                             std::function<void(caf::expected<std::shared_ptr<std::string>>)> k) {
  reader_.read(self_, topic, partition, offset, redrive_chunk_bytes, request_timeout,
               [=](caf::expected<std::shared_ptr<std::string>> r) {
                 if (r && (*r)->empty()) {
                   return k(make_error(
                       errc::offset_out_of_range,
                       fmt::format("{}/{} has no record at offset {}", topic, partition, offset)));
                 }
                 k(std::move(r));
               });
}

void retry_state::partition_count(const std::string& topic, count_fn k) {
  if (replicated()) {
    auto n = settings_.cluster_topics->count(topic);
    if (!n || *n <= 0) {
      return k(make_error(errc::unknown_topic, fmt::format("no topic named '{}'", topic)));
    }
    return k(static_cast<uint32_t>(*n));
  }
  topics_.with(self_, settings_.registry, topic, [k](caf::expected<topic_handle> h) {
    if (!h) return k(h.error());
    k(static_cast<uint32_t>(h->partitions.size()));
  });
}

void retry_state::ensure_topic(const std::string& topic, uint32_t partitions, count_fn k) {
  partition_count(topic, [=, this](caf::expected<uint32_t> n) {
    if (n || code_of(n.error()) != errc::unknown_topic) return k(std::move(n));
    if (replicated()) {
      // Topics of a cluster are the controller's to create; the consumer
      // creates its retry and dead-letter topics when it subscribes.
      return k(make_error(errc::unknown_topic,
                          fmt::format("no topic named '{}': in a cluster the consumer creates its "
                                      "retry and dead-letter topics when it subscribes (or create "
                                      "it with `actormq topic create`)",
                                      topic)));
    }
    auto cfg = settings_.topic_defaults;
    cfg.partitions = std::max<uint32_t>(partitions, 1);
    self_->request(settings_.registry, request_timeout, create_atom::value, topic, cfg)
        .then(
            [=, this](topic_handle& created) {
              actor_log().info("retry: created topic {} ({} partitions)", topic,
                               created.partitions.size());
              auto count = static_cast<uint32_t>(created.partitions.size());
              topics_.put(topic, std::move(created));
              k(count);
            },
            [=, this](caf::error& e) {
              if (code_of(e) != errc::topic_exists) return k(std::move(e));
              partition_count(topic, k);  // created meanwhile
            });
  });
}

void retry_state::produce(const std::string& topic, uint32_t partition, std::string batch, done k) {
  partition_count(topic, [=, this](caf::expected<uint32_t> n) mutable {
    if (!n) return k(n.error());
    auto acks = replicated() ? acks_level::all : acks_level::fsync;
    writer_.produce(self_, topic, partition % std::max<uint32_t>(*n, 1),
                    std::make_shared<std::string>(std::move(batch)), acks, request_timeout,
                    [=, this](caf::expected<produce_reply> r) {
                      if (r) return k({});
                      if (r.error().category() != errc_category) topics_.forget(topic);
                      k(r.error());
                    });
  });
}

void retry_state::produce_all(std::shared_ptr<std::vector<output>> outs, size_t i, done k) {
  if (i == outs->size()) return k({});
  auto& o = (*outs)[i];
  produce(o.topic, o.partition, std::move(o.batch), [=, this](caf::error e) {
    if (e) return k(std::move(e));
    produce_all(outs, i + 1, k);
  });
}

void retry_state::raise_alert(const std::string& dlq, const std::string& group,
                              retry::dead_letter_reason reason, const retry::delivery_info& info,
                              const std::string& error) {
  auto r = retry::to_string(reason);
  actor_log().warn(
      "retry: dead letter reason={} topic={} group={} partition={} offset={} deliveries={} "
      "dlq={} error='{}'",
      r, info.origin.topic, group, info.origin.partition, info.origin.offset, info.delivery_count,
      dlq, error);
  settings_.metrics->add(dead_letters_metric,
                         {{"topic", info.origin.topic}, {"group", group}, {"reason", r}});
  if (settings_.alerts) {
    retry::alert a;
    a.env = {{"AMQ_REASON", r},
             {"AMQ_TOPIC", info.origin.topic},
             {"AMQ_GROUP", group},
             {"AMQ_DLQ_TOPIC", dlq},
             {"AMQ_PARTITION", std::to_string(info.origin.partition)},
             {"AMQ_OFFSET", std::to_string(info.origin.offset)},
             {"AMQ_DELIVERIES", std::to_string(info.delivery_count)},
             {"AMQ_ERROR", error},
             {"AMQ_TIME_MS", std::to_string(now_ms())}};
    if (!settings_.alerts->fire(std::move(a))) {
      actor_log().warn("retry: alert hook queue full; alert for {} dropped", dlq);
    }
  }
}

// --- nack ---

caf::result<nack_reply> retry_state::nack(nack_request req) {
  if (auto why = invalid_topic_name(req.group, true)) {
    return make_error(errc::invalid_request, "group name: " + *why);
  }
  for (const auto& it : req.items) {
    if (!it.reason.empty() && !retry::parse_reason(it.reason)) {
      return make_error(errc::invalid_request, "unknown dead-letter reason '" + it.reason + "'");
    }
  }
  auto job = std::make_shared<nack_job>(running_nacks_);
  job->req = std::move(req);
  job->rp = self_->make_response_promise<nack_reply>();
  next_nack(job);
  return job->rp;
}

void retry_state::next_nack(std::shared_ptr<nack_job> job) {
  if (job->next == job->req.items.size()) {
    job->rp.deliver(job->reply);
    return;
  }
  const auto& it = job->req.items[job->next];
  read_batch(it.topic, it.partition, it.offset,
             [=, this](caf::expected<std::shared_ptr<std::string>> batch) {
               if (!batch) return deliver(job->rp, batch.error());
               handle_record(job, std::move(*batch));
             });
}

void retry_state::handle_record(std::shared_ptr<nack_job> job, std::shared_ptr<std::string> bytes) {
  const auto& it = job->req.items[job->next];
  const auto& group = job->req.group;
  const auto& policy = settings_.retry.policy_for(group);
  auto now = now_ms();
  bool found = false;
  std::optional<retry::dead_letter_reason> reason;
  retry::delivery_info info;
  std::string out;
  storage::for_each_batch(bytes_of(*bytes), [&](const storage::batch_header&, auto batch) {
    (void)storage::for_each_record(batch, [&](const storage::record_view& r) {
      if (found || r.record_offset() != it.offset) return;
      found = true;
      info = retry::read_delivery_info(r, retry::base_topic(it.topic, group),
                                       static_cast<int32_t>(it.partition));
      if (it.deliveries > 0) info.delivery_count = it.deliveries;
      if (!it.reason.empty()) {
        reason = retry::parse_reason(it.reason);
      } else if (it.reject) {
        reason = retry::dead_letter_reason::rejected;
      } else if (info.expires_at_ms && *info.expires_at_ms <= now) {
        reason = retry::dead_letter_reason::ttl_expired;
      } else if (policy.exhausted(info.delivery_count)) {
        reason = retry::dead_letter_reason::max_retries;
      }
      out = reason ? retry::build_dead_letter_batch(r, info, *reason, group, it.error, now)
                   : retry::build_retry_batch(r, info, it.error, now);
    });
  });
  if (!found) {
    return deliver(job->rp, make_error(errc::offset_out_of_range,
                                       fmt::format("{}/{} has no record at offset {}", it.topic,
                                                   it.partition, it.offset)));
  }
  auto advance = [=, this](caf::error e) {
    if (e) return deliver(job->rp, std::move(e));
    ++job->next;
    next_nack(job);
  };
  const auto& base = info.origin.topic;
  if (reason) {
    auto dlq = retry::dlq_topic(base, group);
    ensure_topic(dlq, 1, [=, this, out = std::move(out)](caf::expected<uint32_t> h) mutable {
      if (!h) return advance(h.error());
      produce(dlq, 0, std::move(out), [=, this](caf::error e) {
        if (!e) {
          ++job->reply.dead_lettered;
          raise_alert(dlq, group, *reason, info, job->req.items[job->next].error);
        }
        advance(std::move(e));
      });
    });
    return;
  }
  auto delay = policy.backoff(info.delivery_count);
  auto target = retry::retry_topic(base, group);
  auto partition = static_cast<uint32_t>(info.origin.partition);
  // The retry topic gets the partition count of its topic.
  partition_count(base, [=, this, out = std::move(out)](caf::expected<uint32_t> bn) mutable {
    uint32_t n = bn ? *bn : 1;
    ensure_topic(target, n, [=, this, out = std::move(out)](caf::expected<uint32_t> tn) mutable {
      if (!tn) return advance(tn.error());
      auto p = partition % std::max<uint32_t>(*tn, 1);
      auto at = now + delay.count();
      auto acks = replicated() ? acks_level::all : acks_level::fsync;
      self_
          ->request(settings_.delay, request_timeout, produce_atom::value,
                    delayed_produce{target, p, at, std::make_shared<std::string>(std::move(out)),
                                    acks, delay::delay_class::retry})
          .then(
              [=](schedule_reply&) {
                ++job->reply.retried;
                advance({});
              },
              [=](caf::error& e) { advance(std::move(e)); });
    });
  });
}

// --- re-drive ---

caf::result<redrive_reply> retry_state::redrive(redrive_request req) {
  if (!req.reason.empty() && !retry::parse_reason(req.reason)) {
    return make_error(errc::invalid_request, "unknown dead-letter reason '" + req.reason + "'");
  }
  auto job = std::make_shared<redrive_job>(running_redrives_);
  job->req = std::move(req);
  job->rp = self_->make_response_promise<redrive_reply>();
  auto dlq = job->req.dlq_topic;
  cursor(dlq, [=, this](caf::expected<int64_t> at) {
    if (!at) return deliver(job->rp, at.error());
    redrive_from(job, *at);
  });
  return job->rp;
}

void retry_state::redrive_from(std::shared_ptr<redrive_job> job, int64_t cursor_at) {
  const auto& dlq = job->req.dlq_topic;
  reader_.offsets(self_, dlq, 0, request_timeout, [=, this](caf::expected<partition_offsets> o) {
    if (!o) return deliver(job->rp, o.error());
    job->pos = std::max(cursor_at, o->log_start_offset);
    job->end = job->req.to_offset < 0 ? o->high_watermark
                                      : std::min(job->req.to_offset, o->high_watermark);
    actor_log().info("retry: re-drive of {} from {} to {} (reason '{}', from offset {})", dlq,
                     job->pos, job->end, job->req.reason, job->req.from_offset);
    next_redrive(job);
  });
}

void retry_state::next_redrive(std::shared_ptr<redrive_job> job) {
  if (job->pos >= job->end) {
    job->reply.next_offset = job->pos;
    job->rp.deliver(job->reply);
    return;
  }
  read_batch(job->req.dlq_topic, 0, job->pos,
             [=, this](caf::expected<std::shared_ptr<std::string>> bytes) {
               if (!bytes) return deliver(job->rp, bytes.error());
               redrive_chunk(job, std::move(*bytes));
             });
}

void retry_state::redrive_chunk(std::shared_ptr<redrive_job> job,
                                std::shared_ptr<std::string> bytes) {
  const auto& dlq = job->req.dlq_topic;
  auto outs = std::make_shared<std::vector<output>>();
  auto now = now_ms();
  int64_t next = job->pos;
  uint64_t moved = 0, refused = 0;
  storage::for_each_batch(bytes_of(*bytes), [&](const storage::batch_header&, auto batch) {
    (void)storage::for_each_record(batch, [&](const storage::record_view& r) {
      auto off = r.record_offset();
      if (off < job->pos || off >= job->end) return;
      next = off + 1;
      auto info = retry::read_delivery_info(r, dlq, 0);
      // Only dead letters (with a reason and an origin) can go back.
      bool selected = info.reason && info.origin.topic != dlq && off >= job->req.from_offset &&
                      (job->req.reason.empty() ||
                       (info.reason && job->req.reason == retry::to_string(*info.reason)));
      if (selected && info.redrive_count >= settings_.retry.max_redrives) {
        ++refused;
        actor_log().warn("retry: re-drive of {}@{} refused: re-driven {} times already (limit {})",
                         dlq, off, info.redrive_count, settings_.retry.max_redrives);
        selected = false;
      }
      if (selected) {
        ++moved;
        outs->push_back({info.origin.topic, static_cast<uint32_t>(info.origin.partition),
                         retry::build_redrive_batch(r, info, now)});
      } else {
        outs->push_back({dlq, 0, retry::build_copy_batch(r)});
      }
    });
  });
  if (next == job->pos) {
    // Nothing decodable at the cursor (a control batch, say): step over it.
    next = job->pos + 1;
  }
  produce_all(outs, 0, [=, this](caf::error e) {
    if (e) return deliver(job->rp, std::move(e));
    commit_cursor(dlq, next, [=, this](caf::error ce) {
      if (ce) return deliver(job->rp, std::move(ce));
      job->reply.moved += moved;
      job->reply.refused += refused;
      job->pos = next;
      next_redrive(job);
    });
  });
}

}  // namespace actormq
