#include "workload.h"

#include <actormq/client/producer.h>
#include <fmt/format.h>

#include <memory>

#include "client_connect.h"

namespace actormq::checker {

workload::workload(workload_settings s, history& h) : settings_(std::move(s)), history_(h) {}

workload::~workload() {
  stop();
}

void workload::start() {
  stopping_ = false;
  for (size_t i = 0; i < settings_.bootstraps.size(); ++i) {
    threads_.emplace_back([this, i] { run(i); });
  }
}

void workload::stop() {
  stopping_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void workload::run(size_t index) {
  client::producer_config cfg;
  cfg.connection.broker = settings_.bootstraps[index];
  cfg.connection.client_id = fmt::format("checker-p{}", index);
  cfg.connection.connect_timeout_ms = 1000;
  cfg.connection.request_timeout_ms = settings_.request_timeout_ms;
  cfg.acks = settings_.acks;
  cfg.idempotent = true;
  cfg.linger_ms = 2;
  cfg.retries = 1000;
  cfg.retry_backoff_max_ms = 500;
  cfg.delivery_timeout_ms = settings_.delivery_timeout_ms;
  cfg.max_block_ms = 2000;
  cfg.metadata_max_age_ms = 2000;
  if (settings_.max_in_flight > 0) cfg.max_in_flight_per_partition = settings_.max_in_flight;
  if (settings_.batch_bytes > 0) cfg.batch_bytes = settings_.batch_bytes;

  // The cluster may be in the middle of a fault when the workload starts.
  std::string why;
  auto p = connect_client([&] { return client::producer::create(cfg); }, stopping_, 0, why);
  if (!p) {
    std::lock_guard lk(errors_mu_);
    errors_.push_back(fmt::format("producer {} never connected: {}", index, why));
    return;
  }
  auto outstanding = std::make_shared<std::atomic<int64_t>>(0);
  for (int64_t seq = 0; !stopping_; ++seq) {
    while (*outstanding >= settings_.max_outstanding && !stopping_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (stopping_) break;
    auto value = fmt::format("p{}-{}", index, seq);
    client::producer_record rec;
    rec.topic = settings_.topic;
    rec.value = value;
    rec.partition = static_cast<uint32_t>(seq % settings_.partitions);
    history_.sent(value, history::clock::now(), fmt::format("p{}", index));
    ++*outstanding;
    p->send(std::move(rec), [this, value, outstanding](const client::delivery_report& r) {
      auto now = history::clock::now();
      if (r.ok()) {
        history_.acked(value, r.partition, r.offset, now);
      } else {
        history_.failed(value, r.err.to_string(), now);
      }
      --*outstanding;
    });
    std::this_thread::sleep_for(settings_.interval);
  }
  auto bound = std::chrono::milliseconds(settings_.delivery_timeout_ms + 10000);
  if (auto st = p->close(bound); !st) {
    std::lock_guard lk(errors_mu_);
    errors_.push_back(fmt::format("producer {} close: {}", index, st.err().to_string()));
  }
}

}  // namespace actormq::checker
