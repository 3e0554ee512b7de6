// actormq-delay-cluster-bench: delayed messages through the client library
// against a running broker or cluster (the same tool for both, so a
// 3-broker cluster and one broker are measured the same way).
//
//   actormq-delay-cluster-bench --broker HOST:PORT[,HOST:PORT...]
//       [--pids P1,P2,...] [--data-dirs D1,D2,...] [--replication-factor R]
//       [--count N] [--due M] ...
//
// Phases (as actormq-delay-bench's, which starts its own broker and talks
// raw capnp to it):
//   ingest  --count delayed records (--value-bytes each) to topic "--topic-far"
//           (--partitions, round robin), deliver-at uniform in [send time +
//           --far-from-ms, send time + --far-to-ms]; one producer, acks all,
//           --window records unacknowledged at most. Reports scheduled
//           msgs/s, and per broker (--pids) VmRSS, VmHWM and CPU seconds, and
//           the schedule's disk use (--data-dirs: topics/__delay_schedule and
//           delay-schedule).
//   due     --due records to a one-partition topic "--topic-due", deliver-at
//           uniform in [now + --due-from-ms, now + --due-to-ms], while the
//           far ones are pending; a consumer (its own group, from the start)
//           reads them: lateness = read time - deliver-at (carried in the
//           value), p50/p99/p999/max; early = read before deliver-at (must
//           be 0).
// Lines follow ../shared/bench (peer=actormq workload=... key=value). Every
// wait is bounded by --max-secs. docs/benchmarks.md, "Delayed messages".

#include <CLI/CLI.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "actormq/client/admin.h"
#include "actormq/client/consumer.h"
#include "actormq/client/producer.h"
#include "process_stats.h"

namespace {

using namespace actormq;
using steady = std::chrono::steady_clock;

struct options {
  std::string broker = client::default_broker;
  std::vector<pid_t> pids;
  std::vector<std::string> data_dirs;
  uint32_t replication_factor = 0;  ///< 0: the broker's default
  std::string topic_far = "delay-far";
  std::string topic_due = "delay-due";
  uint64_t count = 100'000;
  uint32_t partitions = 4;
  uint32_t window = 2048;
  uint32_t value_bytes = 100;
  int64_t far_from_ms = 60'000;
  int64_t far_to_ms = 3'660'000;
  uint64_t due = 20'000;
  int64_t due_from_ms = 10'000;
  int64_t due_to_ms = 40'000;
  double max_secs = 900;
  uint64_t seed = 42;
};

struct send_stats {
  uint64_t sent = 0;
  uint64_t scheduled = 0;
  uint64_t errors = 0;
  std::string first_error;
  double secs = 0;
};

std::string value_of(int64_t deliver_at, uint64_t i, uint32_t bytes) {
  // The value starts with the due time so the reader can compute lateness.
  std::string v = std::to_string(deliver_at) + " " + std::to_string(i) + " ";
  v.resize(std::max<size_t>(v.size(), bytes), 'x');
  return v;
}

/// Sends count delayed records with at most window unacknowledged; at(i) is
/// record i's deliver-at, partition i % partitions.
template <typename At>
send_stats send_all(client::producer& p, const options& o, const std::string& topic, uint64_t count,
                    uint32_t partitions, At at) {
  send_stats st;
  std::mutex mu;
  std::condition_variable cv;
  uint64_t outstanding = 0;
  const auto start = steady::now();
  const auto deadline = start + std::chrono::duration_cast<steady::duration>(
                                    std::chrono::duration<double>(o.max_secs));
  for (uint64_t i = 0; i < count && steady::now() < deadline; ++i) {
    {
      std::unique_lock lk(mu);
      cv.wait_until(lk, deadline, [&] { return outstanding < o.window; });
      if (outstanding >= o.window) break;
      ++outstanding;
    }
    client::producer_record rec;
    rec.topic = topic;
    rec.partition = static_cast<uint32_t>(i % partitions);
    rec.deliver_at_ms = at(i);
    rec.value = value_of(*rec.deliver_at_ms, i, o.value_bytes);
    ++st.sent;
    p.send(std::move(rec), [&](const client::delivery_report& r) {
      std::lock_guard lk(mu);
      if (!r.ok()) {
        if (st.errors++ == 0) st.first_error = r.err.to_string();
      } else if (r.scheduled) {
        ++st.scheduled;
      }
      --outstanding;
      cv.notify_all();
    });
  }
  std::unique_lock lk(mu);
  cv.wait_until(lk, deadline + std::chrono::seconds(30), [&] { return outstanding == 0; });
  st.secs = std::chrono::duration<double>(steady::now() - start).count();
  return st;
}

/// Per broker: "rss/hwm/cpu" of each --pids entry.
std::string brokers_line(const options& o, const std::vector<double>& cpu0) {
  std::ostringstream out;
  for (size_t i = 0; i < o.pids.size(); ++i) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%s%.1f/%.1f/%.1f", i ? "," : "",
                  bench::status_mib(o.pids[i], "VmRSS"), bench::status_mib(o.pids[i], "VmHWM"),
                  bench::cpu_secs(o.pids[i]) - cpu0[i]);
    out << buf;
  }
  return out.str();
}

