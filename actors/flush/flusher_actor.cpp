#include "actors/flush/flusher_actor.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "actors/errc.h"
#include "actors/inspect/counted_actor.h"
#include "actors/inspect/json_writer.h"

namespace actormq {

namespace {

/// What a flusher has done, for the actor inspector.
struct flusher_state {
  static constexpr const char* name = "flusher";
  size_t index = 0;
  uint64_t syncs = 0;
  uint64_t failures = 0;
  std::chrono::nanoseconds synced_for{0};  ///< in fdatasync, in all
  std::chrono::nanoseconds slowest{0};
  std::string last_error;

  void inspect(actor_report& r) const {
    auto us = [](std::chrono::nanoseconds d) {
      return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    };
    auto mean = syncs ? us(synced_for) / static_cast<int64_t>(syncs) : 0;
    json_writer w;
    w.begin_object()
        .field("index", index)
        .field("syncs", syncs)
        .field("failures", failures)
        .field("mean_sync_us", mean)
        .field("slowest_sync_us", us(slowest))
        .field("last_error", last_error)
        .end_object();
    r.state_json = w.take();
    r.summary = fmt::format("{} syncs, mean {} us, slowest {} us, {} failed", syncs, mean,
                            us(slowest), failures);
    std::vector<metric_label> l{{"flusher", std::to_string(index)}};
    add_metric(r.metrics, "actormq_fsyncs_total", l, static_cast<double>(syncs));
    add_metric(r.metrics, "actormq_fsync_failures_total", l, static_cast<double>(failures));
    add_metric(r.metrics, "actormq_fsync_seconds_total", l,
               std::chrono::duration<double>(synced_for).count());
  }
};

// The index argument names the thread in logs; it also keeps CAF 0.17 from
// binding a null reference to an empty argument tuple (a UBSan finding).
caf::behavior flusher(inspected_untyped_pointer<flusher_state> self, size_t index) {
  self->state.index = index;
  return {
      [=](inspect_atom) { return fill_report(self); },
      [=](flush_atom, const sync_job& job) {
        auto started = std::chrono::steady_clock::now();
        auto st = job.plan.run();
        auto took = std::chrono::steady_clock::now() - started;
        auto& s = self->state;
        ++s.syncs;
        s.synced_for += took;
        s.slowest = std::max<std::chrono::nanoseconds>(s.slowest, took);
        caf::error err = st ? caf::error{} : from_storage(st.error(), st.detail());
        if (err) {
          ++s.failures;
          s.last_error = self->system().render(err);
        }
        caf::anon_send(caf::actor_cast<caf::actor>(job.reply_to), flushed_atom::value,
                       job.plan.up_to()(), std::move(err));
      },
  };
}

}  // namespace

caf::actor spawn_flusher(caf::actor_system& sys, size_t index) {
  return sys.spawn<caf::detached>(flusher, index);
}

}  // namespace actormq
