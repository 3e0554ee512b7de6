// latency: publish -> consume latency at a fixed rate (W4).

#include <pthread.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "actormq/client/consumer.h"
#include "actormq/client/producer.h"
#include "latency_recorder.h"
#include "runs.h"

namespace actormq::perf {

namespace {

/// Where the producer writes its clocks into the payload (see runs.h).
constexpr size_t send_time_at = 0;
constexpr size_t scheduled_time_at = 8;
constexpr size_t timestamps_end = 16;

}  // namespace

int run_latency(const common_options& o, const latency_options& l) {
  auto acks = acks_from_string(l.acks);
  if (!acks || l.size < timestamps_end || l.rate <= 0) {
    std::fprintf(stderr, "actormq-perf: latency needs --size >= 16, --rate > 0, valid --acks\n");
    return 2;
  }
  if (auto e = ensure_topic(o); !e.empty()) {
    std::fprintf(stderr, "actormq-perf: %s\n", e.c_str());
    return 1;
  }
  // Timer slack would add up to 50 us to every paced send.
  prctl(PR_SET_TIMERSLACK, 1);

  client::consumer_config ccfg;
  ccfg.connection.broker = o.broker;
  ccfg.connection.client_id = "actormq-perf-consumer";
  ccfg.group_id = "perf-lat-" + std::to_string(getpid()) + "-" + std::to_string(now_ns());
  ccfg.auto_offset_reset = client::offset_reset::latest;
  ccfg.max_poll_records = 1000;
  ccfg.fetch_max_wait_ms = l.fetch_max_wait_ms;
  ccfg.use_fetch_stream = l.stream;
  auto made_c = client::consumer::create(ccfg);
  if (!made_c) {
    std::fprintf(stderr, "actormq-perf: consumer: %s\n", made_c.err().to_string().c_str());
    return 1;
  }
  auto& cons = **made_c;
  if (auto r = cons.subscribe({o.topic}); !r) {
    std::fprintf(stderr, "actormq-perf: subscribe: %s\n", r.err().to_string().c_str());
    return 1;
  }
  // The consumer must hold its partitions (and a start offset) before the
  // first send, or early messages would be skipped by offset_reset::latest.
  const uint64_t join_deadline = now_ns() + 10'000'000'000ull;
  while ((cons.assignment().empty() || !cons.position(cons.assignment().front())) &&
         now_ns() < join_deadline) {
    (void)cons.poll(std::chrono::milliseconds(50));
  }
  if (cons.assignment().empty()) {
    std::fprintf(stderr, "actormq-perf: the latency consumer got no partitions within 10 s\n");
    return 1;
  }

  // Written by the producer's callbacks: declared before the producer, so
  // that they outlive it (its destructor may still run callbacks).
  const auto count = static_cast<uint64_t>(l.rate * o.seconds);
  // Each record's acknowledgement latency (send() call to its delivery
  // report), written by whichever client thread runs the callback into the
  // record's own slot: W4 split into its produce half and the rest.
  std::vector<uint64_t> acked_ns(count, 0);
  std::atomic<uint64_t> failed{0};

  client::producer_config pcfg;
  pcfg.connection.broker = o.broker;
  pcfg.connection.client_id = "actormq-perf-producer";
  pcfg.acks = *acks;
  pcfg.linger_ms = l.linger_ms;
  pcfg.max_in_flight_per_partition = l.max_in_flight;
  auto made_p = client::producer::create(pcfg);
  if (!made_p) {
    std::fprintf(stderr, "actormq-perf: producer: %s\n", made_p.err().to_string().c_str());
    return 1;
  }
  auto& prod = **made_p;

  latency_recorder lat, colat, lag, ack;
  lat.reserve(count);
  colat.reserve(count);
  lag.reserve(count);
  ack.reserve(count);
  std::atomic<uint64_t> got{0}, sent{0};
  std::atomic<bool> sending{true};
  const uint64_t hard_deadline = now_ns() + static_cast<uint64_t>((o.seconds + 15) * 1e9);

  std::thread reader([&] {
    pthread_setname_np(pthread_self(), "perf-consumer");  // sched traces tell it apart
    uint64_t drain_deadline = hard_deadline;
    while (now_ns() < std::min(hard_deadline, drain_deadline)) {
      if (!sending.load()) {
        if (got.load() >= sent.load() - failed.load()) break;
        if (drain_deadline == hard_deadline) drain_deadline = now_ns() + 5'000'000'000ull;
      }
      auto r = cons.poll_batch(std::chrono::milliseconds(100));
      if (!r) continue;
      uint64_t t = now_ns(), ts = 0, target = 0;
      for (const auto& m : *r) {
        if (!m.value || m.value->size() < timestamps_end) continue;
        std::memcpy(&ts, m.value->data() + send_time_at, 8);
        std::memcpy(&target, m.value->data() + scheduled_time_at, 8);
        lat.add(t - ts);
        colat.add(t - target);
      }
      got.fetch_add(r->size());
    }
  });

  std::string payload = make_payload(l.size);
  cpu_probe cpu;
  cpu.start(o.server_pid);
  const uint64_t period = static_cast<uint64_t>(1e9 / l.rate);
  const uint64_t t0 = now_ns() + 50'000'000u;
  const uint64_t deadline = t0 + static_cast<uint64_t>(o.seconds * 1e9);
  {
    progress_line progress(o, o.label.empty() ? "latency" : o.label, got);
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t target = t0 + i * period;
      if (target > deadline) break;
      if (now_ns() < target) sleep_until_ns(target);
      uint64_t ts = now_ns();
      lag.add(ts > target ? ts - target : 0);
      std::memcpy(payload.data() + send_time_at, &ts, 8);
      std::memcpy(payload.data() + scheduled_time_at, &target, 8);
      client::producer_record_view rec;  // copied into the batch by send()
      rec.topic = o.topic;
      rec.value = payload;
      prod.send(rec, [&failed, &acked_ns, i, ts](const client::delivery_report& r) {
        if (!r.ok())
          failed.fetch_add(1);
        else
          acked_ns[i] = now_ns() - ts;
      });
      sent.fetch_add(1);
    }
    if (auto r = prod.flush(std::chrono::milliseconds(10000)); !r) {
      std::fprintf(stderr, "actormq-perf: flush: %s\n", r.err().to_string().c_str());
    }
    sending = false;
    reader.join();
  }
  const uint64_t elapsed = now_ns() - t0;
  // After a flush that timed out, callbacks may still come: closing settles
  // every batch (its callbacks run) before acked_ns is read.
  (void)prod.close(std::chrono::milliseconds(10000));
  for (uint64_t v : acked_ns) {
    if (v != 0) ack.add(v);
  }
  const std::string figures = cpu.stop();
  (void)cons.close();

  uint64_t s = sent.load(), g = got.load(), f = failed.load();
  char extra[320];
  std::snprintf(extra, sizeof extra,
                " size=%zu target_rate=%.0f sent=%llu lost=%llu errors=%llu linger_ms=%u acks=%s "
                "fetch=%s",
                l.size, l.rate, static_cast<unsigned long long>(s),
                static_cast<unsigned long long>(s > g ? s - g : 0),
                static_cast<unsigned long long>(f), l.linger_ms, l.acks.c_str(),
                l.stream ? "stream" : "copy");
  emit(o, "W4", g, g * l.size, elapsed,
       std::string(extra) + lat.summary() + colat.summary("co_") + lag.summary("send_lag_") +
           ack.summary("ack_"),
       figures);
  return f == 0 && g >= s ? 0 : 1;
}

}  // namespace actormq::perf
