// retry_state::trace: the retry, dead-letter and delay part of the message
// trace (docs/inspector.md, "Message trace"). A copy is found by the
// headers the builders set (retry_headers.h: amq-original-topic,
// -partition, -offset), read from the start of each candidate partition to
// its high watermark. Then the delay wheel: the __delay_schedule partitions
// that schedule the topic's (and its retry topics') messages are read the
// same way for envelopes holding a record with the message's id (a delayed
// send, or a retry waiting for its backoff), and for the dispatch records
// that delivered them.

#include <algorithm>
#include <set>

#include "actors/delay/delay_schedule_record.h"

#include "actors/retry/retry_headers.h"
#include "storage/hex.h"

#include "actors/inspect/json_writer.h"
#include "actors/retry/retry_state.h"
#include "actors/retry/retry_topics.h"

namespace actormq {

namespace {

constexpr auto trace_timeout = std::chrono::seconds(10);
constexpr uint32_t trace_chunk_bytes = 1 << 20;
/// Bytes read per trace at most: a trace is a debugging aid, not a scan of
/// a month of dead letters.
constexpr uint64_t trace_budget_bytes = 64ull << 20;

}  // namespace

struct retry_state::trace_job {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  /// (topic, partition) still to scan, and the one being scanned.
  std::vector<std::pair<std::string, uint32_t>> todo;
  size_t current = 0;
  int64_t at = 0;
  int64_t end = 0;
  bool started = false;
  uint64_t scanned = 0;
  bool truncated = false;
  /// Traced by message id: the id (16 bytes) while it is looked for in
  /// topic's partitions, and whether it was found.
  std::string id;
  bool looking = false;
  bool found = false;
  json_writer copies;
  /// The delay wheel part: running, the id looked for (the traced record's
  /// amq-id), and the envelopes found.
  bool delays_phase = false;
  std::string delay_id;
  std::vector<std::string> retry_topics;  ///< of topic, from trace_topics
  struct delay_hit {
    uint32_t schedule_partition = 0;
    int64_t envelope_offset = 0;
    int64_t scheduled_ms = 0;
    delay::envelope_record envelope;  ///< without its batch
    std::optional<uint64_t> dispatch;
  };
  std::vector<delay_hit> delays;
  caf::typed_response_promise<std::string> promise;
};

caf::result<std::string> retry_state::trace(const std::string& topic, int32_t partition,
                                            int64_t offset) {
  auto job = std::make_shared<trace_job>();
  job->topic = topic;
  job->partition = partition;
  job->offset = offset;
  job->promise = self_->make_response_promise<std::string>();
  job->copies.begin_array();
  trace_topics(topic, [this, job](caf::expected<std::vector<std::string>> names) {
    if (!names) return job->promise.deliver(std::move(names.error())), void();
    for (const auto& n : *names) {
      // A nacked message of partition p is retried in partition p of the
      // retry topic; dead-letter topics have one partition.
      bool retry = n.size() > retry::retry_suffix.size() && n.ends_with(retry::retry_suffix);
      job->todo.push_back({n, retry ? static_cast<uint32_t>(job->partition) : 0u});
      if (retry) job->retry_topics.push_back(n);
    }
    trace_next(job);
  });
  return job->promise;
}

caf::result<std::string> retry_state::trace_id(const std::string& topic, const std::string& id) {
  auto job = std::make_shared<trace_job>();
  job->topic = topic;
  job->id = id;
  job->looking = true;
  job->promise = self_->make_response_promise<std::string>();
  job->copies.begin_array();
  partition_count(topic, [this, job](caf::expected<uint32_t> n) {
    if (!n) return job->promise.deliver(std::move(n.error())), void();
    for (uint32_t p = 0; p < *n; ++p) job->todo.push_back({job->topic, p});
    trace_next(job);
  });
  return job->promise;
}

void retry_state::trace_found(std::shared_ptr<trace_job> job) {
  // Found: now its copies, as trace() looks for them.
  job->looking = false;
  job->found = true;
  job->todo.clear();
  job->current = 0;
  job->started = false;
  trace_topics(job->topic, [this, job](caf::expected<std::vector<std::string>> names) {
    if (!names) return job->promise.deliver(std::move(names.error())), void();
    for (const auto& n : *names) {
      bool retry = n.size() > retry::retry_suffix.size() && n.ends_with(retry::retry_suffix);
      job->todo.push_back({n, retry ? static_cast<uint32_t>(job->partition) : 0u});
      if (retry) job->retry_topics.push_back(n);
    }
    trace_next(job);
  });
}

void retry_state::trace_topics(const std::string& topic,
                               std::function<void(caf::expected<std::vector<std::string>>)> k) {
  auto prefix = topic + ".";
  auto candidate = [prefix, topic](const std::string& n) {
    if (n == retry::dlq_topic(topic)) return true;
    if (!n.starts_with(prefix)) return false;
    return n.ends_with(retry::retry_suffix) || n.ends_with(retry::dlq_suffix);
  };
  if (replicated()) {
    std::vector<std::string> out;
    for (const auto& [n, count] :
         settings_.cluster_topics->get().value_or(group::topic_metadata{})) {
      if (candidate(n)) out.push_back(n);
    }
    return k(std::move(out));
  }
  self_->request(settings_.registry, trace_timeout, list_atom::value)
      .then(
          [k, candidate](std::vector<topic_handle>& hs) {
            std::vector<std::string> out;
            for (const auto& h : hs) {
              if (candidate(h.name)) out.push_back(h.name);
            }
            k(std::move(out));
          },
          [k](caf::error& e) { k(std::move(e)); });
}

namespace {

/// Whether name is a retry topic of topic (T.G.retry).
bool retry_topic_of(const std::string& name, const std::string& topic) {
  return name.size() > topic.size() + 1 + retry::retry_suffix.size() &&
         name.starts_with(topic + ".") && name.ends_with(retry::retry_suffix);
}

/// Whether a record of batches carries id as its amq-id header.
bool holds_id(const std::string& batches, const std::string& id) {
  bool found = false;
  storage::for_each_batch(
      {reinterpret_cast<const uint8_t*>(batches.data()), batches.size()},
      [&](const storage::batch_header&, std::span<const uint8_t> batch) {
        (void)storage::for_each_record(batch, [&](const storage::record_view& r) {
          for (const auto& h : r.headers) {
            if (h.key == retry::header::message_id && h.value && *h.value == id) found = true;
          }
        });
      });
  return found;
}

}  // namespace

void retry_state::trace_delays(std::shared_ptr<trace_job> job) {
  job->delays_phase = true;
  job->todo.clear();
  job->current = 0;
  job->started = false;
  auto scan = [this, job] {
    if (job->delay_id.empty()) return trace_next(job);  // no id: nothing to match
    partition_count(delay::schedule_topic, [this, job](caf::expected<uint32_t> n) {
      if (!n) return trace_next(job);  // no __delay_schedule: nothing was delayed
      // The message's schedule partition and its retry topics' (a retry
      // keeps the partition number); every one when the partition is not
      // known (an id not found in the topic: maybe not delivered yet).
      std::set<uint32_t> sps;
      if (job->looking && !job->found) {
        for (uint32_t sp = 0; sp < *n; ++sp) sps.insert(sp);
      } else {
        auto p = static_cast<uint32_t>(job->partition);
        sps.insert(delay::schedule_partition_of(job->topic, p, *n));
        for (const auto& r : job->retry_topics) {
          sps.insert(delay::schedule_partition_of(r, p, *n));
        }
      }
      for (auto sp : sps) job->todo.push_back({delay::schedule_topic, sp});
      trace_next(job);
    });
  };
  if (!job->id.empty()) {
    job->delay_id = job->id;
    return scan();
  }
  // Traced by offset: the record's id first.
  read_batch(job->topic, static_cast<uint32_t>(job->partition), job->offset,
             [job, scan](caf::expected<std::shared_ptr<std::string>> bytes) {
               if (bytes) {
                 storage::for_each_batch(
                     {reinterpret_cast<const uint8_t*>((*bytes)->data()), (*bytes)->size()},
                     [&](const storage::batch_header&, std::span<const uint8_t> batch) {
                       (void)storage::for_each_record(batch, [&](const storage::record_view& r) {
                         if (r.record_offset() != job->offset) return;
                         for (const auto& h : r.headers) {
                           if (h.key == retry::header::message_id && h.value) {
                             job->delay_id = std::string(*h.value);
                           }
                         }
                       });
                     });
               }
               scan();
             });
}

void retry_state::trace_delay_record(trace_job& job, uint32_t sp, const storage::record_view& r) {
  if (!r.key || !r.value) return;
  auto rec = delay::decode_schedule_record(*r.key, *r.value);
  if (!rec) return;
  if (rec->kind == delay::schedule_kind::envelope) {
    auto& e = rec->envelope;
    if (e.topic != job.topic && !retry_topic_of(e.topic, job.topic)) return;
    if (!holds_id(e.batch, job.delay_id)) return;
    e.batch.clear();
    job.delays.push_back({sp, r.record_offset(), r.timestamp(), std::move(e), std::nullopt});
    return;
  }
  if (rec->kind != delay::schedule_kind::dispatch || job.delays.empty()) return;
  for (const auto& t : rec->dispatch.targets) {
    for (const auto& e : t.entries) {
      for (auto& h : job.delays) {
        if (h.schedule_partition == sp && h.envelope_offset == e.offset && !h.dispatch) {
          h.dispatch = rec->dispatch.number;
        }
      }
    }
  }
}

void retry_state::trace_next(std::shared_ptr<trace_job> job) {
  if (job->current >= job->todo.size() && !job->delays_phase) {
    job->copies.end_array();
    return trace_delays(job);
  }
  if (job->current >= job->todo.size()) {
    json_writer w;
    w.begin_object().field("topic", job->topic);
    if (!job->id.empty()) w.field("id", storage::to_hex(job->id)).field("found", job->found);
    if (!job->looking) w.field("partition", job->partition).field("offset", job->offset);
    w.key("copies").raw(job->copies.take());
    w.key("delays").begin_array();
    for (const auto& h : job->delays) {
      w.begin_object()
          .field("schedule_partition", h.schedule_partition)
          .field("envelope_offset", h.envelope_offset)
          .field("topic", h.envelope.topic)
          .field("partition", h.envelope.partition)
          .field("level", delay::class_label(h.envelope.cls))
          .field("scheduled_ms", h.scheduled_ms)
          .field("due_ms", h.envelope.due_ms)
          .field("state", h.dispatch ? "dispatched" : "pending");
      if (h.dispatch) w.field("dispatch", *h.dispatch);
      w.end_object();
    }
    w.end_array();
    w.field("scanned_bytes", job->scanned).field("truncated", job->truncated).end_object();
    job->promise.deliver(w.take());
    return;
  }
  const auto& [name, p] = job->todo[job->current];
  if (!job->started) {
    reader_.offsets(self_, name, p, trace_timeout, [this, job](caf::expected<partition_offsets> o) {
      if (!o) {
        // A partition that cannot be read now is skipped;
        // the answer says the scan was incomplete.
        job->truncated = true;
        ++job->current;
        return trace_next(job);
      }
      job->started = true;
      job->at = o->log_start_offset;
      job->end = o->high_watermark;
      trace_next(job);
    });
    return;
  }
  if (job->at >= job->end || job->scanned >= trace_budget_bytes) {
    if (job->at < job->end) job->truncated = true;
    job->started = false;
    ++job->current;
    return trace_next(job);
  }
  reader_.read(
      self_, name, p, job->at, trace_chunk_bytes, trace_timeout,
      [this, job, name = name, p = p](caf::expected<std::shared_ptr<std::string>> bytes) {
        if (!bytes || (*bytes)->empty()) {
          if (!bytes) job->truncated = true;
          job->started = false;
          ++job->current;
          return trace_next(job);
        }
        job->scanned += (*bytes)->size();
        std::span<const uint8_t> span{reinterpret_cast<const uint8_t*>((*bytes)->data()),
                                      (*bytes)->size()};
        int64_t next = job->at;
        bool found_here = false;
        storage::for_each_batch(
            span, [&](const storage::batch_header& h, std::span<const uint8_t> batch) {
              next = std::max(next, h.next_offset()());
              (void)storage::for_each_record(batch, [&](const storage::record_view& r) {
                if (r.record_offset() < job->at || found_here) return;
                if (job->delays_phase) return trace_delay_record(*job, p, r);
                if (job->looking) {
                  for (const auto& hv : r.headers) {
                    if (hv.key == retry::header::message_id && hv.value && *hv.value == job->id) {
                      job->partition = static_cast<int32_t>(p);
                      job->offset = r.record_offset();
                      found_here = true;
                      return;
                    }
                  }
                  return;
                }
                auto info = retry::read_delivery_info(r, name, static_cast<int32_t>(p));
                if (info.origin.topic != job->topic || info.origin.partition != job->partition ||
                    info.origin.offset != job->offset) {
                  return;
                }
                auto& w = job->copies;
                w.begin_object()
                    .field("topic", name)
                    .field("partition", p)
                    .field("offset", r.record_offset())
                    .field("kind", info.reason ? "dead_letter" : "retry")
                    .field("delivery_count", info.delivery_count)
                    .field("timestamp_ms", r.timestamp())
                    .field("last_error", info.last_error)
                    .field("redrive_count", info.redrive_count);
                if (info.reason) {
                  w.field("reason", retry::to_string(*info.reason))
                      .field("dlq_time_ms", info.dlq_time_ms)
                      .field("dlq_group", info.dlq_group);
                }
                w.end_object();
              });
            });
        if (found_here) return trace_found(job);
        if (next <= job->at) {
          // Nothing whole came back (cannot happen with at least one
          // batch per read): give this partition up rather than spin.
          job->truncated = true;
          job->started = false;
          ++job->current;
          return trace_next(job);
        }
        job->at = next;
        trace_next(job);
      });
}

}  // namespace actormq
