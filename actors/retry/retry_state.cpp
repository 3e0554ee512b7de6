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
  nack_request req;
  caf::typed_response_promise<nack_reply> rp;
  nack_reply reply;
  size_t next = 0;
};

struct retry_state::redrive_job {
  redrive_request req;
  caf::typed_response_promise<redrive_reply> rp;
  redrive_reply reply;
  int64_t pos = 0;
  int64_t end = 0;
};

int64_t retry_state::now_ms() {
  return storage::system_now()();
}

caf::error retry_state::init(self_ptr self, retry_actor_settings settings) {
  self_ = self;
  settings_ = std::move(settings);
  auto store = storage::offset_store::open(settings_.dir);
  if (!store) return from_storage(store.error(), "retry: open re-drive cursors");
  cursors_ = std::move(*store);
  return {};
}

void retry_state::close() {
  if (cursors_) (void)cursors_->close();
}

std::vector<metrics_registry::sample> retry_state::stats() const {
  return settings_.metrics->snapshot();
}

int64_t retry_state::cursor(const std::string& dlq) const {
  auto c = cursors_->fetch(redrive_group, dlq, 0);
  return c ? c->next_offset() : 0;
}

// --- topics and partitions ---

void retry_state::read_batch(const std::string& topic, uint32_t partition, int64_t offset,
                             std::function<void(caf::expected<std::shared_ptr<std::string>>)> k) {
  topics_.with(self_, settings_.registry, topic, [=, this](caf::expected<topic_handle> h) {
    if (!h) return k(h.error());
    if (partition >= h->partitions.size()) {
      return k(make_error(errc::unknown_partition,
                          fmt::format("{} has no partition {}", topic, partition)));
    }
    self_
        ->request(h->partitions[partition], request_timeout, fetch_atom::value,
                  fetch_request{offset, redrive_chunk_bytes})
        .then(
            [=](fetch_reply& r) {
              if (r.slice.length == 0) {
                return k(make_error(
                    errc::offset_out_of_range,
                    fmt::format("{}/{} has no record at offset {}", topic, partition, offset)));
              }
              auto buf = std::make_shared<std::string>(r.slice.length, '\0');
              auto st = r.slice.file->read_at(
                  r.slice.position, {reinterpret_cast<uint8_t*>(buf->data()), buf->size()});
              if (!st) return k(from_storage(st.error(), "retry: read " + topic));
              k(std::move(buf));
            },
            [=, this](caf::error& e) {
              if (e.category() != errc_category) topics_.forget(topic);
              k(std::move(e));
            });
  });
}

void retry_state::ensure_topic(const std::string& topic, uint32_t partitions,
                               std::function<void(caf::expected<topic_handle>)> k) {
  topics_.with(self_, settings_.registry, topic, [=, this](caf::expected<topic_handle> h) {
    if (h || code_of(h.error()) != errc::unknown_topic) return k(std::move(h));
    auto cfg = settings_.topic_defaults;
    cfg.partitions = std::max<uint32_t>(partitions, 1);
    self_->request(settings_.registry, request_timeout, create_atom::value, topic, cfg)
        .then(
            [=, this](topic_handle& created) {
              actor_log().info("retry: created topic {} ({} partitions)", topic,
                               created.partitions.size());
              topics_.put(topic, created);
              k(std::move(created));
            },
            [=, this](caf::error& e) {
              if (code_of(e) != errc::topic_exists) return k(std::move(e));
              topics_.with(self_, settings_.registry, topic, k);  // created meanwhile
            });
  });
}

void retry_state::produce(const std::string& topic, uint32_t partition, std::string batch, done k) {
  topics_.with(self_, settings_.registry, topic, [=, this](caf::expected<topic_handle> h) {
    if (!h) return k(h.error());
    auto p = partition % static_cast<uint32_t>(h->partitions.size());
    self_
        ->request(h->partitions[p], request_timeout, produce_atom::value,
                  produce_request{std::make_shared<std::string>(batch), acks_level::fsync})
        .then([k](produce_reply&) { k({}); },
              [=, this](caf::error& e) {
                if (e.category() != errc_category) topics_.forget(topic);
                k(std::move(e));
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
  auto job = std::make_shared<nack_job>();
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
    ensure_topic(dlq, 1, [=, this, out = std::move(out)](caf::expected<topic_handle> h) mutable {
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
  topics_.with(
      self_, settings_.registry, base,
      [=, this, out = std::move(out)](caf::expected<topic_handle> bh) mutable {
        uint32_t n = bh ? static_cast<uint32_t>(bh->partitions.size()) : 1;
        ensure_topic(
            target, n, [=, this, out = std::move(out)](caf::expected<topic_handle> h) mutable {
              if (!h) return advance(h.error());
              auto p = partition % static_cast<uint32_t>(h->partitions.size());
              auto at = now + delay.count();
              self_
                  ->request(
                      settings_.delay, request_timeout, produce_atom::value,
                      delayed_produce{target, p, at, std::make_shared<std::string>(std::move(out)),
                                      acks_level::fsync})
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
  auto job = std::make_shared<redrive_job>();
  job->req = std::move(req);
  job->rp = self_->make_response_promise<redrive_reply>();
  auto dlq = job->req.dlq_topic;
  topics_.with(self_, settings_.registry, dlq, [=, this](caf::expected<topic_handle> h) {
    if (!h) return deliver(job->rp, h.error());
    self_->request(h->partitions[0], request_timeout, offsets_atom::value)
        .then(
            [=, this](partition_offsets& o) {
              job->pos = std::max(cursor(dlq), o.log_start_offset);
              job->end = job->req.to_offset < 0 ? o.high_watermark
                                                : std::min(job->req.to_offset, o.high_watermark);
              actor_log().info("retry: re-drive of {} from {} to {} (reason '{}', from offset {})",
                               dlq, job->pos, job->end, job->req.reason, job->req.from_offset);
              next_redrive(job);
            },
            [=](caf::error& e) { job->rp.deliver(std::move(e)); });
  });
  return job->rp;
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
    storage::offset_commit c{dlq, 0, storage::offset(next), {}};
    auto st = cursors_->commit(redrive_group, std::span(&c, 1), storage::system_now());
    if (st) st = cursors_->flush();
    if (!st) return deliver(job->rp, from_storage(st.error(), "retry: commit re-drive cursor"));
    job->reply.moved += moved;
    job->reply.refused += refused;
    job->pos = next;
    next_redrive(job);
  });
}

}  // namespace actormq
