#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
// Shared helpers of the integration tests: a running broker plus client
// configs pointing at it, and bounded waits.

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actormq/client/admin.h"
#include "actormq/client/consumer.h"
#include "actormq/client/producer.h"
#include "support/broker_process.h"
#include "support/eventually.h"

namespace actormq::test {

inline client::connection_config connection_to(const broker_process& b) {
  client::connection_config c;
  c.broker = b.address();
  c.request_timeout_ms = 10000;
  c.connect_timeout_ms = 3000;
  return c;
}

/// A consumer of group at b: earliest when nothing is committed, 3 s
/// session, 200 ms long polls.
inline client::consumer_config group_config(const broker_process& b, const std::string& group) {
  client::consumer_config cc;
  cc.connection = connection_to(b);
  cc.group_id = group;
  cc.session_timeout_ms = 3000;
  cc.auto_offset_reset = client::offset_reset::earliest;
  cc.fetch_max_wait_ms = 200;
  return cc;
}

/// A plain TCP connection to "HOST:PORT" (blocking connect); -1 on failure.
inline int tcp_connect(const std::string& address) {
  auto colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Whether a new client connects and lists the topics within limit.
inline bool new_client_served(const broker_process& b, std::chrono::milliseconds limit) {
  return eventually(
      [&] {
        auto a = client::admin::create(connection_to(b));
        return a && (*a)->list_topics().has_value();
      },
      limit);
}

/// Starts a broker; the test fails with its output if it does not come up.
inline void require_started(broker_process& b, const std::string& listen = "127.0.0.1:0") {
  INFO(b.error());
  REQUIRE(b.start(listen));
}

inline void create_topic(const broker_process& b, const std::string& name, uint32_t partitions) {
  auto adm = client::admin::create(connection_to(b));
  REQUIRE(adm);
  client::topic_config cfg;
  cfg.partitions = partitions;
  auto r = (*adm)->create_topic(name, cfg);
  INFO(r.err().to_string());
  REQUIRE(r);
}

/// One record of topic.
inline client::producer_record record(std::string topic, std::optional<std::string> key,
                                      std::string value, std::vector<client::header> headers = {}) {
  client::producer_record r;
  r.topic = std::move(topic);
  r.key = std::move(key);
  r.value = std::move(value);
  r.headers = std::move(headers);
  return r;
}

/// Sends recs to topic (acks=fsync) on a producer of its own and waits for
/// every report; each must be acknowledged with a message id. Returns the
/// ids, in the order of recs.
inline std::vector<client::message_id> produce_all(const broker_process& b,
                                                   const std::string& topic,
                                                   std::vector<client::producer_record> recs) {
  client::producer_config pc;
  pc.connection = connection_to(b);
  pc.acks = client::acks::fsync;
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  std::vector<std::future<client::delivery_report>> fs;
  for (auto& r : recs) {
    r.topic = topic;
    fs.push_back((*prod)->send(std::move(r)));
  }
  REQUIRE((*prod)->flush(std::chrono::seconds(30)));
  std::vector<client::message_id> ids;
  for (auto& f : fs) {
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    auto rep = f.get();
    INFO(rep.err.to_string());
    REQUIRE(rep.ok());
    REQUIRE_FALSE(rep.id.empty());
    ids.push_back(rep.id);
  }
  return ids;
}

/// n records "PREFIX0".."PREFIX<n-1>" of topic, produced by produce_all.
inline std::vector<client::message_id> produce_values(const broker_process& b,
                                                      const std::string& topic, int n,
                                                      const std::string& prefix = "m") {
  std::vector<client::producer_record> recs;
  for (int i = 0; i < n; ++i)
    recs.push_back(record(topic, std::nullopt, prefix + std::to_string(i)));
  return produce_all(b, topic, std::move(recs));
}

/// Consumes with c until n messages arrived or limit passed.
inline std::vector<client::message> consume_n(
    client::consumer& c, size_t n, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  std::vector<client::message> out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    auto r = c.poll(std::chrono::milliseconds(500));
    if (!r) continue;
    for (auto& m : *r) out.push_back(std::move(m));
  }
  return out;
}

}  // namespace actormq::test
