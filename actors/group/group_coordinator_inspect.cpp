// group_coordinator_state::inspect: what the actor inspector shows of the
// group coordinator (docs/inspector.md, "group_coordinator"): which
// partitions of __consumer_offsets this broker leads or is loading, the
// groups they hold (running or dormant), compactions and waiting requests.

#include <fmt/format.h>

#include <map>
#include <string_view>

#include "actors/group/group_coordinator_state.h"
#include "actors/inspect/json_writer.h"

namespace actormq {

void group_coordinator_state::inspect(actor_report& r) const {
  auto state_name = [](status s) -> std::string_view {
    switch (s) {
      case status::idle:
        return "idle";
      case status::loading:
        return "loading";
      case status::ready:
        return "ready";
    }
    return "unknown";
  };
  // Running groups per partition; every group by name (running or dormant:
  // replayed from the log, no actor until first used).
  std::vector<size_t> running(slots_.size(), 0);
  std::map<std::string_view, std::pair<uint32_t, bool>> all;
  for (const auto& [name, g] : groups_) {
    if (g.second < running.size()) ++running[g.second];
    all[name] = {g.second, true};
  }
  std::vector<uint32_t> ready;
  std::vector<uint32_t> loading;
  size_t compacting = 0;
  for (uint32_t p = 0; p < slots_.size(); ++p) {
    const auto& s = slots_[p];
    if (s.state == status::ready) ready.push_back(p);
    if (s.state == status::loading) loading.push_back(p);
    if (s.compacting) ++compacting;
    if (s.state != status::ready) continue;
    for (const auto& [name, o] : s.loaded) all.try_emplace(name, p, false);
  }

  json_writer w;
  w.begin_object()
      .field("topic", group::offsets_topic)
      .field("replicated", settings_.replicated)
      .field("state_partitions", slots_.size());
  w.key("leads").begin_array();
  for (auto p : ready) w.value(p);
  w.end_array();
  w.key("loading").begin_array();
  for (auto p : loading) w.value(p);
  w.end_array();
  // Each partition led or being loaded here.
  w.key("partitions").begin_array();
  for (uint32_t p = 0; p < slots_.size(); ++p) {
    const auto& s = slots_[p];
    if (s.state == status::idle) continue;
    w.begin_object()
        .field("partition", p)
        .field("state", state_name(s.state))
        .field("epoch", s.epoch)
        .field("load_failed", s.retry)
        .field("running_groups", running[p])
        .field("dormant_groups", s.loaded.size())
        .field("waiting_requests", s.waiting.size())
        .field("live_records", s.live_records)
        .field("compacting", s.compacting)
        .end_object();
  }
  w.end_array();
  w.field("running_groups", groups_.size()).field("known_groups", all.size());
  w.key("groups").begin_array();
  for (const auto& [name, where] : all) {
    w.begin_object()
        .field("name", name)
        .field("partition", where.first)
        .field("running", where.second)
        .end_object();
  }
  w.end_array();
  w.key("compaction")
      .begin_object()
      .field(
          "interval_ms",
          std::chrono::duration_cast<std::chrono::milliseconds>(settings_.compact_interval).count())
      .field("min_records", settings_.compact_min_records)
      .field("ratio", settings_.compact_ratio)
      .field("in_progress", compacting)
      .end_object();
  w.field("unled_requests", unled_.size())
      .field("early_requests", early_.size())
      .field("waiting_lists", list_waiting_.size());
  // Groups of the previous release's format not moved yet.
  w.key("legacy_groups").begin_array();
  for (const auto& [name, o] : legacy_) w.value(name);
  w.end_array();
  w.end_object();
  r.state_json = w.take();

  r.summary =
      fmt::format("{} group{} ({} running), leads {} partitions {}", all.size(),
                  all.size() == 1 ? "" : "s", groups_.size(), group::offsets_topic,
                  ready.empty() ? std::string("none") : fmt::format("{}", fmt::join(ready, ",")));
  if (!loading.empty()) r.summary += fmt::format(", loading {}", fmt::join(loading, ","));
  if (compacting > 0) r.summary += fmt::format(", compacting {}", compacting);
  if (!unled_.empty()) r.summary += fmt::format(", {} request(s) wait for a lead", unled_.size());

  auto& m = r.metrics;
  add_metric(m, "actormq_groups", {}, static_cast<double>(groups_.size()));
  add_metric(m, "actormq_group_coordinator_partitions", {{"state", "ready"}},
             static_cast<double>(ready.size()));
  add_metric(m, "actormq_group_coordinator_partitions", {{"state", "loading"}},
             static_cast<double>(loading.size()));
}

}  // namespace actormq
