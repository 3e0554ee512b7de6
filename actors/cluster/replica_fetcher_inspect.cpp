// replica_fetcher_state::inspect: what the actor inspector shows of a
// REPLICA FETCHER (docs/inspector.md, "replica_fetcher").

#include <fmt/format.h>

#include <algorithm>

#include "actors/cluster/replica_fetcher_state.h"
#include "actors/inspect/json_writer.h"

namespace actormq {

void replica_fetcher_state::inspect(actor_report& r) const {
  // The phase follows from the state: every step keeps exactly one request
  // out (with its deadline) until a failure, which waits out the backoff
  // with none and then resumes from the top (the leader's node forgotten)
  // or with the next pull (the node kept).
  const bool node_known = static_cast<bool>(leader_node_);
  const char* phase = "fetching";
  if (deadlines_.empty()) {
    phase = "backoff";
  } else if (!node_known) {
    phase = "following";  // the local partition told to follow, or the leader's node looked up
  } else if (ask_epoch_ >= 0) {
    phase = "truncating";
  }
  const auto backoff_ms = std::chrono::duration_cast<std::chrono::milliseconds>(backoff_).count();
  json_writer w;
  w.begin_object()
      .field("topic", settings_.topic)
      .field("partition", settings_.partition)
      .field("leader", settings_.leader)
      .field("leader_epoch", settings_.leader_epoch)
      .field("phase", phase);
  if (deadlines_.empty()) w.field("resumes_with", node_known ? "pull" : "follow");
  w.field("leader_node_known", node_known)
      .field("fetch_offset", log_end_)
      .field("leader_log_end_offset", leader_log_end_)
      .field("leader_high_watermark", leader_high_watermark_)
      .field("lag",
             leader_log_end_ < 0 ? int64_t{-1} : std::max<int64_t>(0, leader_log_end_ - log_end_))
      .field("truncation_epoch", ask_epoch_)
      .field("requests_out", deadlines_.size())
      .field("failures", failures_)
      .field("last_error", last_error_)
      .field("next_backoff_ms", backoff_ms)
      .end_object();
  r.state_json = w.take();
  r.summary = fmt::format("{} from {} epoch {} at {}", phase, settings_.leader,
                          settings_.leader_epoch, log_end_);
  if (failures_ > 0) r.summary += fmt::format(" failures {}: {}", failures_, last_error_);
  if (leader_log_end_ >= 0) {
    add_metric(r.metrics, "actormq_replica_fetch_lag_messages",
               {{"topic", settings_.topic}, {"partition", std::to_string(settings_.partition)}},
               static_cast<double>(std::max<int64_t>(0, leader_log_end_ - log_end_)));
  }
}

}  // namespace actormq
