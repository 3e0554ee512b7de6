// Integration: the actor inspector of the real broker binary, started with
// --http: /metrics (Prometheus text), /api/cluster (JSON), the web page,
// and `actormq inspect`.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "subprocess.h"

#ifndef ACTORMQ_CLI_BIN
#error "ACTORMQ_CLI_BIN must name the actormq binary"
#endif

using namespace actormq;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

struct http_response {
  int status = 0;
  std::string headers;
  std::string body;
  bool closed = false;  ///< the server closed the connection (not a timeout)
};

/// A connected socket to address with 10 s send and receive timeouts; -1
/// when it cannot connect.
int connect_to(const std::string& address) {
  auto colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  int port = std::stoi(address.substr(colon + 1));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Sends raw bytes over a fresh connection and reads until the server
/// closes it (every step bounded by the socket timeouts).
http_response http_exchange(const std::string& address, const std::string& request) {
  http_response out;
  int fd = connect_to(address);
  if (fd < 0) return out;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return out;
  }
  std::string all;
  char buf[65536];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) out.closed = true;
    if (n <= 0) break;
    all.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto head_end = all.find("\r\n\r\n");
  if (head_end == std::string::npos || all.size() < 12) return out;
  out.status = std::stoi(all.substr(9, 3));
  out.headers = all.substr(0, head_end);
  out.body = all.substr(head_end + 4);
  return out;
}

/// One request over a fresh connection that the server closes after the
/// answer (Connection: close).
http_response http_get(const std::string& address, const std::string& path,
                       const std::string& method = "GET") {
  return http_exchange(address, method + " " + path + " HTTP/1.1\r\nHost: " + address +
                                    "\r\nConnection: close\r\n\r\n");
}

/// The value of the first sample line "name{labels} value" whose text
/// before the value is exactly prefix; NaN when there is none.
double sample_value(const std::string& metrics, const std::string& prefix) {
  size_t at = 0;
  while ((at = metrics.find(prefix + " ", at)) != std::string::npos) {
    if (at == 0 || metrics[at - 1] == '\n') {
      auto end = metrics.find('\n', at);
      return std::stod(metrics.substr(at + prefix.size() + 1, end - at - prefix.size() - 1));
    }
    ++at;
  }
  return std::nan("");
}

const json* find_actor(const json& doc, const std::string& path) {
  for (const auto& b : doc["brokers"]) {
    for (const auto& a : b["actors"]) {
      if (a["path"] == path) return &a;
    }
  }
  return nullptr;
}

/// What `produce --print-ids` printed: (partition, offset, id) per line.
std::vector<std::tuple<int, int64_t, std::string>> printed_ids(const std::string& out) {
  std::istringstream lines(out);
  std::vector<std::tuple<int, int64_t, std::string>> sent;
  for (int part; lines >> part;) {
    int64_t off;
    std::string id;
    lines >> off >> id;
    sent.emplace_back(part, off, id);
  }
  return sent;
}

test::subprocess_result cli(const test::broker_process& b, std::vector<std::string> args,
                            const std::string& input = {}) {
  std::vector<std::string> argv = {ACTORMQ_CLI_BIN, "--broker", b.address()};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run_subprocess(argv, input, 60s);
}

}  // namespace

TEST_CASE("the broker serves /metrics in the Prometheus format with what was produced",
          "[app][inspector]") {
  test::broker_process broker({"--http", "127.0.0.1:0"});
  test::require_started(broker);
  auto http = broker.http_address();
  REQUIRE_FALSE(http.empty());
  test::create_topic(broker, "orders", 2);
  std::string lines;
  for (int i = 0; i < 25; ++i) lines += "m" + std::to_string(i) + "\n";
  auto p = cli(broker, {"produce", "orders", "--acks", "leader"}, lines);
  INFO(p.err);
  REQUIRE(p.exit_code == 0);

  auto r = http_get(http, "/metrics");
  REQUIRE(r.status == 200);
  CHECK(r.headers.find("text/plain; version=0.0.4") != std::string::npos);
  const auto& m = r.body;
  INFO(m.substr(0, 4000));
  CHECK(m.find("# TYPE actormq_produce_latency_seconds histogram\n") != std::string::npos);
  CHECK(sample_value(m, "actormq_produce_messages_total") == 25);
  CHECK(sample_value(m, "actormq_produce_requests_total") >= 1);
  double ends =
      sample_value(m, "actormq_partition_log_end_offset{topic=\"orders\",partition=\"0\"}") +
      sample_value(m, "actormq_partition_log_end_offset{topic=\"orders\",partition=\"1\"}");
  CHECK(ends == 25);
  CHECK(sample_value(m, "actormq_partition_leader{topic=\"orders\",partition=\"0\"}") == 1);
  CHECK(sample_value(m, "process_resident_memory_bytes") > 1e6);
  CHECK(sample_value(m, "process_open_fds") > 5);
  CHECK(sample_value(m, "actormq_actors_unanswered{kind=\"partition\"}") == 0);
  CHECK(sample_value(m, "actormq_connections") >= 0);
  // Every family the broker emits is in the catalog: no "untyped".
  CHECK(m.find(" untyped\n") == std::string::npos);
  // Each family's HELP and TYPE come once, right before its samples.
  std::set<std::string> families;
  size_t at = 0;
  while ((at = m.find("# TYPE ", at)) != std::string::npos) {
    auto end = m.find(' ', at + 7);
    CHECK(families.insert(m.substr(at + 7, end - at - 7)).second);
    at = end;
  }
}

