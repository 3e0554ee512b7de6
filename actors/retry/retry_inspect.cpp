// retry_state::inspect: what the actor inspector shows of the RETRY actor
// (docs/inspector.md, "retry").
//
// The nack and re-drive jobs live only in their continuations (the state
// keeps no list of them), so their number is not shown. Dead letters are
// the shared registry's counters summed per reason: actormq_dead_letters_total
// itself reaches /metrics from the registry, not from here.

#include <fmt/format.h>

#include <array>

#include "actors/inspect/json_writer.h"
#include "actors/retry/retry_state.h"

namespace actormq {

void retry_state::inspect(actor_report& r) const {
  constexpr size_t max_listed = 100;
  using retry::dead_letter_reason;
  constexpr std::array<dead_letter_reason, 4> reasons{
      dead_letter_reason::max_retries, dead_letter_reason::rejected,
      dead_letter_reason::ttl_expired, dead_letter_reason::queue_full};

  // One copy of the registry (a few counters per topic and group) under its
  // mutex; the partition actors count queue_full dead letters there too.
  std::array<uint64_t, reasons.size()> by_reason{};
  uint64_t dead_letters = 0;
  size_t series = 0;
  if (settings_.metrics) {
    for (const auto& s : settings_.metrics->snapshot()) {
      if (s.name != dead_letters_metric) continue;
      ++series;
      dead_letters += s.value;
      for (const auto& [k, v] : s.label_values) {
        if (k != "reason") continue;
        for (size_t i = 0; i < reasons.size(); ++i) {
          if (v == retry::to_string(reasons[i])) by_reason[i] += s.value;
        }
      }
    }
  }

  // The hook's counters: commands run (failures included), failed, and
  // alerts dropped because its queue was full.
  struct hook_counts {
    uint64_t ran = 0, failed = 0, dropped = 0;
  } hook;
  if (settings_.alerts) {
    hook = {settings_.alerts->ran(), settings_.alerts->failed(), settings_.alerts->dropped()};
  }

  const auto& rs = settings_.retry;
  json_writer w;
  w.begin_object()
      .field("replicated", replicated())
      .field("nack_jobs_running", *running_nacks_)
      .field("redrive_jobs_running", *running_redrives_)
      .field("backoff", rs.defaults.to_string())
      .field("max_retries", rs.defaults.max_retries())
      .field("max_redrives", rs.max_redrives)
      .field("group_policy_count", rs.groups.size());
  w.key("group_policies").begin_array();
  size_t listed = 0;
  for (const auto& [group, policy] : rs.groups) {
    if (listed++ == max_listed) break;
    w.begin_object()
        .field("group", group)
        .field("backoff", policy.to_string())
        .field("max_retries", policy.max_retries())
        .end_object();
  }
  w.end_array();
  w.key("dead_letters")
      .begin_object()
      .field("total", dead_letters)
      .field("series", series)
      .key("by_reason")
      .begin_object();
  for (size_t i = 0; i < reasons.size(); ++i) {
    w.field(retry::to_string(reasons[i]), by_reason[i]);
  }
  w.end_object().end_object();
  w.key("alert_hook");
  if (settings_.alerts) {
    w.begin_object()
        .field("ran", hook.ran)
        .field("failed", hook.failed)
        .field("dropped", hook.dropped)
        .end_object();
  } else {
    w.null();
  }
  // A previous release's re-drive cursors, each moved with its DLQ's next
  // re-drive (alone: at start).
  w.field("legacy_cursor_count", legacy_cursors_.size());
  w.key("legacy_cursors").begin_array();
  listed = 0;
  for (const auto& [dlq, next] : legacy_cursors_) {
    if (listed++ == max_listed) break;
    w.begin_object().field("dlq", dlq).field("cursor", next).end_object();
  }
  w.end_array().end_object();
  r.state_json = w.take();

  r.summary = fmt::format("dead letters {}", dead_letters);
  if (dead_letters > 0) {
    std::string parts;
    for (size_t i = 0; i < reasons.size(); ++i) {
      if (by_reason[i] == 0) continue;
      parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", retry::to_string(reasons[i]),
                           by_reason[i]);
    }
    r.summary += fmt::format(" ({})", parts);
  }
  r.summary +=
      fmt::format(" backoff {} max {}", rs.defaults.to_string(), rs.defaults.max_retries());
  if (settings_.alerts) {
    r.summary +=
        fmt::format(" alerts ran {} failed {} dropped {}", hook.ran, hook.failed, hook.dropped);
  }
  if (!legacy_cursors_.empty()) {
    r.summary += fmt::format(" legacy cursors {}", legacy_cursors_.size());
  }
  if (*running_nacks_ > 0 || *running_redrives_ > 0) {
    r.summary += fmt::format(" running nacks {} redrives {}", *running_nacks_, *running_redrives_);
  }
  add_metric(r.metrics, "actormq_retry_jobs_running", {{"job", "nack"}},
             static_cast<double>(*running_nacks_));
  add_metric(r.metrics, "actormq_retry_jobs_running", {{"job", "redrive"}},
             static_cast<double>(*running_redrives_));

  if (settings_.alerts) {
    auto& m = r.metrics;
    add_metric(m, "actormq_alert_hook_runs_total", {}, static_cast<double>(hook.ran));
    add_metric(m, "actormq_alert_hook_failures_total", {}, static_cast<double>(hook.failed));
    add_metric(m, "actormq_alert_hook_dropped_total", {}, static_cast<double>(hook.dropped));
  }
}

}  // namespace actormq
