// retry_state::trace: the retry and dead-letter part of the message trace
// (docs/inspector.md, "Message trace"). A copy is found by the headers the
// builders set (retry_headers.h: amq-original-topic, -partition, -offset),
// read from the start of each candidate partition to its high watermark.

#include <algorithm>

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

void retry_state::trace_next(std::shared_ptr<trace_job> job) {
  if (job->current >= job->todo.size()) {
    job->copies.end_array();
    json_writer w;
    w.begin_object().field("topic", job->topic);
    if (!job->id.empty()) w.field("id", storage::to_hex(job->id)).field("found", job->found);
    if (!job->looking) w.field("partition", job->partition).field("offset", job->offset);
    w.key("copies")
        .raw(job->copies.take())
        .field("scanned_bytes", job->scanned)
        .field("truncated", job->truncated)
        .end_object();
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
