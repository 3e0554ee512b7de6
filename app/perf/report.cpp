#include "report.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "actormq/client/admin.h"

namespace actormq::perf {

void emit(const common_options& o, const std::string& default_label, uint64_t msgs,
          uint64_t payload_bytes, uint64_t elapsed_ns, const std::string& extra,
          const std::string& cpu_figures) {
  double secs = static_cast<double>(elapsed_ns) / 1e9;
  std::printf("peer=%s workload=%s msgs=%llu secs=%.3f msgs_per_s=%.0f mb_per_s=%.2f%s%s%s%s\n",
              o.peer.c_str(), (o.label.empty() ? default_label : o.label).c_str(),
              static_cast<unsigned long long>(msgs), secs,
              secs > 0 ? static_cast<double>(msgs) / secs : 0.0,
              secs > 0 ? static_cast<double>(payload_bytes) / 1e6 / secs : 0.0, extra.c_str(),
              cpu_figures.c_str(), o.tags.empty() ? "" : " ", o.tags.c_str());
  std::fflush(stdout);
}

progress_line::progress_line(const common_options& o, std::string label,
                             const std::atomic<uint64_t>& count) {
  if (!o.progress || !isatty(STDERR_FILENO)) return;
  thread_ = std::thread([this, label = std::move(label), &count] {
    uint64_t last = count.load(), t_last = now_ns();
    bool printed = false;
    while (!stop_.load()) {
      for (int i = 0; i < 10 && !stop_.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      uint64_t n = count.load(), t = now_ns();
      double rate = static_cast<double>(n - last) / (static_cast<double>(t - t_last) / 1e9);
      std::fprintf(stderr, "\r%s: %llu msgs, %.0f msgs/s      ", label.c_str(),
                   static_cast<unsigned long long>(n), rate);
      printed = true;
      last = n;
      t_last = t;
    }
    if (printed) std::fprintf(stderr, "\n");
  });
}

progress_line::~progress_line() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

namespace {

client::connection_config connection_for(const common_options& o) {
  client::connection_config c;
  c.broker = o.broker;
  c.client_id = "actormq-perf";
  return c;
}

}  // namespace

std::string ensure_topic(const common_options& o) {
  auto a = client::admin::create(connection_for(o));
  if (!a) return "cannot connect to " + o.broker + ": " + a.err().to_string();
  client::topic_config tc;
  tc.partitions = o.partitions;
  tc.replication_factor = o.replication_factor;
  auto r = (*a)->create_topic(o.topic, tc);
  if (!r && !r.err().is(client::errc::topic_exists)) {
    return "create topic '" + o.topic + "': " + r.err().to_string();
  }
  return "";
}

int64_t stored_messages(const common_options& o) {
  auto a = client::admin::create(connection_for(o));
  if (!a) return -1;
  auto t = (*a)->describe_topic(o.topic);
  if (!t) return -1;
  int64_t sum = 0;
  for (const auto& p : t->partitions) sum += p.high_watermark - p.log_start_offset;
  return sum;
}

std::string make_payload(size_t size) {
  std::string p(size, '\0');
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<char>('a' + (i * 7) % 26);
  return p;
}

}  // namespace actormq::perf