TEST_CASE("the broker serves its actors as JSON, the web page, and refuses what it does not serve",
          "[app][inspector]") {
  test::broker_process broker({"--http", "127.0.0.1:0"});
  test::require_started(broker);
  auto http = broker.http_address();
  REQUIRE_FALSE(http.empty());
  test::create_topic(broker, "orders", 2);

  auto r = http_get(http, "/api/cluster");
  REQUIRE(r.status == 200);
  auto doc = json::parse(r.body);
  REQUIRE(doc["brokers"].size() == 1);
  CHECK(doc["brokers"][0]["up"] == true);
  CHECK(doc["brokers"][0]["address"] == broker.address());
  auto* p = find_actor(doc, "partition/orders/1");
  REQUIRE(p != nullptr);
  CHECK((*p)["kind"] == "partition");
  CHECK((*p)["answered"] == true);
  CHECK((*p)["state"]["topic"] == "orders");
  CHECK((*p)["state"]["partition"] == 1);
  for (auto path : {"topic-registry", "group-coordinator", "delay", "retry", "txn", "flusher/0"}) {
    INFO(path);
    auto* a = find_actor(doc, path);
    REQUIRE(a != nullptr);
    CHECK((*a)["answered"] == true);
  }
  // The page and its script, from the binary itself.
  r = http_get(http, "/");
  CHECK(r.status == 200);
  CHECK(r.headers.find("text/html") != std::string::npos);
  CHECK(r.body.find("inspector.js") != std::string::npos);
  r = http_get(http, "/inspector.js");
  CHECK(r.status == 200);
  CHECK(r.headers.find("text/javascript") != std::string::npos);
  CHECK(http_get(http, "/nope").status == 404);
  CHECK(http_get(http, "/metrics", "POST").status == 405);
  CHECK(http_get(http, "/healthz").body == "ok\n");
}

TEST_CASE(
    "an idle broker's delay actor and transaction coordinator wake about once a second, not every "
    "few milliseconds",
    "[app][inspector][idle]") {
  test::broker_process broker({"--http", "127.0.0.1:0"});
  test::require_started(broker);
  auto http = broker.http_address();
  REQUIRE_FALSE(http.empty());
  auto handled = [&] {
    std::map<std::string, int64_t> out;
    auto doc = json::parse(http_get(http, "/api/cluster").body);
    for (auto path : {"delay", "txn"}) {
      auto* a = find_actor(doc, path);
      if (a != nullptr && (*a)["answered"] == true) out[path] = (*a)["handled"].get<int64_t>();
    }
    return out;
  };
  // Opened: __delay_schedule and __transaction_state are led, nothing is under way.
  REQUIRE(test::eventually([&] { return handled().size() == 2; }, 10s));
  std::this_thread::sleep_for(1s);
  auto before = handled();
  std::this_thread::sleep_for(3s);
  auto after = handled();
  REQUIRE(after.size() == 2);
  INFO("delay " << before["delay"] << " -> " << after["delay"] << ", txn " << before["txn"]
                << " -> " << after["txn"]);
  // The delay actor: its timer and its 8 partitions' long polls, each
  // about once a second (a 5 ms timer was about 600 messages in 3 s). The
  // transaction coordinator: its timer (a 20 ms one was about 150).
  CHECK(after["delay"] - before["delay"] <= 90);
  CHECK(after["txn"] - before["txn"] <= 12);
  // And they still tick: a timer never re-armed would stop at the
  // inspections (and the delay actor's 8 long polls at one reply each).
  CHECK(after["delay"] - before["delay"] >= 12);
  CHECK(after["txn"] - before["txn"] >= 3);
}

