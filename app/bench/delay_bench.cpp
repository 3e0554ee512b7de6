// actormq-delay-bench: delayed messages at scale against a real broker.
//
// Starts actormq-broker (--broker-bin) on a fresh --data-dir (its output goes
// to <data-dir>.log), then runs two phases over the raw Broker protocol (one
// capnp connection, --window produce requests outstanding):
//
//   ingest  --count delayed 100-byte records (each one scheduled entry), to
//           topic "delay-far" (--partitions, round robin by request), each
//           record's deliver-at uniform in [send time + --far-from, send time
//           + --far-to] (default 1 min .. 61 min). --records-per-request 1
//           (the default) sends each record alone with deliverAtMs; N > 1
//           sends N records per request, each with its own time
//           (deliverAtList), as the client library batches them. Reports scheduled msgs/s,
//           the broker's VmRSS and VmHWM (/proc/<pid>/status), its CPU
//           seconds, and the disk use of the schedule (<data-dir>/topics/
//           __delay_schedule and the indexes in <data-dir>/delay-schedule).
//   due     --due requests to topic "delay-due" (1 partition), deliver-at
//           uniform in [now + --due-from, now + --due-to] (default 10..40 s),
//           while everything of the ingest phase is still pending. It then
//           fetches delay-due (long poll) and reports the lateness of each
//           message, arrival time minus deliver-at (carried in the value),
//           p50/p99/p999/max; early = arrivals before their time (must be 0).
//
// Lines follow ../shared/bench: peer=actormq workload=delay_ingest|delay_due
// key=value... Every loop is bounded by its count and by --max-secs.

#include <capnp/ez-rpc.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "process_stats.h"
#include "schema/actormq.capnp.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace {

namespace fs = std::filesystem;
using namespace actormq;
using steady = std::chrono::steady_clock;
using bench::cpu_secs;
using bench::disk_use;
using bench::percentile;
using bench::status_mib;
using bench::wall_ms;

struct options {
  std::string broker_bin;
  fs::path data_dir = "/tmp/actormq-delay-bench/data";
  uint64_t count = 1'000'000;
  uint32_t partitions = 4;
  uint32_t window = 2048;
  uint32_t records_per_request = 1;
  uint32_t value_bytes = 100;
  int64_t far_from_ms = 60'000;
  int64_t far_to_ms = 3'660'000;
  uint64_t due = 20'000;
  int64_t due_from_ms = 10'000;
  int64_t due_to_ms = 40'000;
  std::string acks = "leader";
  double max_secs = 900;
  uint64_t seed = 42;
};

double secs_since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}

