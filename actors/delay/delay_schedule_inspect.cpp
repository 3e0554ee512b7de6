// delay_schedule_state::inspect: what the actor inspector shows of the
// DELAY SCHEDULE actor (docs/inspector.md, "delay_schedule").
//
// A leader holds the entries due within its load window (load_ahead,
// about two minutes) in its timing wheel, and those read ahead or being
// delivered ("loaded"); every later entry waits in the partition's on-disk
// index. "pending" counts both per delay class (a level, retry, a
// deliver-at time; schedule_partition::pending_by_class): the index keeps
// its entries per class and bucket, a few numbers per bucket, so this
// costs no memory per message.

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

#include "actors/delay/delay_schedule_state.h"
#include "actors/inspect/json_writer.h"

namespace actormq {

void delay_schedule_state::inspect(actor_report& r) const {
  const int64_t now = now_ms();
  // What one leading slot holds in memory, not delivered yet.
  struct loaded_counts {
    size_t in_wheel = 0;
    size_t read_ahead = 0;
    size_t recording = 0;  ///< entries of the dispatch whose record is being written
    size_t queued = 0;     ///< records of target batches not acknowledged
    size_t batches = 0;
    size_t batches_in_flight = 0;
    size_t targets_retrying = 0;
    /// The earliest due time of what it holds: exact for entries read
    /// ahead or being recorded; in the wheel the expiry of its next bucket
    /// (within 64 ms of the due time up to 4 s ahead, within 4 s further
    /// out), or the next index bucket's load time when that comes first;
    /// with an empty wheel the start of the next index bucket. Entries whose
    /// envelopes are being read (due within 50 ms) and target batches
    /// (planned at most 40 ms ahead) are not looked at.
    std::optional<int64_t> next_due;
    size_t total() const { return in_wheel + read_ahead + recording + queued; }
  };
  auto loaded_of = [this](const slot& s) {
    loaded_counts c;
    auto earlier = [&c](int64_t at) { c.next_due = c.next_due ? std::min(*c.next_due, at) : at; };
    c.in_wheel = s.sp->in_wheel();
    c.read_ahead = s.soon.size();
    if (!s.soon.empty()) earlier(s.soon.front().envelope.due_ms);
    if (s.recording) {
      for (const auto& t : s.recording->record.targets) {
        c.recording += t.entries.size();
        for (const auto& e : t.entries) earlier(e.due_ms);
      }
    }
    for (const auto& [t, q] : s.queues) {
      if (q.empty()) continue;
      if (q.front().failures > 0) ++c.targets_retrying;
      for (const auto& b : q) {
        ++c.batches;
        if (b.in_flight) ++c.batches_in_flight;
        c.queued += static_cast<size_t>(std::max(delay::record_count(*b.bytes), 0));
      }
    }
    if (auto wake = s.sp->next_wake()) {
      earlier(c.in_wheel > 0 ? *wake : *wake + settings_.load_ahead.count());
    }
    return c;
  };

  json_writer w;
  w.begin_object()
      .field("replicated", settings_.replicated)
      .field("partitions", settings_.partitions)
      .field("bucket_width_ms", static_cast<int64_t>(settings_.bucket_width.count()))
      .field("load_ahead_ms", static_cast<int64_t>(settings_.load_ahead.count()))
      .field("keep_delivered_ms", static_cast<int64_t>(settings_.keep_delivered.count()))
      .field("keep_delivered_bytes", settings_.keep_delivered_bytes)
      .field("scheduled", stats_.scheduled)
      .field("delivered", stats_.delivered);

  // Pending per class over the ready leaders, for the top-level table.
  std::map<delay::delay_class, uint64_t> pending_total;
  std::vector<std::pair<uint32_t, std::vector<std::pair<delay::delay_class, uint64_t>>>> pending;
  auto delay_text = [this](delay::delay_class c) -> std::string {
    if (auto l = delay::level_of(c)) {
      if (auto d = settings_.delay_levels.delay_of(*l)) return delay::format_duration(*d);
    }
    return "";
  };
  std::vector<uint32_t> leading, catching_up;
  size_t loaded_total = 0, index_buckets = 0;
  std::optional<int64_t> next_due;
  std::vector<std::pair<uint32_t, loaded_counts>> loaded;  // of the ready leaders
  w.key("slots").begin_array();
  for (uint32_t p = 0; p < slots_.size(); ++p) {
    const auto& s = slots_[p];
    if (!s.sp) continue;
    const int64_t applied = s.sp->applied_offset();
    index_buckets += s.sp->bucket_files();
    w.begin_object()
        .field("partition", p)
        .field("role", s.leading ? "leader" : "follower")
        .field("ready", s.ready)
        .field("applied_offset", applied)
        .field("high_watermark", s.high_watermark)
        .field("apply_lag", std::max<int64_t>(0, s.high_watermark - applied))
        .field("log_start_offset", s.log_start)
        .field("lowest_needed_offset", s.sp->lowest_needed())
        .field("checkpointed_offset", s.checkpointed)
        .field("completed_dispatch", s.sp->completed_through())
        .field("index_buckets", s.sp->bucket_files());
    if (s.leading && !s.ready) {
      catching_up.push_back(p);
      w.field("catch_up_to", s.catch_up_to);
    }
    if (s.leading && s.ready) {
      leading.push_back(p);
      auto c = loaded_of(s);
      loaded_total += c.total();
      if (c.next_due) next_due = next_due ? std::min(*next_due, *c.next_due) : *c.next_due;
      w.field("loaded", c.total())
          .field("in_wheel", c.in_wheel)
          .field("read_ahead", c.read_ahead)
          .field("read_ahead_bytes", s.soon_bytes)
          .field("reading_envelopes", s.planning)
          .field("recording_entries", c.recording)
          .field("record_in_flight", s.record_in_flight)
          .field("record_ms", s.record_ms)
          .field("dispatches_out", s.targets_left.size())
          .field("target_batches", c.batches)
          .field("target_batches_in_flight", c.batches_in_flight)
          .field("targets_retrying", c.targets_retrying)
          .field("progress_failures", s.progress_failures)
          .field("collecting", s.collecting)
          .field("retention_samples", s.kept.samples());
      w.key("next_due_in_ms");
      if (c.next_due) {
        w.value(*c.next_due - now);
      } else {
        w.null();
      }
      loaded.emplace_back(p, c);
      auto by_class = s.sp->pending_by_class();
      uint64_t sum = 0;
      w.key("pending").begin_array();
      for (const auto& [cls, n] : by_class) {
        sum += n;
        pending_total[cls] += n;
        w.begin_object()
            .field("level", delay::class_label(cls))
            .field("delay", delay_text(cls))
            .field("pending", n)
            .end_object();
      }
      w.end_array();
      w.field("pending_total", sum);
      pending.emplace_back(p, std::move(by_class));
    }
    w.end_object();
  }
  w.end_array();

  // Envelopes on their way to each schedule partition (led anywhere).
  size_t envelopes_waiting = 0, envelopes_out = 0, batches_out = 0;
  w.key("appends").begin_array();
  for (const auto& [sp, q] : appends_) {
    size_t out = 0;
    for (const auto& [attempt, b] : q.out) out += b.sent ? b.sent->size() : 0;
    envelopes_waiting += q.waiting.size();
    envelopes_out += out;
    batches_out += q.out.size();
    w.begin_object()
        .field("partition", sp)
        .field("waiting", q.waiting.size())
        .field("waiting_bytes", q.bytes)
        .field("batches_out", q.out.size())
        .field("envelopes_out", out)
        .end_object();
  }
  w.end_array();
  // Every level of the configuration, then the other classes seen.
  uint64_t pending_sum = 0;
  w.key("pending_by_level").begin_array();
  auto level_row = [&](delay::delay_class c, uint64_t n) {
    pending_sum += n;
    w.begin_object()
        .field("level", delay::class_label(c))
        .field("delay", delay_text(c))
        .field("pending", n)
        .end_object();
  };
  const size_t levels = std::min(settings_.delay_levels.size(), delay::max_class_level);
  for (size_t l = 1; l <= levels; ++l) {
    auto c = delay::level_class(l);
    auto it = pending_total.find(c);
    level_row(c, it == pending_total.end() ? 0 : it->second);
  }
  for (const auto& [c, n] : pending_total) {
    auto l = delay::level_of(c);
    if (!l || *l > levels) level_row(c, n);
  }
  w.end_array();
  w.field("pending", pending_sum);
  w.field("loaded", loaded_total).field("index_buckets", index_buckets).key("next_due_in_ms");
  if (next_due) {
    w.value(*next_due - now);
  } else {
    w.null();
  }
  w.field("envelopes_waiting", envelopes_waiting)
      .field("envelopes_out", envelopes_out)
      .field("batches_out", batches_out)
      .field("early_requests", early_.size())
      .field("opening", opening_)
      .field("request_deadlines", deadlines_.size());
  w.key("legacy");
  if (legacy_) {
    w.begin_object()
        .field("buckets_left", legacy_->buckets_left())
        .field("moved", legacy_->moved())
        .field("lost", legacy_->lost())
        .field("migrating", migrating_)
        .end_object();
  } else {
    w.null();
  }
  w.end_object();
  r.state_json = w.take();

  auto list = [](const std::vector<uint32_t>& ps) {
    return ps.size() <= 8 ? fmt::format("{}", fmt::join(ps, ","))
                          : fmt::format("{} partitions", ps.size());
  };
  r.summary = fmt::format("leads {}", leading.empty() ? "none" : list(leading));
  if (!catching_up.empty()) r.summary += fmt::format(" (catching up {})", list(catching_up));
  r.summary += fmt::format(" pending {} loaded {}", pending_sum, loaded_total);
  if (next_due)
    r.summary += fmt::format(" next {:.1f}s", static_cast<double>(*next_due - now) / 1000);
  r.summary += fmt::format(" buckets {} delivered {} appending {}+{}", index_buckets,
                           stats_.delivered, envelopes_waiting, envelopes_out);
  if (legacy_) r.summary += fmt::format(" legacy {} buckets", legacy_->buckets_left());

  auto& m = r.metrics;
  for (const auto& [p, c] : loaded) {
    std::vector<metric_label> l{{"partition", std::to_string(p)}};
    add_metric(m, "actormq_delay_loaded", l, static_cast<double>(c.total()));
    if (c.next_due) {
      add_metric(m, "actormq_delay_next_due_seconds", l,
                 static_cast<double>(*c.next_due - now) / 1000);
    }
  }
  for (const auto& [p, by_class] : pending) {
    for (const auto& [cls, n] : by_class) {
      add_metric(m, "actormq_delay_pending",
                 {{"partition", std::to_string(p)},
                  {"level", delay::class_label(cls)},
                  {"delay", delay_text(cls)}},
                 static_cast<double>(n));
    }
  }
  for (uint32_t p = 0; p < slots_.size(); ++p) {
    const auto& s = slots_[p];
    if (!s.sp) continue;
    std::vector<metric_label> l{{"partition", std::to_string(p)}};
    add_metric(m, "actormq_delay_index_buckets", l, static_cast<double>(s.sp->bucket_files()));
    add_metric(
        m, "actormq_delay_apply_lag_records", l,
        static_cast<double>(std::max<int64_t>(0, s.high_watermark - s.sp->applied_offset())));
  }
  add_metric(m, "actormq_delay_envelopes_waiting", {}, static_cast<double>(envelopes_waiting));
  add_metric(m, "actormq_delay_envelopes_out", {}, static_cast<double>(envelopes_out));
  add_metric(m, "actormq_delay_scheduled_total", {}, static_cast<double>(stats_.scheduled));
  add_metric(m, "actormq_delay_delivered_total", {}, static_cast<double>(stats_.delivered));
}

}  // namespace actormq