int run(const options& o) {
  client::connection_config cc;
  cc.broker = o.broker;
  auto adm = client::admin::create(cc);
  if (!adm) return std::fprintf(stderr, "connect: %s\n", adm.err().to_string().c_str()), 1;
  for (auto [name, n] : {std::pair{o.topic_far, o.partitions}, std::pair{o.topic_due, 1u}}) {
    client::topic_config t;
    t.partitions = n;
    t.replication_factor = o.replication_factor;
    if (auto st = (*adm)->create_topic(name, t); !st) {
      std::fprintf(stderr, "create %s: %s\n", name.c_str(), st.err().to_string().c_str());
      return 1;
    }
  }
  client::producer_config pc;
  pc.connection = cc;
  pc.linger_ms = 0;
  // A delayed record is a batch of its own (its deliver-at), unordered and
  // unsequenced: --window of them in flight, not 1 per partition.
  pc.idempotent = false;
  pc.max_in_flight_per_partition = std::max<uint32_t>(o.window / o.partitions, 1);
  auto prod = client::producer::create(pc);
  if (!prod) return std::fprintf(stderr, "producer: %s\n", prod.err().to_string().c_str()), 1;
  std::mt19937_64 rng(o.seed);
  std::vector<double> cpu0;
  for (auto pid : o.pids) cpu0.push_back(bench::cpu_secs(pid));

  // ---- ingest ----
  std::uniform_int_distribution<int64_t> far(o.far_from_ms, o.far_to_ms);
  auto ing = send_all(**prod, o, o.topic_far, o.count, o.partitions,
                      [&](uint64_t) { return bench::wall_ms() + far(rng); });
  uint64_t disk = 0, alloc = 0;
  for (const auto& d : o.data_dirs) {
    for (auto sub : {"topics/__delay_schedule", "delay-schedule"}) {
      auto [b, a] = bench::disk_use(std::filesystem::path(d) / sub);
      disk += b;
      alloc += a;
    }
  }
  std::printf(
      "peer=actormq workload=delay_ingest brokers=%zu msgs=%llu scheduled=%llu errors=%llu "
      "secs=%.1f msgs_per_s=%.0f window=%u size=%u partitions=%u rf=%u "
      "rss_hwm_cpu_per_broker=%s delay_disk_mb=%.1f delay_disk_alloc_mb=%.1f first_error=\"%s\"\n",
      o.pids.size(), static_cast<unsigned long long>(ing.sent),
      static_cast<unsigned long long>(ing.scheduled), static_cast<unsigned long long>(ing.errors),
      ing.secs, static_cast<double>(ing.scheduled) / std::max(ing.secs, 1e-9), o.window,
      o.value_bytes, o.partitions, o.replication_factor, brokers_line(o, cpu0).c_str(),
      static_cast<double>(disk) / (1 << 20), static_cast<double>(alloc) / (1 << 20),
      ing.first_error.c_str());
  std::fflush(stdout);
  if (o.due == 0) return ing.errors == 0 ? 0 : 1;

  // ---- due: lateness with the far ones pending ----
  client::consumer_config ccfg;
  ccfg.connection = cc;
  ccfg.group_id = "delay-bench-" + std::to_string(steady::now().time_since_epoch().count());
  ccfg.auto_offset_reset = client::offset_reset::earliest;
  ccfg.fetch_max_wait_ms = 100;
  ccfg.retry_topics = false;
  auto cons = client::consumer::create(ccfg);
  if (!cons || !(*cons)->subscribe({o.topic_due})) {
    std::fprintf(stderr, "consumer: %s\n",
                 cons ? "subscribe failed" : cons.err().to_string().c_str());
    return 1;
  }
  std::atomic<uint64_t> want{UINT64_MAX};  // the scheduled count, once known
  std::vector<int64_t> late;
  uint64_t early = 0;
  std::thread reader([&] {
    // Sending takes seconds; everything is due by due_to_ms after it.
    const auto stop_at =
        steady::now() + std::chrono::milliseconds(o.due_to_ms) + std::chrono::seconds(60);
    while (steady::now() < stop_at && late.size() < want) {
      auto got = (*cons)->poll(std::chrono::milliseconds(100));
      const int64_t now = bench::wall_ms();
      if (!got) continue;
      for (const auto& m : *got) {
        if (!m.value) continue;
        const int64_t due = std::stoll(m.value->substr(0, m.value->find(' ')));
        if (now < due) ++early;
        late.push_back(now - due);
      }
    }
  });
  std::uniform_int_distribution<int64_t> soon(o.due_from_ms, o.due_to_ms);
  auto sched = send_all(**prod, o, o.topic_due, o.due, 1,
                        [&](uint64_t) { return bench::wall_ms() + soon(rng); });
  want = sched.scheduled;
  reader.join();
  const auto n = late.size();
  auto p50 = bench::percentile(late, 0.50), p99 = bench::percentile(late, 0.99),
       p999 = bench::percentile(late, 0.999);
  auto max = late.empty() ? -1.0 : static_cast<double>(*std::max_element(late.begin(), late.end()));
  std::printf(
      "peer=actormq workload=delay_due brokers=%zu pending=%llu msgs=%llu received=%zu "
      "errors=%llu sched_secs=%.1f spread_ms=%lld..%lld late_p50_ms=%.0f late_p99_ms=%.0f "
      "late_p999_ms=%.0f late_max_ms=%.0f early=%llu rss_hwm_cpu_per_broker=%s "
      "first_error=\"%s\"\n",
      o.pids.size(), static_cast<unsigned long long>(ing.scheduled),
      static_cast<unsigned long long>(sched.sent), n, static_cast<unsigned long long>(sched.errors),
      sched.secs, static_cast<long long>(o.due_from_ms), static_cast<long long>(o.due_to_ms), p50,
      p99, p999, max, static_cast<unsigned long long>(early), brokers_line(o, cpu0).c_str(),
      sched.first_error.c_str());
  (void)(*prod)->close(std::chrono::seconds(10));
  (void)(*cons)->close();
  return (ing.errors == 0 && sched.errors == 0 && n == sched.scheduled && early == 0) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"actormq-delay-cluster-bench: delayed messages through the client library"};
  app.add_option("--broker", o.broker, "HOST:PORT or a bootstrap list")->capture_default_str();
  app.add_option("--pids", o.pids, "broker pids (memory, CPU)")->delimiter(',');
  app.add_option("--data-dirs", o.data_dirs, "broker data dirs (schedule disk use)")
      ->delimiter(',');
  app.add_option("--replication-factor", o.replication_factor, "of the two topics (0: default)")
      ->capture_default_str();
  app.add_option("--count", o.count, "far delayed records (ingest phase)")->capture_default_str();
  app.add_option("--partitions", o.partitions, "partitions of the far topic")
      ->capture_default_str();
  app.add_option("--window", o.window, "records unacknowledged at most")->capture_default_str();
  app.add_option("--value-bytes", o.value_bytes, "record value size")->capture_default_str();
  app.add_option("--far-from-ms", o.far_from_ms, "earliest far delay")->capture_default_str();
  app.add_option("--far-to-ms", o.far_to_ms, "latest far delay")->capture_default_str();
  app.add_option("--due", o.due, "due-soon records (lateness phase; 0 = skip)")
      ->capture_default_str();
  app.add_option("--due-from-ms", o.due_from_ms, "earliest due delay")->capture_default_str();
  app.add_option("--due-to-ms", o.due_to_ms, "latest due delay")->capture_default_str();
  app.add_option("--topic-far", o.topic_far, "far topic (created)")->capture_default_str();
  app.add_option("--topic-due", o.topic_due, "due topic (created)")->capture_default_str();
  app.add_option("--max-secs", o.max_secs, "bound of each phase")->capture_default_str();
  app.add_option("--seed", o.seed, "random seed")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  o.window = std::max<uint32_t>(o.window, 1);
  o.partitions = std::max<uint32_t>(o.partitions, 1);
  return run(o);
}