/// The broker child process; stopped (SIGTERM, then SIGKILL) on destruction.
class broker_child {
 public:
  bool start(const options& o, std::string* address) {
    auto log_path = o.data_dir.string() + ".log";
    // A log left by an earlier run would be read before the child truncates it.
    ::unlink(log_path.c_str());
    pid_ = ::fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execl(o.broker_bin.c_str(), o.broker_bin.c_str(), "--listen", "127.0.0.1:0", "--data-dir",
              o.data_dir.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    auto deadline = steady::now() + std::chrono::seconds(30);
    while (steady::now() < deadline) {
      std::ifstream in(log_path);
      std::string line;
      while (std::getline(in, line)) {
        auto at = line.find("listening on ");
        if (at == std::string::npos) continue;
        *address = line.substr(at + 13);
        if (auto sp = address->find_first_of(" \r\t"); sp != std::string::npos) address->resize(sp);
        return true;
      }
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  ~broker_child() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 300; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

/// One delayed produce request: its records and each one's due time.
struct delayed_request {
  std::string topic;
  uint32_t partition = 0;
  std::string batch;
  std::vector<int64_t> dues;
};

/// Records first .. first + n - 1, record i due at due_of(); the value
/// starts with the due time so the consumer can compute lateness.
template <typename DueOf>
delayed_request make_request(std::string topic, uint32_t partition, uint64_t first, uint64_t n,
                             uint32_t value_bytes, DueOf due_of) {
  delayed_request r{std::move(topic), partition, {}, {}};
  storage::record_batch_builder b;
  const auto now = storage::timestamp_ms(wall_ms());
  for (uint64_t i = first; i < first + n; ++i) {
    const int64_t at = due_of();
    std::string value = std::to_string(at) + " " + std::to_string(i) + " ";
    value.resize(std::max<size_t>(value.size(), value_bytes), 'x');
    b.add(std::nullopt, std::string_view(value), now);
    r.dues.push_back(at);
  }
  r.batch = b.build();
  return r;
}

rpc::Acks acks_of(const std::string& s) {
  if (s == "none") return rpc::Acks::NONE;
  if (s == "fsync") return rpc::Acks::FSYNC;
  if (s == "all") return rpc::Acks::ALL;
  return rpc::Acks::LEADER;
}

struct pipeline_stats {
  uint64_t sent = 0;
  uint64_t scheduled = 0;
  uint64_t errors = 0;
  std::string first_error;
  double secs = 0;
};

/// Sends count delayed records, per records requests, with up to window
/// requests outstanding. make(first, n) returns the request of records
/// first .. first + n - 1.
template <typename Make>
pipeline_stats pipeline(capnp::EzRpcClient& client, rpc::Broker::Client& broker, uint64_t count,
                        uint32_t per_request, uint32_t window, rpc::Acks acks, double max_secs,
                        Make make) {
  pipeline_stats st;
  auto& ws = client.getWaitScope();
  auto start = steady::now();
  auto deadline =
      start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(max_secs));
  uint64_t outstanding = 0;
  auto paf = kj::newPromiseAndFulfiller<void>();
  kj::Own<kj::PromiseFulfiller<void>> wake = kj::mv(paf.fulfiller);
  kj::Promise<void> wait = kj::mv(paf.promise);
  struct ignore_errors final : kj::TaskSet::ErrorHandler {
    void taskFailed(kj::Exception&&) override {}  // each task handles its own
  } eh;
  kj::TaskSet tasks(eh);
  auto done = [&] {
    --outstanding;
    if (wake->isWaiting()) wake->fulfill();
  };
  while (st.sent < count || outstanding > 0) {
    while (st.sent < count && outstanding < window && steady::now() < deadline) {
      const uint64_t n = std::min<uint64_t>(std::max<uint32_t>(per_request, 1), count - st.sent);
      auto r = make(st.sent, n);
      auto req = broker.produceRequest();
      req.setTopic(r.topic);
      req.setPartition(r.partition);
      req.setAcks(acks);
      if (r.dues.size() == 1) {
        req.setDeliverAtMs(r.dues[0]);
      } else {
        auto l = req.initDeliverAtList(static_cast<unsigned>(r.dues.size()));
        for (unsigned i = 0; i < r.dues.size(); ++i) l.set(i, r.dues[i]);
      }
      req.setBatch(
          capnp::Data::Reader(reinterpret_cast<const kj::byte*>(r.batch.data()), r.batch.size()));
      st.sent += n;
      ++outstanding;
      tasks.add(req.send().then(
          [&, n](auto&& resp) {
            if (resp.getError().getCode() != rpc::ErrorCode::NONE) {
              if (st.errors++ == 0) st.first_error = resp.getError().getMessage().cStr();
            } else if (resp.getScheduled()) {
              st.scheduled += n;
            }
            done();
          },
          [&](kj::Exception&& e) {
            if (st.errors++ == 0) st.first_error = e.getDescription().cStr();
            done();
          }));
    }
    if (outstanding == 0) break;  // deadline hit with nothing left in flight
    wait.wait(ws);
    auto next = kj::newPromiseAndFulfiller<void>();
    wake = kj::mv(next.fulfiller);
    wait = kj::mv(next.promise);
  }
  st.secs = secs_since(start);
  return st;
}

void create_topic(capnp::EzRpcClient& client, rpc::Broker::Client& broker, const std::string& name,
                  uint32_t partitions) {
  auto req = broker.createTopicRequest();
  req.setName(name);
  req.initConfig().setPartitions(partitions);
  auto resp = req.send().wait(client.getWaitScope());
  if (resp.getError().getCode() != rpc::ErrorCode::NONE) {
    std::fprintf(stderr, "create %s: %s\n", name.c_str(), resp.getError().getMessage().cStr());
    std::exit(1);
  }
}

int64_t high_watermark_sum(capnp::EzRpcClient& client, rpc::Broker::Client& broker,
                           const std::string& name) {
  auto req = broker.describeTopicRequest();
  req.setName(name);
  auto resp = req.send().wait(client.getWaitScope());
  int64_t sum = 0;
  for (auto p : resp.getTopic().getPartitions()) sum += p.getHighWatermark();
  return sum;
}

}  // namespace

namespace {
int run(const options& o);
}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"actormq-delay-bench: delayed message ingest, memory and lateness"};
  app.add_option("--broker-bin", o.broker_bin, "actormq-broker binary")->required();
  app.add_option("--data-dir", o.data_dir, "fresh broker data directory (removed first)")
      ->capture_default_str();
  app.add_option("--count", o.count, "far delayed requests (ingest phase)")->capture_default_str();
  app.add_option("--partitions", o.partitions, "partitions of delay-far")->capture_default_str();
  app.add_option("--window", o.window, "requests outstanding")->capture_default_str();
  app.add_option("--records-per-request", o.records_per_request,
                 "records per request, each with its own deliver-at (1: deliverAtMs)")
      ->capture_default_str();
  app.add_option("--value-bytes", o.value_bytes, "record value size")->capture_default_str();
  app.add_option("--far-from-ms", o.far_from_ms, "earliest far delay")->capture_default_str();
  app.add_option("--far-to-ms", o.far_to_ms, "latest far delay")->capture_default_str();
  app.add_option("--due", o.due, "due-soon requests (lateness phase; 0 = skip)")
      ->capture_default_str();
  app.add_option("--due-from-ms", o.due_from_ms, "earliest due delay")->capture_default_str();
  app.add_option("--due-to-ms", o.due_to_ms, "latest due delay")->capture_default_str();
  app.add_option("--acks", o.acks, "none, leader or fsync")
      ->check(CLI::IsMember({"none", "leader", "fsync", "all"}))
      ->capture_default_str();
  app.add_option("--max-secs", o.max_secs, "bound of each phase")->capture_default_str();
  app.add_option("--seed", o.seed, "random seed")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    return run(o);
  } catch (const kj::Exception& e) {
    std::fprintf(stderr, "actormq-delay-bench: %s\n", e.getDescription().cStr());
    return 1;
  }
}

