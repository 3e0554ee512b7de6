// delay_schedule_state::inspect: what the actor inspector shows of the
// DELAY SCHEDULE actor (docs/inspector.md, "delay_schedule").
//
// Only what is in memory is shown. A leader holds the entries due within
// its load window (load_ahead, about two minutes) in its timing wheel, and
// those read ahead or being delivered; every later entry waits in the
// partition's on-disk index, whose entries are not counted anywhere in
// memory, so the number of all pending delayed messages (and a split by
// delay level, which an envelope does not record: it holds only its due
// time) is not shown. The index's bucket files stand for the rest.

#include <fmt/format.h>

#include <algorithm>
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
      .field("scheduled", stats_.scheduled)
      .field("delivered", stats_.delivered);

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
          .field("collecting", s.collecting);
      w.key("next_due_in_ms");
      if (c.next_due) {
        w.value(*c.next_due - now);
      } else {
        w.null();
      }
      loaded.emplace_back(p, c);
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
  r.summary += fmt::format(" loaded {}", loaded_total);
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