TEST_CASE("actormq inspect prints the actors as JSON, as a table, and one actor's state",
          "[app][inspector][cli]") {
  test::broker_process broker;
  test::require_started(broker);
  test::create_topic(broker, "orders", 3);
  auto r = cli(broker, {"inspect", "--once", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto doc = json::parse(r.out);
  REQUIRE(doc["brokers"].size() == 1);
  for (int p = 0; p < 3; ++p) {
    auto* a = find_actor(doc, "partition/orders/" + std::to_string(p));
    REQUIRE(a != nullptr);
    CHECK((*a)["state"]["log_end_offset"] == 0);
  }
  r = cli(broker, {"inspect", "--once", "--kind", "partition"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("partition/orders/2") != std::string::npos);
  CHECK(r.out.find("group-coordinator") == std::string::npos);
  r = cli(broker, {"inspect", "actor", "partition/orders/0"});
  REQUIRE(r.exit_code == 0);
  auto one = json::parse(r.out);
  CHECK(one["path"] == "partition/orders/0");
  CHECK(one["state"]["high_watermark"] == 0);
  r = cli(broker, {"inspect", "actor", "partition/nope/0"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("no actor partition/nope/0") != std::string::npos);
}

TEST_CASE("the message trace finds the dead letter of a rejected message, and refuses bad input",
          "[app][inspector]") {
  test::broker_process broker({"--http", "127.0.0.1:0"});
  test::require_started(broker);
  auto http = broker.http_address();
  REQUIRE_FALSE(http.empty());
  test::create_topic(broker, "pay", 1);
  auto p = cli(broker, {"produce", "pay"}, "ok-1\npoison-1\nok-2\n");
  REQUIRE(p.exit_code == 0);
  auto c = cli(broker, {"consume", "pay", "--group", "g2", "--from-beginning", "--max-messages",
                        "3", "--timeout-ms", "10000", "--reject-pattern", "poison"});
  INFO(c.err);
  REQUIRE(c.exit_code == 0);
  CHECK(c.out == "ok-1\nok-2\n");

  auto r = http_get(http, "/api/trace?topic=pay&partition=0&offset=1");
  REQUIRE(r.status == 200);
  auto doc = json::parse(r.body);
  CHECK(doc["truncated"] == false);
  REQUIRE(doc["copies"].size() == 1);
  const auto& copy = doc["copies"][0];
  CHECK(copy["topic"] == "pay.g2.dlq");
  CHECK(copy["kind"] == "dead_letter");
  CHECK(copy["reason"] == "rejected");
  CHECK(copy["dlq_group"] == "g2");
  CHECK(copy["last_error"] == "matched --reject-pattern");
  // The messages that were acknowledged have no copies.
  doc = json::parse(http_get(http, "/api/trace?topic=pay&partition=0&offset=0").body);
  CHECK(doc["copies"].empty());
  CHECK(http_get(http, "/api/trace?topic=pay&partition=x&offset=1").status == 400);
  CHECK(http_get(http, "/api/trace?topic=pay&offset=1").status == 400);
  CHECK(http_get(http, "/api/trace?topic=pay&partition=0&offset=-1").status == 400);
}

TEST_CASE(
    "the message trace by message id finds the message, its partition and offset, and its dead "
    "letter",
    "[app][inspector][id]") {
  test::broker_process broker({"--http", "127.0.0.1:0"});
  test::require_started(broker);
  auto http = broker.http_address();
  REQUIRE_FALSE(http.empty());
  test::create_topic(broker, "pay", 2);
  auto p = cli(broker, {"produce", "pay", "--key-separator", ":", "--print-ids"},
               "a:ok-1\nb:poison-1\nc:ok-2\n");
  REQUIRE(p.exit_code == 0);
  auto sent = printed_ids(p.out);
  REQUIRE(sent.size() == 3);
  auto c = cli(broker, {"consume", "pay", "--group", "g2", "--from-beginning", "--max-messages",
                        "3", "--timeout-ms", "10000", "--reject-pattern", "poison"});
  REQUIRE(c.exit_code == 0);

  const auto& [part, off, id] = sent[1];
  auto r = http_get(http, "/api/trace?topic=pay&id=" + id);
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto doc = json::parse(r.body);
  CHECK(doc["found"] == true);
  CHECK(doc["id"] == id);
  CHECK(doc["partition"] == part);
  CHECK(doc["offset"] == off);
  REQUIRE(doc["copies"].size() == 1);
  CHECK(doc["copies"][0]["topic"] == "pay.g2.dlq");
  CHECK(doc["copies"][0]["reason"] == "rejected");
  // The dead letter keeps the id: traced from the DLQ it is found there.
  doc = json::parse(http_get(http, "/api/trace?topic=pay.g2.dlq&id=" + id).body);
  CHECK(doc["found"] == true);
  CHECK(doc["partition"] == 0);

  doc = json::parse(http_get(http, "/api/trace?topic=pay&id=" + std::string(32, '0')).body);
  CHECK(doc["found"] == false);
  CHECK(doc["copies"].empty());
  CHECK(http_get(http, "/api/trace?topic=pay&id=xyz").status == 400);
  CHECK(http_get(http, "/api/trace?id=" + id).status == 400);
}

namespace {

/// The sum of the samples of family `name` whose labels hold every one of
/// `labels` (each `key="value"`); 0 when there is none.
double sum_samples(const std::string& metrics, const std::string& name,
                   const std::vector<std::string>& labels) {
  double sum = 0;
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(name + "{")) continue;
    auto close = line.find("} ");
    if (close == std::string::npos) continue;
    auto set = line.substr(name.size() + 1, close - name.size() - 1);
    bool all = true;
    for (const auto& l : labels) all = all && set.find(l) != std::string::npos;
    if (all) sum += std::stod(line.substr(close + 2));
  }
  return sum;
}

/// The delay actor's pending_by_level rows as level -> pending.
std::map<std::string, int64_t> pending_by_level(const std::string& http) {
  auto doc = json::parse(http_get(http, "/api/cluster").body);
  std::map<std::string, int64_t> out;
  const auto* a = find_actor(doc, "delay");
  if (!a || !(*a)["answered"].get<bool>()) return out;
  for (const auto& row : (*a)["state"]["pending_by_level"]) {
    if (row["pending"].get<int64_t>() > 0) out[row["level"]] = row["pending"];
  }
  return out;
}

}  // namespace

TEST_CASE(
    "delayed messages are counted per level while pending, across a restart, and traced through "
    "the delay wheel",
    "[app][inspector][delay]") {
  test::broker_process broker({"--http", "127.0.0.1:0"});
  test::require_started(broker);
  test::create_topic(broker, "orders", 1);
  auto p = cli(broker, {"produce", "orders", "--delay-level", "2", "--print-ids"}, "a\nb\nc\n");
  INFO(p.err);
  REQUIRE(p.exit_code == 0);
  auto soon = printed_ids(p.out);
  REQUIRE(soon.size() == 3);
  p = cli(broker, {"produce", "orders", "--delay-level", "18", "--print-ids"}, "late\n");
  REQUIRE(p.exit_code == 0);
  auto late = printed_ids(p.out);
  REQUIRE(late.size() == 1);
  p = cli(broker, {"produce", "orders", "--delay", "3h"}, "x\ny\n");
  REQUIRE(p.exit_code == 0);
  const int64_t sent_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();

  auto http = broker.http_address();
  const std::map<std::string, int64_t> all{{"2", 3}, {"18", 1}, {"at", 2}};
  CHECK(pending_by_level(http) == all);
  auto m = http_get(http, "/metrics").body;
  INFO(m.substr(0, 3000));
  CHECK(m.find("# TYPE actormq_delay_pending gauge\n") != std::string::npos);
  CHECK(sum_samples(m, "actormq_delay_pending", {"level=\"2\"", "delay=\"5s\""}) == 3);
  CHECK(sum_samples(m, "actormq_delay_pending", {"level=\"18\"", "delay=\"2h\""}) == 1);
  CHECK(sum_samples(m, "actormq_delay_pending", {"level=\"at\""}) == 2);

  // The level-18 message is not in its topic yet: the trace finds it in
  // the delay wheel, pending, due in two hours.
  auto r = http_get(http, "/api/trace?topic=orders&id=" + std::get<2>(late[0]));
  REQUIRE(r.status == 200);
  auto doc = json::parse(r.body);
  INFO(r.body);
  CHECK(doc["found"] == false);
  REQUIRE(doc["delays"].size() == 1);
  const auto& d = doc["delays"][0];
  CHECK(d["state"] == "pending");
  CHECK(d["level"] == "18");
  CHECK(d["topic"] == "orders");
  CHECK(d["partition"] == 0);
  CHECK(d["due_ms"].get<int64_t>() >= sent_ms + 2 * 3600'000 - 60'000);
  CHECK(d["due_ms"].get<int64_t>() <= sent_ms + 2 * 3600'000 + 1'000);

  // Delivered after 5 s, the level-2 messages leave the count, and their
  // trace shows the dispatch that delivered them.
  auto c = cli(broker, {"consume", "orders", "--group", "g", "--from-beginning", "--max-messages",
                        "3", "--timeout-ms", "30000"});
  INFO(c.err);
  REQUIRE(c.exit_code == 0);
  CHECK(c.out == "a\nb\nc\n");
  std::map<std::string, int64_t> left{{"18", 1}, {"at", 2}};
  for (int i = 0; i < 100 && pending_by_level(http) != left; ++i)
    std::this_thread::sleep_for(100ms);
  CHECK(pending_by_level(http) == left);
  doc = json::parse(http_get(http, "/api/trace?topic=orders&id=" + std::get<2>(soon[1])).body);
  CHECK(doc["found"] == true);
  CHECK(doc["offset"] == 1);
  REQUIRE(doc["delays"].size() == 1);
  CHECK(doc["delays"][0]["state"] == "dispatched");
  CHECK(doc["delays"][0]["level"] == "2");
  CHECK(doc["delays"][0]["dispatch"].get<int64_t>() >= 1);
  // By offset too: the record's id leads to its envelope.
  doc = json::parse(http_get(http, "/api/trace?topic=orders&partition=0&offset=2").body);
  REQUIRE(doc["delays"].size() == 1);
  CHECK(doc["delays"][0]["state"] == "dispatched");
  // A message that was never delayed has no envelope.
  p = cli(broker, {"produce", "orders"}, "now\n");
  REQUIRE(p.exit_code == 0);
  doc = json::parse(http_get(http, "/api/trace?topic=orders&partition=0&offset=3").body);
  CHECK(doc["delays"].empty());

  // The counts come back from the index after a SIGKILL.
  REQUIRE(broker.restart(true));
  http = broker.http_address();
  for (int i = 0; i < 100 && pending_by_level(http) != left; ++i)
    std::this_thread::sleep_for(100ms);
  CHECK(pending_by_level(http) == left);
}

TEST_CASE("a broker whose HTTP port is taken exits with the listener's error, the other serves on",
          "[app][inspector]") {
  test::broker_process first({"--http", "127.0.0.1:0"});
  test::require_started(first);
  auto http = first.http_address();
  REQUIRE_FALSE(http.empty());
  test::broker_process second({"--http", http});
  (void)second.start();  // its RPC port comes first, then the HTTP port fails
  for (int i = 0; i < 100 && second.output().find("already in use") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
  }
  INFO(second.output());
  CHECK(second.output().find("cannot serve") != std::string::npos);
  CHECK(second.output().find("Address already in use") != std::string::npos);
  CHECK(second.http_address(100ms).empty());
  CHECK(http_get(http, "/healthz").body == "ok\n");
}

TEST_CASE("a malformed HTTP request gets 400 or 501 and a silent client holds up nobody",
          "[app][inspector]") {
  test::broker_process broker({"--http", "127.0.0.1:0"});
  test::require_started(broker);
  auto http = broker.http_address();
  REQUIRE_FALSE(http.empty());
  // A client that connects and sends half a request line, then nothing.
  int silent = connect_to(http);
  REQUIRE(silent >= 0);
  std::string half = "GET /metr";
  REQUIRE(::send(silent, half.data(), half.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(half.size()));
  // An unknown method is 501 (RFC 9110, 15.6.2); a request line or header
  // that does not parse is 400; each answer closes its connection.
  CHECK(http_exchange(http, "NONSENSE\r\n\r\n").status == 501);
  CHECK(http_exchange(http, std::string(4096, '\x01') + "\r\n\r\n").status == 501);
  CHECK(http_exchange(http, "GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n").status == 400);
  CHECK(http_exchange(http, "GET /metrics HTTP/1.1\r\n" + std::string(4096, '\x01') + "\r\n\r\n")
            .status == 400);
  // Everyone else is served meanwhile, the RPC port too.
  CHECK(http_get(http, "/healthz").body == "ok\n");
  CHECK(http_get(http, "/metrics").status == 200);
  CHECK(cli(broker, {"topic", "list"}).exit_code == 0);
  ::close(silent);
  auto health = http_get(http, "/healthz");
  CHECK(health.body == "ok\n");
  CHECK(health.closed);  // it asked "Connection: close"
  // Without it the connection is kept for the next request.
  auto two = http_exchange(http,
                           "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
                           "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  CHECK(two.status == 200);
  CHECK(two.body.find("HTTP/1.1 200 OK") != std::string::npos);  // the second answer
  CHECK(two.closed);
}
