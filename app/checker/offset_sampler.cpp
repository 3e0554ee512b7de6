#include "offset_sampler.h"

#include <actormq/client/admin.h>
#include <fmt/format.h>

#include <chrono>
#include <memory>

namespace actormq::checker {

offset_sampler::offset_sampler(std::string bootstrap, std::string group,
                               std::vector<client::topic_partition> partitions)
    : bootstrap_(std::move(bootstrap)),
      group_(std::move(group)),
      partitions_(std::move(partitions)) {}

offset_sampler::~offset_sampler() {
  stop();
}

void offset_sampler::start() {
  stopping_ = false;
  thread_ = std::thread([this] { sample(); });
}

void offset_sampler::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void offset_sampler::sample() {
  client::connection_config cc;
  cc.broker = bootstrap_;
  cc.connect_timeout_ms = 1000;
  cc.request_timeout_ms = 2000;
  std::unique_ptr<client::admin> adm;
  while (!stopping_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (!adm) {
      auto made = client::admin::create(cc);
      if (!made) continue;
      adm = std::move(*made);
    }
    auto r = adm->fetch_offsets(group_, partitions_);
    if (!r) {
      adm.reset();  // its broker may have died: connect afresh next time
      continue;
    }
    std::lock_guard lk(mu_);
    for (const auto& o : *r) {
      if (o.offset < 0) continue;
      client::topic_partition tp{o.topic, o.partition};
      auto [it, fresh] = committed_.emplace(tp, o.offset);
      if (fresh) continue;
      if (o.offset < it->second) {
        regressions_.push_back(
            fmt::format("{} partition {}: committed offset went back from {} to {}", o.topic,
                        o.partition, it->second, o.offset));
      }
      it->second = o.offset;  // a regression is reported once
    }
  }
}

std::vector<std::string> offset_sampler::regressions() const {
  std::lock_guard lk(mu_);
  return regressions_;
}

int64_t offset_sampler::last_committed(const client::topic_partition& tp) const {
  std::lock_guard lk(mu_);
  auto it = committed_.find(tp);
  return it == committed_.end() ? -1 : it->second;
}

}  // namespace actormq::checker
