// topic_registry_state::inspect: what the actor inspector shows of the
// TOPIC REGISTRY (docs/inspector.md, "topic_registry").

#include <fmt/format.h>

#include "actors/inspect/json_writer.h"
#include "actors/topic/topic_registry_state.h"

namespace actormq {

void topic_registry_state::inspect(actor_report& r) const {
  // A broker may hold thousands of topics and this runs every second: the
  // list stops at the first 100 by name, the totals count every topic.
  constexpr size_t max_listed = 100;
  struct topic_totals {
    size_t partitions = 0;
    size_t running = 0;  ///< with a partition actor up (the others wait for a restart)
    int restarts = 0;
    int64_t inflight_bytes = 0;
  };
  auto totals_of = [this](const topic& t) {
    topic_totals x;
    x.partitions = t.partitions.size();
    for (const auto& slot : t.partitions) {
      if (owners_.count(slot.actor.address()) > 0) ++x.running;
      x.restarts += slot.restarts;
      if (slot.budget) x.inflight_bytes += slot.budget->bytes.load(std::memory_order_relaxed);
    }
    return x;
  };

  topic_totals all;
  for (const auto& [name, t] : topics_) {
    auto x = totals_of(t);
    all.partitions += x.partitions;
    all.running += x.running;
    all.restarts += x.restarts;
    all.inflight_bytes += x.inflight_bytes;
  }
  size_t retiring_partitions = 0;
  for (const auto& [name, d] : deleting_) retiring_partitions += d.running;

  json_writer w;
  w.begin_object()
      .field("topic_count", topics_.size())
      .field("partitions", all.partitions)
      .field("running_partitions", all.running)
      .field("stopped_partitions", all.partitions - all.running)
      .field("partition_restarts", all.restarts)
      .field("retiring_topics", deleting_.size())
      .field("retiring_partitions", retiring_partitions)
      .field("flushers", flushers_.size())
      .field("inflight_limit_bytes", settings_.inflight_limit_bytes)
      .field("inflight_bytes", all.inflight_bytes);
  w.key("topics").begin_array();
  size_t listed = 0;
  for (const auto& [name, t] : topics_) {
    if (listed++ == max_listed) break;
    const auto& c = t.config;
    auto x = totals_of(t);
    w.begin_object()
        .field("name", name)
        .field("partitions", x.partitions)
        .field("stopped_partitions", x.partitions - x.running)
        .field("restarts", x.restarts);
    std::string last_stop;
    for (const auto& slot : t.partitions) {
      if (slot.down) last_stop = slot.last_stop;
    }
    if (!last_stop.empty()) w.field("why_stopped", last_stop);
    w.field("retention_ms", c.retention_ms)
        .field("retention_bytes", c.retention_bytes)
        .field("ttl_ms", c.ttl_ms)
        .field("max_messages", c.max_messages);
    if (c.max_messages > 0) w.field("when_full", to_string(c.when_full));
    w.field("replicated", c.replicated);
    if (c.replicated) {
      w.field("replication_factor", c.replication_factor)
          .field("min_insync_replicas", c.effective_min_insync());
    }
    if (c.producer_byte_rate > 0) w.field("producer_byte_rate", c.producer_byte_rate);
    if (c.producer_message_rate > 0) w.field("producer_message_rate", c.producer_message_rate);
    if (t.quota->throttled() > 0) {
      w.field("produce_throttled", t.quota->throttled())
          .field("produce_throttle_seconds", t.quota->held_seconds());
    }
    w.field("inflight_bytes", x.inflight_bytes).end_object();
  }
  w.end_array().end_object();
  r.state_json = w.take();

  r.summary = fmt::format("{} topics, {} partitions", topics_.size(), all.partitions);
  if (all.running < all.partitions) {
    r.summary += fmt::format(" ({} stopped)", all.partitions - all.running);
  }
  r.summary +=
      fmt::format(", {} flushers, in flight {} KiB", flushers_.size(), all.inflight_bytes / 1024);

  add_metric(r.metrics, "actormq_topics", {}, static_cast<double>(topics_.size()));
  add_metric(r.metrics, "actormq_partitions", {}, static_cast<double>(all.running));
  // Quotas: a series per topic that has one or was ever throttled (a topic
  // with neither adds none, so thousands of plain topics cost nothing).
  for (const auto& [name, t] : topics_) {
    const auto& c = t.config;
    if (c.producer_byte_rate > 0) {
      add_metric(r.metrics, "actormq_topic_producer_byte_rate", {{"topic", name}},
                 static_cast<double>(c.producer_byte_rate));
    }
    if (c.producer_message_rate > 0) {
      add_metric(r.metrics, "actormq_topic_producer_message_rate", {{"topic", name}},
                 static_cast<double>(c.producer_message_rate));
    }
    if (c.producer_byte_rate > 0 || c.producer_message_rate > 0 || t.quota->throttled() > 0) {
      add_metric(r.metrics, "actormq_topic_produce_throttled_total", {{"topic", name}},
                 static_cast<double>(t.quota->throttled()));
      add_metric(r.metrics, "actormq_topic_produce_throttle_seconds_total", {{"topic", name}},
                 t.quota->held_seconds());
    }
  }
}

}  // namespace actormq
