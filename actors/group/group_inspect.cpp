// group_actor_state::inspect: what the actor inspector shows of a consumer
// group (docs/inspector.md, "group"): its membership, and per partition it
// has a topic of (subscribed or committed), the committed offset, high
// watermark and lag.
//
// The high watermarks come from the partitions' leaders, as for describe(),
// but each request is bounded well below the inspector's own timeout (1 s),
// so that a slow or lost leader costs the lag of its partitions (-1,
// unknown) and not the whole report.

#include <fmt/format.h>

#include <map>
#include <set>

#include "actors/group/group_actor_state.h"
#include "actors/group/lag.h"
#include "actors/inspect/json_writer.h"

namespace actormq {

namespace {

/// Bound of each request for a high watermark (here: two in a row, the
/// registry's lookup and the partition's answer).
constexpr auto inspect_timeout = std::chrono::milliseconds(300);
/// How long a peer waits for its partitions' stats (below inspect_timeout).
constexpr auto inspect_peer_wait = std::chrono::milliseconds(200);

std::vector<metric_label> partition_labels(const std::string& group,
                                           const group::topic_partition& tp) {
  return {{"group", group}, {"topic", tp.topic}, {"partition", std::to_string(tp.partition)}};
}

}  // namespace

caf::result<actor_report> group_actor_state::inspect(actor_report r) {
  // Partitions of interest, as describe() (`actormq group describe`) has
  // them: every partition of a subscribed or committed topic (from the
  // partition counts the assignment uses), and any other committed or
  // assigned one.
  std::set<group::topic_partition> wanted;
  std::set<std::string> topics;
  for (const auto& m : membership_->describe().members)
    topics.insert(m.topics.begin(), m.topics.end());
  for (const auto& [k, v] : offsets_) {
    topics.insert(k.first);
    wanted.insert({k.first, k.second});
  }
  for (const auto& t : topics) {
    auto it = topics_.find(t);
    if (it == topics_.end()) continue;
    for (int32_t p = 0; p < it->second; ++p) wanted.insert({t, p});
  }
  for (const auto& [member, owned] : membership_->assignments())
    wanted.insert(owned.begin(), owned.end());
  std::vector<group::topic_partition> tps(wanted.begin(), wanted.end());
  if (tps.empty()) {
    fill_inspect(r, tps, {});
    return r;
  }
  auto rp = self_->make_response_promise<actor_report>();
  auto report = std::make_shared<actor_report>(std::move(r));
  auto all = std::make_shared<std::vector<group::topic_partition>>(std::move(tps));
  // (log start, high watermark) per partition; -1: not (yet) known.
  auto marks = std::make_shared<std::vector<std::pair<int64_t, int64_t>>>(
      all->size(), std::pair<int64_t, int64_t>{0, -1});
  auto pending = std::make_shared<size_t>(all->size());
  offsets_round round;
  round.timeout = inspect_timeout;
  round.peer_wait = inspect_peer_wait;
  round.failed_here_hw = -1;
  offsets_of(*all, round,
             [this, rp, report, all, marks, pending](size_t i, int64_t start, int64_t hw) mutable {
               (*marks)[i] = {start, hw};
               if (--*pending > 0) return;
               fill_inspect(*report, *all, *marks);
               rp.deliver(std::move(*report));
             });
  return rp;
}

void group_actor_state::fill_inspect(actor_report& r,
                                     const std::vector<group::topic_partition>& tps,
                                     const std::vector<std::pair<int64_t, int64_t>>& marks) const {
  const auto d = membership_->describe();
  const auto now = now_ms();
  std::map<group::topic_partition, std::string> owner;
  for (const auto& m : d.members) {
    for (const auto& tp : m.assigned) owner[tp] = m.id;
  }

  json_writer w;
  w.begin_object()
      .field("group", group_)
      .field("state", group::to_string(d.state))
      .field("generation", d.generation())
      .field("protocol", d.protocol)
      .field("acks", acks_ == acks_level::all ? "all" : "fsync")
      .field("unknown_topics", membership_->has_unknown_topics());
  // The partition counts the assignment is computed from.
  w.key("partition_counts").begin_object();
  for (const auto& [topic, n] : topics_) w.field(topic, n);
  w.end_object();

  w.key("members").begin_array();
  for (const auto& m : d.members) {
    w.begin_object()
        .field("id", m.id)
        .field("client_id", m.client_id)
        .field("client_host", m.client_host)
        .field("confirmed_generation", m.confirmed_generation())
        .field("fence", m.fence())
        .field("session_timeout_ms", m.session_timeout_ms)
        .field("last_heartbeat_age_ms", now - m.last_heartbeat_ms);
    w.key("topics").begin_array();
    for (const auto& t : m.topics) w.value(t);
    w.end_array();
    // Topic -> its partitions (m.assigned is sorted by topic, partition).
    w.key("assignment").begin_object();
    for (size_t i = 0; i < m.assigned.size();) {
      const auto& topic = m.assigned[i].topic;
      w.key(topic).begin_array();
      for (; i < m.assigned.size() && m.assigned[i].topic == topic; ++i) {
        w.value(m.assigned[i].partition);
      }
      w.end_array();
    }
    w.end_object().end_object();
  }
  w.end_array();

  // Per partition: lag -1 when its high watermark is unknown (its leader is
  // offline, or did not answer within the bound).
  int64_t total_lag = 0;
  size_t unknown = 0;
  auto& metrics = r.metrics;
  w.key("offsets").begin_array();
  for (size_t i = 0; i < tps.size(); ++i) {
    const auto& tp = tps[i];
    const auto [start, hw] = i < marks.size() ? marks[i] : std::pair<int64_t, int64_t>{0, -1};
    std::optional<storage::offset> committed;
    std::string metadata;
    if (auto it = offsets_.find({tp.topic, tp.partition}); it != offsets_.end()) {
      committed = storage::offset(it->second.offset);
      metadata = it->second.metadata;
    }
    int64_t lag = -1;
    if (hw >= 0) {
      lag = group::compute_lag(tp, committed, storage::offset(start), storage::offset(hw)).lag;
      total_lag += lag;
    } else {
      ++unknown;
    }
    auto o = owner.find(tp);
    w.begin_object()
        .field("topic", tp.topic)
        .field("partition", tp.partition)
        .field("committed", committed ? (*committed)() : int64_t{-1})
        .field("commit_pending", pending_.count({tp.topic, tp.partition}) > 0)
        .field("log_start_offset", hw >= 0 ? start : int64_t{-1})
        .field("high_watermark", hw)
        .field("lag", lag)
        .field("member", o == owner.end() ? std::string{} : o->second)
        .field("metadata", metadata)
        .end_object();
    auto labels = partition_labels(group_, tp);
    if (committed) {
      add_metric(metrics, "actormq_group_committed_offset", labels,
                 static_cast<double>((*committed)()));
    }
    // An unknown lag is left out rather than sent as -1 (a sum over
    // partitions would be wrong).
    if (lag >= 0) add_metric(metrics, "actormq_group_lag", labels, static_cast<double>(lag));
  }
  w.end_array();
  w.field("total_lag", total_lag)
      .field("lag_unknown_partitions", unknown)
      .field("pending_commits", pending_.size());
  // The lag alert (lag_watch.h) as of its last check.
  const auto& t = lag_watch_.thresholds();
  const auto& last = lag_watch_.last();
  w.key("lag_alert")
      .begin_object()
      .field("enabled", t.enabled())
      .field("max_messages", t.max_messages)
      .field("max_age_ms", t.max_age_ms)
      .field("alerting", lag_watch_.alerting())
      .field("raised", lag_watch_.raised())
      .field("checks", lag_watch_.checks())
      .field("lag", last.lag)
      .field("oldest_age_ms", last.age_ms)
      .field("worst_partition", last.worst)
      .end_object();
  w.end_object();
  r.state_json = w.take();

  r.summary =
      fmt::format("{} gen {}, {} member{}, lag {}", group::to_string(d.state), d.generation(),
                  d.members.size(), d.members.size() == 1 ? "" : "s", total_lag);
  if (unknown > 0) r.summary += fmt::format(" ({} partition(s) unknown)", unknown);

  std::vector<metric_label> l{{"group", group_}};
  add_metric(metrics, "actormq_group_members", l, static_cast<double>(d.members.size()));
  add_metric(metrics, "actormq_group_generation", l, static_cast<double>(d.generation()));
  if (t.enabled()) {
    add_metric(metrics, "actormq_group_lag_alerting", l, lag_watch_.alerting() ? 1.0 : 0.0);
    add_metric(metrics, "actormq_group_lag_alerts_total", l,
               static_cast<double>(lag_watch_.raised()));
    add_metric(metrics, "actormq_group_oldest_unconsumed_age_seconds", l,
               static_cast<double>(last.age_ms) / 1000.0);
  }
}

}  // namespace actormq
