// txn_coordinator_state::inspect: what the actor inspector shows of the
// TRANSACTION COORDINATOR (docs/inspector.md, "txn_coordinator").

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "actors/inspect/json_writer.h"
#include "actors/txn/txn_coordinator_state.h"
#include "storage/log_config.h"

namespace actormq {

void txn_coordinator_state::inspect(actor_report& r) const {
  // Runs every second. One pass over the unfinished transactions (bounded
  // by max_open_transactions, all in memory) counts them and keeps the
  // oldest max_listed for the list; nothing else is scanned per transaction.
  constexpr size_t max_listed = 100;
  const int64_t now = storage::system_now()();

  using listed_txn = std::tuple<int64_t, uint64_t, const runtime*>;  // created, id, runtime
  std::vector<listed_txn> oldest;  // a max-heap of the oldest max_listed
  oldest.reserve(max_listed + 1);
  size_t open = 0, deciding = 0, delivering = 0;
  for (const auto& [id, rt] : live_) {
    if (rt.machine.is_open()) ++open;
    if (rt.deciding) ++deciding;
    if (rt.delivering) ++delivering;
    listed_txn x{rt.machine.created_ms(), id, &rt};
    if (oldest.size() == max_listed && !(x < oldest.front())) continue;
    oldest.push_back(x);
    std::push_heap(oldest.begin(), oldest.end());
    if (oldest.size() > max_listed) {
      std::pop_heap(oldest.begin(), oldest.end());
      oldest.pop_back();
    }
  }
  std::sort_heap(oldest.begin(), oldest.end());

  size_t waiting_for_checker = 0;
  for (const auto& [group, ids] : waiting_) waiting_for_checker += ids.size();
  size_t checker_sessions = 0;
  for (const auto& [group, sessions] : checkers_) checker_sessions += sessions.size();

  json_writer w;
  w.begin_object()
      .field("replicated", settings_.replicated)
      .field("state_partitions", slots_.size());
  // The partitions of __transaction_state this broker coordinates or loads.
  std::vector<uint32_t> ready, loading;
  w.key("partitions").begin_array();
  for (uint32_t p = 0; p < slots_.size(); ++p) {
    const auto& s = slots_[p];
    if (s.state == status::idle) continue;
    (s.state == status::ready ? ready : loading).push_back(p);
    w.begin_object()
        .field("partition", p)
        .field("status", s.state == status::ready ? "ready" : "loading")
        .field("epoch", s.epoch)
        .field("transactions", s.table ? s.table->records().size() : 0)
        .field("unfinished", s.table ? s.table->unfinished() : 0)
        .field("waiting_requests", s.waiting.size())
        .field("load_failed", s.retry)
        .field("compacting", s.compacting)
        .end_object();
  }
  w.end_array();
  w.field("open", open)
      .field("unfinished", live_.size())
      .field("deciding", deciding)
      .field("delivering", delivering)
      .field("max_open_transactions", settings_.max_open_transactions)
      .field("checks_in_flight", in_flight_.size())
      .field("max_checks_in_flight", settings_.max_checks_in_flight)
      .field("waiting_for_checker", waiting_for_checker)
      .field("checker_groups", checkers_.size())
      .field("checker_sessions", checker_sessions)
      .field("delivery_retries", retries_.size())
      .field("timers", wheel_ ? wheel_->size() : 0)
      .field("unled_requests", unled_.size())
      .field("early_requests", early_.size())
      .field("list_requests_waiting", list_waiting_.size())
      .field("legacy_events", legacy_.size())
      .field("committed", stats_.committed)
      .field("rolled_back", stats_.rolled_back)
      .field("unresolved", stats_.unresolved)
      .field("checks_sent", stats_.checks_sent);
  const auto& policy = settings_.policy;
  w.key("check_policy")
      .begin_object()
      .field("timeout_ms", static_cast<int64_t>(policy.timeout.count()))
      .field("interval_ms", static_cast<int64_t>(policy.interval.count()))
      .field("max_checks", policy.max_checks)
      .field("check_timeout_ms", static_cast<int64_t>(settings_.check_timeout.count()))
      .end_object();
  // The oldest unfinished transactions (open, or decided and not delivered).
  w.key("transactions").begin_array();
  for (const auto& [created, id, rt] : oldest) {
    const auto* rec = record(id);
    w.begin_object()
        .field("id", id)
        .field("state_partition", txn::txn_partition_of(id))
        .field("group", rec ? rec->half.group : "")
        .field("topic", rec ? rec->half.topic : "")
        .field("partition", rec ? rec->half.partition : 0)
        .field("state", to_string(rt->machine.state()))
        .field("age_ms", now - created)
        .field("checks", rt->machine.checks());
    if (rt->machine.is_open()) {
      // Negative: overdue (no room for checks, or no producer connected).
      w.field("next_check_in_ms", rt->machine.next_check_ms(policy) - now)
          .field("checks_exhausted", rt->machine.checks_exhausted(policy));
    } else {
      w.key("next_check_in_ms").null();
    }
    bool waits = false;
    if (rec) {
      auto g = waiting_.find(rec->half.group);
      waits = g != waiting_.end() && g->second.count(id) > 0;
    }
    w.field("check_in_flight", in_flight_.count(id) > 0)
        .field("waiting_for_checker", waits)
        .field("deciding", rt->deciding)
        .field("delivering", rt->delivering)
        .field("half_pending", rt->half_pending)
        .field("deliver_at_ms", rec ? rec->half.deliver_at_ms : 0)
        .field("delay_ms", rec ? rec->half.delay_ms : 0)
        .field("batch_bytes", rec ? rec->half.batch.size() : 0)
        .end_object();
  }
  w.end_array().end_object();
  r.state_json = w.take();

  auto list = [](const std::vector<uint32_t>& ps) {
    return ps.size() <= 8 ? fmt::format("{}", fmt::join(ps, ","))
                          : fmt::format("{} partitions", ps.size());
  };
  r.summary = fmt::format("leads {}", ready.empty() ? "none" : list(ready));
  if (!loading.empty()) r.summary += fmt::format(" (loading {})", list(loading));
  r.summary +=
      fmt::format(" open {} checks {}/{}", open, in_flight_.size(), settings_.max_checks_in_flight);
  if (waiting_for_checker > 0) r.summary += fmt::format(" no-checker {}", waiting_for_checker);
  if (delivering > 0) r.summary += fmt::format(" delivering {}", delivering);
  r.summary += fmt::format(" commits {} rollbacks {} unresolved {}", stats_.committed,
                           stats_.rolled_back, stats_.unresolved);

  auto& m = r.metrics;
  add_metric(m, "actormq_txn_open", {}, static_cast<double>(open));
  add_metric(m, "actormq_txn_checks_in_flight", {}, static_cast<double>(in_flight_.size()));
  add_metric(m, "actormq_txn_checks_waiting", {}, static_cast<double>(waiting_for_checker));
  add_metric(m, "actormq_txn_checks_total", {}, static_cast<double>(stats_.checks_sent));
  add_metric(m, "actormq_txn_committed_total", {}, static_cast<double>(stats_.committed));
  add_metric(m, "actormq_txn_rolled_back_total", {}, static_cast<double>(stats_.rolled_back));
  add_metric(m, "actormq_txn_unresolved_total", {}, static_cast<double>(stats_.unresolved));
}

}  // namespace actormq
