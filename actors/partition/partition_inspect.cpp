// partition_state::inspect: what the actor inspector shows of a partition
// (docs/inspector.md, "partition").

#include "actors/inspect/json_writer.h"
#include "actors/partition/partition_state.h"

#include <fmt/format.h>

namespace actormq {

void partition_state::inspect(actor_report& r) const {
  const int64_t start = log_->log_start_offset()();
  const int64_t end = log_->next_offset()();
  const int64_t hw = readable_end();
  const auto size = log_->size_bytes();
  const bool leading = leads();
  json_writer w;
  w.begin_object()
      .field("topic", settings_.topic)
      .field("partition", settings_.partition)
      .field("log_start_offset", start)
      .field("log_end_offset", end)
      .field("high_watermark", hw)
      .field("flushed_offset", log_->flushed_offset()())
      .field("unflushed_messages", log_->unflushed_messages())
      .field("size_bytes", size)
      .field("segments", log_->segment_count())
      .field("producers", producers_.size())
      .field("duplicate_batches", duplicate_batches_)
      .field("out_of_order_batches", out_of_order_batches_)
      .field("parked_fetches", parked_fetches_.size())
      .field("fsync_waiters", fsync_waiters_.size())
      .field("flush_in_flight", flush_in_flight_)
      .field("flush_error", flush_failure_ ? self_->system().render(flush_failure_) : "");
  if (settings_.max_messages > 0) {
    w.field("max_messages", settings_.max_messages)
        .field("when_full", to_string(settings_.when_full))
        .field("trim_error", trim_error_);
  }
  w.field("replicated", settings_.replicated);
  std::string roles = leading ? "leader" : "follower";
  if (settings_.replicated) {
    w.field("role", roles)
        .field("leader", leader_id_)
        .field("leader_epoch", leader_epoch_)
        .field("acks_all_waiters", replicated_waiters_.size())
        .field("parked_replica_fetches", parked_replica_fetches_.size());
    w.key("replicas").begin_array();
    for (auto b : leadership_.replicas) w.value(b);
    w.end_array();
    w.key("isr").begin_array();
    for (auto b : tracker_.isr()) w.value(b);
    w.end_array();
    if (role_ == role::leader) {
      // Each follower's log end and how far it is behind this leader.
      w.key("followers").begin_array();
      for (auto b : leadership_.replicas) {
        if (b == leadership_.self) continue;
        auto le = tracker_.log_end_of(b);
        w.begin_object()
            .field("broker", b)
            .field("log_end_offset", le)
            .field("lag", le < 0 ? -1 : std::max<int64_t>(0, end - le))
            .field("in_sync", tracker_.in_isr(b))
            .end_object();
      }
      w.end_array();
    }
  }
  w.end_object();
  r.state_json = w.take();
  r.summary = fmt::format("{} log {}..{} hw {} {} KiB", roles, start, end, hw, size / 1024);
  if (settings_.replicated) {
    r.summary += fmt::format(" epoch {} isr {}", leader_epoch_, fmt::join(tracker_.isr(), ","));
  }

  std::vector<metric_label> l{{"topic", settings_.topic},
                              {"partition", std::to_string(settings_.partition)}};
  auto& m = r.metrics;
  add_metric(m, "actormq_partition_log_start_offset", l, static_cast<double>(start));
  add_metric(m, "actormq_partition_log_end_offset", l, static_cast<double>(end));
  add_metric(m, "actormq_partition_high_watermark", l, static_cast<double>(hw));
  add_metric(m, "actormq_partition_size_bytes", l, static_cast<double>(size));
  add_metric(m, "actormq_partition_segments", l, static_cast<double>(log_->segment_count()));
  add_metric(m, "actormq_partition_unflushed_messages", l,
             static_cast<double>(log_->unflushed_messages()));
  add_metric(m, "actormq_partition_leader", l, leading ? 1 : 0);
  add_metric(m, "actormq_partition_duplicate_batches_total", l,
             static_cast<double>(duplicate_batches_));
  add_metric(m, "actormq_partition_out_of_order_batches_total", l,
             static_cast<double>(out_of_order_batches_));
  if (settings_.replicated && role_ == role::leader) {
    add_metric(m, "actormq_partition_isr_size", l, static_cast<double>(tracker_.isr().size()));
    for (auto b : leadership_.replicas) {
      if (b == leadership_.self) continue;
      auto le = tracker_.log_end_of(b);
      auto rl = l;
      rl.push_back({"replica", std::to_string(b)});
      add_metric(
          m, "actormq_partition_replica_lag_messages", rl,
          le < 0 ? static_cast<double>(end) : static_cast<double>(std::max<int64_t>(0, end - le)));
    }
  }
}

}  // namespace actormq