namespace {

int run(const options& o) {
  std::error_code ec;
  fs::remove_all(o.data_dir, ec);
  fs::create_directories(o.data_dir);
  broker_child broker_proc;
  std::string address;
  if (!broker_proc.start(o, &address)) {
    std::fprintf(stderr, "broker did not start; see %s.log\n", o.data_dir.c_str());
    return 1;
  }
  pid_t pid = broker_proc.pid();
  capnp::ReaderOptions ro;
  ro.traversalLimitInWords = (size_t{256} << 20) / sizeof(capnp::word);
  capnp::EzRpcClient client(address, 0, ro);
  auto broker = client.getMain<rpc::Broker>();
  create_topic(client, broker, "delay-far", o.partitions);
  create_topic(client, broker, "delay-due", 1);
  auto acks = acks_of(o.acks);
  std::mt19937_64 rng(o.seed);

  // ---- ingest ----
  std::uniform_int_distribution<int64_t> far(o.far_from_ms, o.far_to_ms);
  auto cpu0 = cpu_secs(pid);
  uint64_t requests = 0;
  auto ing =
      pipeline(client, broker, o.count, o.records_per_request, o.window, acks, o.max_secs,
               [&](uint64_t first, uint64_t n) {
                 return make_request("delay-far", static_cast<uint32_t>(requests++ % o.partitions),
                                     first, n, o.value_bytes, [&] { return wall_ms() + far(rng); });
               });
  auto cpu1 = cpu_secs(pid);
  // The index of __delay_schedule is applied by tailing its log, so some of
  // the work of the ingest comes after its replies: the broker's CPU until
  // it settles (under 20 ms of CPU in 500 ms), bounded by a minute.
  auto settle_start = steady::now();
  double cpu_settled = cpu1;
  for (int i = 0; i < 120; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto c = cpu_secs(pid);
    const bool quiet = c - cpu_settled < 0.02;
    cpu_settled = c;
    if (quiet) break;
  }
  const double settle_secs = secs_since(settle_start);
  auto delivered_far = high_watermark_sum(client, broker, "delay-far");
  // The schedule (__delay_schedule's partitions) and its indexes.
  auto [log_bytes, log_alloc] = disk_use(o.data_dir / "topics" / "__delay_schedule");
  auto [index_bytes, index_alloc] = disk_use(o.data_dir / "delay-schedule");
  auto bytes = log_bytes + index_bytes, alloc = log_alloc + index_alloc;
  std::printf(
      "peer=actormq workload=delay_ingest msgs=%llu scheduled=%llu errors=%llu secs=%.1f "
      "msgs_per_s=%.0f window=%u per_request=%u size=%u acks=%s partitions=%u "
      "delivered_meanwhile=%lld "
      "rss_mb=%.1f hwm_mb=%.1f broker_cpu_s=%.1f broker_cpu_settled_s=%.1f settle_secs=%.1f "
      "cpu_us_per_msg=%.1f delay_disk_mb=%.1f delay_disk_alloc_mb=%.1f first_error=\"%s\"\n",
      static_cast<unsigned long long>(ing.sent), static_cast<unsigned long long>(ing.scheduled),
      static_cast<unsigned long long>(ing.errors), ing.secs,
      static_cast<double>(ing.scheduled) / std::max(ing.secs, 1e-9), o.window,
      o.records_per_request, o.value_bytes, o.acks.c_str(), o.partitions,
      static_cast<long long>(delivered_far), status_mib(pid, "VmRSS"), status_mib(pid, "VmHWM"),
      cpu1 - cpu0, cpu_settled - cpu0, settle_secs,
      (cpu_settled - cpu0) * 1e6 / static_cast<double>(std::max<uint64_t>(ing.scheduled, 1)),
      static_cast<double>(bytes) / (1 << 20), static_cast<double>(alloc) / (1 << 20),
      ing.first_error.c_str());
  std::fflush(stdout);
  if (o.due == 0) return ing.errors == 0 ? 0 : 1;

  // ---- due: lateness with everything above still pending ----
  std::uniform_int_distribution<int64_t> soon(o.due_from_ms, o.due_to_ms);
  auto sched = pipeline(client, broker, o.due, o.records_per_request, o.window, acks, o.max_secs,
                        [&](uint64_t first, uint64_t n) {
                          return make_request("delay-due", 0, first, n, o.value_bytes,
                                              [&] { return wall_ms() + soon(rng); });
                        });
  std::vector<int64_t> late;
  late.reserve(sched.scheduled);
  uint64_t early = 0;
  int64_t offset = 0;
  auto stop_at = steady::now() + std::chrono::milliseconds(o.due_to_ms + 30'000);
  while (late.size() < sched.scheduled && steady::now() < stop_at) {
    auto req = broker.fetchRequest();
    auto parts = req.initPartitions(1);
    parts[0].setTopic("delay-due");
    parts[0].setPartition(0);
    parts[0].setOffset(offset);
    parts[0].setMaxBytes(4u << 20);
    req.setMaxWaitMs(200);
    req.setMinBytes(1);
    auto resp = req.send().wait(client.getWaitScope());
    auto now = wall_ms();
    for (auto r : resp.getResults()) {
      auto data = r.getRecords();
      storage::for_each_batch({data.begin(), data.size()}, [&](const storage::batch_header& h,
                                                               std::span<const uint8_t> b) {
        offset = std::max(offset, h.next_offset()());
        (void)storage::for_each_record(b, [&](const storage::record_view& rv) {
          if (!rv.value) return;
          int64_t due = std::stoll(std::string(rv.value->substr(0, rv.value->find(' '))));
          if (now < due) ++early;
          late.push_back(now - due);
        });
      });
    }
  }
  auto n = late.size();
  auto p50 = percentile(late, 0.50), p99 = percentile(late, 0.99), p999 = percentile(late, 0.999);
  auto max = late.empty() ? -1.0 : static_cast<double>(*std::max_element(late.begin(), late.end()));
  std::printf(
      "peer=actormq workload=delay_due pending=%llu msgs=%llu received=%zu errors=%llu "
      "sched_secs=%.1f spread_ms=%lld..%lld late_p50_ms=%.0f late_p99_ms=%.0f late_p999_ms=%.0f "
      "late_max_ms=%.0f early=%llu rss_mb=%.1f hwm_mb=%.1f first_error=\"%s\"\n",
      static_cast<unsigned long long>(ing.scheduled - static_cast<uint64_t>(delivered_far)),
      static_cast<unsigned long long>(sched.sent), n, static_cast<unsigned long long>(sched.errors),
      sched.secs, static_cast<long long>(o.due_from_ms), static_cast<long long>(o.due_to_ms), p50,
      p99, p999, max, static_cast<unsigned long long>(early), status_mib(pid, "VmRSS"),
      status_mib(pid, "VmHWM"), sched.first_error.c_str());
  return (ing.errors == 0 && sched.errors == 0 && n == sched.scheduled) ? 0 : 1;
}

}  // namespace
