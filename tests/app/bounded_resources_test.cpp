// Integration: the broker's resources stay bounded against clients that
// hold connections or do not read, and a good client keeps working
// throughout (broker_server.h, docs/architecture.md "Bounded resources").
#include <arpa/inet.h>
#include <capnp/message.h>
#include <capnp/rpc.capnp.h>
#include <capnp/serialize.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <future>
#include <regex>
#include <thread>

#include "fixtures.h"
#include "raw_client.h"
#include "schema/actormq.capnp.h"
#include "storage/record_batch_builder.h"

using namespace actormq;
using namespace std::chrono_literals;

namespace {

/// A field of /proc/PID/status (VmRSS in KiB, Threads).
long proc_status(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

long open_fds(pid_t pid) {
  long n = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    ++n;
  }
  return n;
}

/// This process's descriptor limit, raised to the hard one.
rlim_t raise_own_fd_limit() {
  rlimit r{};
  ::getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &r);
  ::getrlimit(RLIMIT_NOFILE, &r);
  return r.rlim_cur;
}

/// A producer and a consumer of the good client, sending and reading back
/// one message every few milliseconds until stopped.
struct good_client {
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0}, failed{0};
  std::string first_error;
  std::thread thread;

  explicit good_client(const test::broker_process& b) {
    thread = std::thread([this, conn = test::connection_to(b)] {
      client::producer_config pc;
      pc.connection = conn;
      auto prod = client::producer::create(pc);
      if (!prod) {
        first_error = "create: " + prod.err().to_string();
        ++failed;
        return;
      }
      for (int i = 0; !stop; ++i) {
        client::producer_record rec{"good", std::to_string(i), std::to_string(i), {},
                                    0u,     std::nullopt};
        auto r = (*prod)->send_sync(std::move(rec));
        if (r.ok()) {
          ++sent;
        } else {
          if (failed++ == 0) first_error = r.err.to_string();
        }
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  void finish() {
    stop = true;
    thread.join();
  }
};

/// Under ASan freed memory waits in a quarantine (256 MiB by default)
/// before reuse, which a test that measures the broker's memory would
/// count: a small one (ignored without ASan).
void small_asan_quarantine(test::broker_process& b) {
  std::string asan = std::getenv("ASAN_OPTIONS") ? std::getenv("ASAN_OPTIONS") : "";
  b.set_env("ASAN_OPTIONS", asan + (asan.empty() ? "" : ":") + "quarantine_size_mb=16");
}

std::filesystem::path write_broker_config(const test::temp_dir& dir, const std::string& text) {
  auto p = dir.path() / "broker.toml";
  std::ofstream(p) << "[broker]\n" << text;
  return p;
}

}  // namespace

TEST_CASE(
    "ten thousand idle connections keep descriptors, memory and threads bounded while a good "
    "client keeps working",
    "[app][resources]") {
  const rlim_t own = raise_own_fd_limit();
  // 10,000 idle connections, fewer only where this process may not hold
  // them (each is one descriptor here).
  const int idle = static_cast<int>(std::min<rlim_t>(10000, own > 600 ? own - 500 : 100));
  if (idle < 10000) WARN("descriptor limit " << own << ": " << idle << " idle connections");
  test::temp_dir dir("actormq-bounded");
  // The shipped limits: the flood's connections never speak, so each new
  // one closes the oldest of them.
  auto cfg = write_broker_config(dir, "max_connections = 1024\n");
  test::broker_process broker({"--config", cfg.string()});
  small_asan_quarantine(broker);  // 10,000 connections made and closed
  test::require_started(broker);
  test::create_topic(broker, "good", 1);
  std::this_thread::sleep_for(500ms);  // partitions and coordinators settled
  const pid_t pid = broker.pid();
  const long rss0 = proc_status(pid, "VmRSS"), threads0 = proc_status(pid, "Threads");
  const long fds0 = open_fds(pid);

  good_client good(broker);
  std::vector<int> held;
  long peak_fds = 0, peak_rss = 0, peak_threads = 0;
  for (int i = 0; i < idle; ++i) {
    int fd = test::tcp_connect(broker.address());
    if (fd >= 0) held.push_back(fd);
    if (i % 500 == 499) {
      peak_fds = std::max(peak_fds, open_fds(pid));
      peak_rss = std::max(peak_rss, proc_status(pid, "VmRSS"));
      peak_threads = std::max(peak_threads, proc_status(pid, "Threads"));
    }
  }
  std::this_thread::sleep_for(1s);
  peak_fds = std::max(peak_fds, open_fds(pid));
  peak_rss = std::max(peak_rss, proc_status(pid, "VmRSS"));
  INFO("descriptors " << fds0 << " -> peak " << peak_fds << "; RSS " << rss0 / 1024 << " -> "
                      << peak_rss / 1024 << " MiB; threads " << threads0 << " -> " << peak_threads);
  // Connections beyond max_connections were closed (evicted or refused;
  // up to 64 refused ones linger 500 ms to be told why).
  CHECK(peak_fds <= fds0 + 1024 + 64 + 32);
  // Each open connection cost about 15 KiB (50 under ASan), plus the 8 KiB
  // read buffer it allocates at its first read; 1,024 of them stay well
  // inside 200 MiB, where 10,000 kept would not.
  CHECK(peak_rss - rss0 < 200 * 1024);
  CHECK(peak_threads <= threads0 + 2);
  CHECK(broker.output().find("at max_connections") != std::string::npos);

  // A new client is served at once: it takes the place of an idle one.
  {
    auto admin = client::admin::create(test::connection_to(broker));
    REQUIRE(admin);
    CHECK((*admin)->list_topics());
  }
  good.finish();
  INFO("good client: " << good.sent << " sent, " << good.failed << " failed: " << good.first_error);
  CHECK(good.sent > 10);
  CHECK(good.failed == 0);
  for (int fd : held) ::close(fd);
  CHECK(test::eventually([&] { return open_fds(pid) <= fds0 + 8; }, 10s));
}

TEST_CASE(
    "at max_connections with no idle connection a new one is refused with a Cap'n Proto Abort "
    "that says why",
    "[app][resources]") {
  test::temp_dir dir("actormq-bounded");
  auto cfg = write_broker_config(dir, "max_connections = 8\nevict_idle_ms = 600000\n");
  test::broker_process broker({"--config", cfg.string()});
  test::require_started(broker);
  // Eight clients that made a call and wait: none is evicted (a client
  // that never spoke would be, at once).
  std::vector<std::unique_ptr<test::raw_client>> held;
  for (int i = 0; i < 8; ++i) {
    held.push_back(std::make_unique<test::raw_client>(broker.address()));
    held.back()->broker().infoRequest().send().wait(held.back()->ws());
  }
  int refused = test::tcp_connect(broker.address());
  REQUIRE(refused >= 0);
  timeval tv{5, 0};
  ::setsockopt(refused, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::read(refused, buf, sizeof buf)) > 0;)
    got.append(buf, static_cast<size_t>(n));
  ::close(refused);
  REQUIRE(got.size() >= 8);
  // One message: an Abort whose reason names the limit.
  kj::ArrayPtr<const capnp::word> words(reinterpret_cast<const capnp::word*>(got.data()),
                                        got.size() / sizeof(capnp::word));
  auto copy = kj::heapArray<capnp::word>(words);
  capnp::FlatArrayMessageReader reader(copy);
  auto msg = reader.getRoot<capnp::rpc::Message>();
  REQUIRE(msg.isAbort());
  CHECK(msg.getAbort().getType() == capnp::rpc::Exception::Type::OVERLOADED);
  CHECK_THAT(std::string(msg.getAbort().getReason().cStr()), Catch::Contains("connection limit"));
  // (The log line reaches the captured output a moment later.)
  CHECK(test::eventually(
      [&] { return broker.output().find("refusing connection") != std::string::npos; }, 5s));
  // The client library reports it as such.
  auto admin = client::admin::create(test::connection_to(broker));
  if (admin) {
    auto topics = (*admin)->list_topics();
    REQUIRE_FALSE(topics);
    CHECK_THAT(topics.err().to_string(), Catch::Contains("connection limit"));
  } else {
    CHECK_THAT(admin.err().to_string(), Catch::Contains("connection limit"));
  }
  // Once one goes, the next client is served.
  held.pop_back();
  CHECK(test::new_client_served(broker, 10s));
}

TEST_CASE(
    "a connection with nothing in flight for idle_timeout_ms is closed; its client reconnects",
    "[app][resources]") {
  test::temp_dir dir("actormq-bounded");
  auto cfg = write_broker_config(dir, "idle_timeout_ms = 1500\n");
  test::broker_process broker({"--config", cfg.string()});
  test::require_started(broker);
  test::create_topic(broker, "idle", 1);
  int raw = test::tcp_connect(broker.address());
  REQUIRE(raw >= 0);
  auto admin = client::admin::create(test::connection_to(broker));
  REQUIRE(admin);
  REQUIRE((*admin)->list_topics());
  // Closed by the broker: the raw connection reads its end.
  timeval tv{10, 0};
  ::setsockopt(raw, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char c;
  auto started = std::chrono::steady_clock::now();
  CHECK(::read(raw, &c, 1) == 0);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  ::close(raw);
  // The client's next call opens a new connection.
  CHECK(test::eventually([&] { return (*admin)->list_topics().has_value(); }, 10s));
}

TEST_CASE(
    "a client that sends fetches without reading the replies is pushed back by TCP, so the "
    "broker does not buffer its replies, and a good client keeps working",
    "[app][resources]") {
  test::broker_process broker;
  small_asan_quarantine(broker);
  test::require_started(broker);
  test::create_topic(broker, "big", 1);
  test::create_topic(broker, "good", 1);
  {  // 8 MiB to fetch, over and over
    client::producer_config pc;
    pc.connection = test::connection_to(broker);
    auto prod = client::producer::create(pc);
    REQUIRE(prod);
    for (int i = 0; i < 64; ++i) {
      client::producer_record rec{"big", "k", std::string(128 << 10, 'x'), {}, 0u, std::nullopt};
      REQUIRE((*prod)->send_sync(std::move(rec)).ok());
    }
  }
  const pid_t pid = broker.pid();
  const long rss0 = proc_status(pid, "VmRSS");

  // Bootstrap, then 4,000 pipelined fetches of up to 1 MiB each (4 GB of
  // replies if they were all kept), never reading.
  int bad = test::tcp_connect(broker.address());
  REQUIRE(bad >= 0);
  auto send = [&](capnp::MallocMessageBuilder& m) {
    auto words = capnp::messageToFlatArray(m);
    auto bytes = words.asBytes();
    size_t off = 0;
    while (off < bytes.size()) {
      auto n = ::write(bad, bytes.begin() + off, bytes.size() - off);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  };
  {
    capnp::MallocMessageBuilder m;
    m.initRoot<capnp::rpc::Message>().initBootstrap().setQuestionId(0);
    REQUIRE(send(m));
  }
  good_client good(broker);
  // Writes block once the broker stops reading: the sender gives up then.
  timeval tv{3, 0};
  ::setsockopt(bad, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int sent = 0;
  long peak_rss = 0;
  for (uint32_t q = 1; q <= 4000; ++q) {
    capnp::MallocMessageBuilder m;
    auto call = m.initRoot<capnp::rpc::Message>().initCall();
    call.setQuestionId(q);
    call.initTarget().initPromisedAnswer().setQuestionId(0);
    call.setInterfaceId(capnp::typeId<actormq::rpc::Broker>());
    call.setMethodId(10);  // fetch
    auto params = call.initParams().initContent().initAs<actormq::rpc::Broker::FetchParams>();
    auto p = params.initPartitions(1)[0];
    p.setTopic("big");
    p.setPartition(0);
    p.setOffset(0);
    p.setMaxBytes(1 << 20);
    if (!send(m)) break;
    ++sent;
    if (q % 200 == 0) peak_rss = std::max(peak_rss, proc_status(pid, "VmRSS"));
  }
  std::string progress;
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(1s);
    progress += std::to_string(good.sent) + " ";
  }
  UNSCOPED_INFO("good sends each second " << progress);
  peak_rss = std::max(peak_rss, proc_status(pid, "VmRSS"));
  INFO(sent << " fetches sent; RSS " << rss0 / 1024 << " -> " << peak_rss / 1024 << " MiB");
  // 4 GB of replies were asked for: 64 MiB of unwritten replies at most
  // are kept, plus the calls being served and what the sockets hold.
  CHECK(peak_rss - rss0 < 300 * 1024);
  CHECK(broker.running());
  good.finish();
  INFO("good client: " << good.sent << " sent, " << good.failed << " failed: " << good.first_error);
  CHECK(good.sent > 10);
  CHECK(good.failed == 0);
  ::close(bad);
  // The broker lets go of it.
  CHECK(test::new_client_served(broker, 10s));
}

TEST_CASE(
    "a slow consumer against a fast producer costs the broker no memory: the backlog waits on "
    "disk",
    "[app][resources]") {
  test::broker_process broker;
  small_asan_quarantine(broker);
  test::require_started(broker);
  test::create_topic(broker, "flood", 1);
  std::this_thread::sleep_for(500ms);
  const pid_t pid = broker.pid();
  const long rss0 = proc_status(pid, "VmRSS");

  // The consumer takes a few messages every 100 ms.
  std::atomic<bool> stop{false};
  std::atomic<long> consumed{0};
  std::thread slow([&] {
    auto cc = test::group_config(broker, "slow");
    cc.max_poll_records = 4;
    auto c = client::consumer::create(cc);
    if (!c || !(*c)->subscribe({"flood"})) return;
    while (!stop) {
      auto got = (*c)->poll(200ms);
      if (got) consumed += static_cast<long>(got->size());
      std::this_thread::sleep_for(100ms);
    }
  });
  // 128 MiB as fast as the producer can send it.
  long peak_rss = 0;
  {
    client::producer_config pc;
    pc.connection = test::connection_to(broker);
    auto prod = client::producer::create(pc);
    REQUIRE(prod);
    const std::string value(64 << 10, 'v');
    std::vector<std::future<client::delivery_report>> pending;
    int ok = 0;
    for (int i = 0; i < 2048; ++i) {
      pending.push_back((*prod)->send("flood", std::to_string(i), value));
      if (pending.size() == 64) {
        for (auto& f : pending) ok += f.get().ok() ? 1 : 0;
        pending.clear();
        peak_rss = std::max(peak_rss, proc_status(pid, "VmRSS"));
      }
    }
    for (auto& f : pending) ok += f.get().ok() ? 1 : 0;
    CHECK(ok == 2048);
  }
  peak_rss = std::max(peak_rss, proc_status(pid, "VmRSS"));
  stop = true;
  slow.join();
  INFO("RSS " << rss0 / 1024 << " -> peak " << peak_rss / 1024 << " MiB; the consumer read "
              << consumed << " of 2048");
  CHECK(consumed < 2048);  // it was behind: the backlog was on disk
  CHECK(peak_rss - rss0 < 150 * 1024);
}
