#include "group_workload.h"
#include "wall_clock.h"

#include <actormq/client/consumer.h>
#include <fmt/format.h>

namespace actormq::checker {

using std::chrono::milliseconds;

group_workload::~group_workload() {
  stop();
}

void group_workload::start() {
  stopping_ = false;
  std::vector<client::topic_partition> tps;
  for (uint32_t p = 0; p < settings_.partitions; ++p) tps.push_back({settings_.topic, p});
  sampler_ = std::make_unique<offset_sampler>(settings_.bootstrap, settings_.group, std::move(tps));
  sampler_->start();
  for (int i = 0; i < settings_.consumers; ++i) threads_.emplace_back([this, i] { consume(i); });
}

void group_workload::stop() {
  stopping_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (sampler_) sampler_->stop();
}

void group_workload::consume(int index) {
  client::consumer_config cfg;
  cfg.connection.broker = settings_.bootstrap;
  cfg.connection.client_id = fmt::format("checker-c{}", index);
  cfg.connection.connect_timeout_ms = 1000;
  cfg.connection.request_timeout_ms = 5000;
  cfg.group_id = settings_.group;
  cfg.session_timeout_ms = 6000;
  cfg.auto_offset_reset = client::offset_reset::earliest;
  cfg.fetch_max_wait_ms = 200;
  auto c = client::consumer::create(cfg);
  if (!c || !(*c)->subscribe({settings_.topic})) {
    std::lock_guard lk(mu_);
    errors_.push_back(
        fmt::format("consumer {}: {}", index, c ? "cannot subscribe" : c.err().to_string()));
    return;
  }
  bool uncommitted = false;  // polled records whose commit has not succeeded yet
  while (!stopping_) {
    auto r = (*c)->poll(milliseconds(200));
    if (r && !r->empty()) {
      uncommitted = true;
      auto now = wall_ms();
      std::lock_guard lk(mu_);
      for (const auto& m : *r) {
        if (!m.value) continue;
        auto it = consumed_.try_emplace(*m.value, consumption{now, 0}).first;
        ++it->second.times;
      }
    }
    if (!uncommitted) continue;
    if ((*c)->commit_sync()) {
      ++commits_ok_;
      uncommitted = false;
    } else {
      ++commits_failed_;  // retried after the next poll
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  (void)(*c)->commit_sync();
  (void)(*c)->close();
}

size_t group_workload::consumed_count() const {
  std::lock_guard lk(mu_);
  return consumed_.size();
}

bool group_workload::consumed(const std::string& value) const {
  std::lock_guard lk(mu_);
  return consumed_.count(value) > 0;
}

int64_t group_workload::redelivered() const {
  std::lock_guard lk(mu_);
  int64_t n = 0;
  for (const auto& [v, c] : consumed_) n += c.times > 1 ? 1 : 0;
  return n;
}

std::optional<int64_t> group_workload::first_consumed_ms(const std::string& value) const {
  std::lock_guard lk(mu_);
  auto it = consumed_.find(value);
  if (it == consumed_.end()) return std::nullopt;
  return it->second.first_ms;
}

std::vector<std::string> group_workload::regressions() const {
  return sampler_ ? sampler_->regressions() : std::vector<std::string>{};
}

std::vector<int64_t> group_workload::last_committed() const {
  std::vector<int64_t> out(settings_.partitions, -1);
  if (!sampler_) return out;
  for (uint32_t p = 0; p < settings_.partitions; ++p) {
    out[p] = sampler_->last_committed({settings_.topic, p});
  }
  return out;
}

std::vector<std::string> group_workload::errors() const {
  std::lock_guard lk(mu_);
  return errors_;
}

}  // namespace actormq::checker
