#include "delay_workload.h"

#include <actormq/client/consumer.h>
#include <actormq/client/producer.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "actors/delay/delay_levels.h"
#include "client_connect.h"

namespace actormq::checker {

namespace {

using std::chrono::milliseconds;

/// The level (1-based) of the brokers' default list whose delay from now
/// lands in [from_ms, to_ms), drawn among those that do; nullopt if none.
std::optional<uint8_t> delay_level_within(int64_t now, int64_t from_ms, int64_t to_ms,
                                          std::mt19937_64& rng) {
  const auto& delays = delay::delay_levels::message_defaults().delays();
  std::vector<uint8_t> fit;
  for (size_t i = 0; i < delays.size() && i < 255; ++i) {
    auto due = now + delays[i].count();
    if (due >= from_ms && due < to_ms) fit.push_back(static_cast<uint8_t>(i + 1));
  }
  if (fit.empty()) return std::nullopt;
  return fit[std::uniform_int_distribution<size_t>(0, fit.size() - 1)(rng)];
}

}  // namespace

delay_workload::delay_workload(delay_workload_settings s) : settings_(std::move(s)) {}

delay_workload::~delay_workload() {
  stop();
}

void delay_workload::start() {
  stopping_ = false;
  window_start_ms_ = wall_ms() + settings_.lead.count();
  std::mt19937_64 rng(settings_.seed ^ 0xde1a7);
  std::uniform_int_distribution<int64_t> at(0, std::max<int64_t>(settings_.window.count() - 1, 0));
  std::vector<int64_t> dues;
  for (int64_t i = 0; i < settings_.messages; ++i) dues.push_back(window_start_ms_ + at(rng));
  std::sort(dues.begin(), dues.end());
  {
    std::lock_guard lk(mu_);
    msgs_.clear();
    index_.clear();
    for (int64_t i = 0; i < settings_.messages; ++i) {
      delayed_message m;
      m.value = fmt::format("d{}", i);
      m.partition = static_cast<uint32_t>(i % settings_.partitions);
      m.deliver_at_ms = dues[static_cast<size_t>(i)];
      index_[m.value] = msgs_.size();
      msgs_.push_back(std::move(m));
    }
  }
  group_workload_settings gs;
  gs.bootstrap = settings_.bootstrap;
  gs.topic = settings_.topic;
  gs.partitions = settings_.partitions;
  gs.group = settings_.group;
  group_ = std::make_unique<group_workload>(gs);
  group_->start();
  observer_ = std::thread([this] { observe(); });
  producers_done_ = 0;
  for (int i = 0; i < settings_.producers; ++i) producers_.emplace_back([this, i] { produce(i); });
}

bool delay_workload::wait_sent(milliseconds bound) {
  auto until = std::chrono::steady_clock::now() + bound;
  while (producers_done_ < static_cast<int>(producers_.size()) &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  bool done = producers_done_ == static_cast<int>(producers_.size());
  if (done) {
    for (auto& t : producers_) t.join();
    producers_.clear();
  }
  return done;
}

void delay_workload::stop() {
  stopping_ = true;
  for (auto& t : producers_) t.join();
  producers_.clear();
  if (observer_.joinable()) observer_.join();
  if (group_) group_->stop();
}

void delay_workload::error(std::string why) {
  std::lock_guard lk(mu_);
  errors_.push_back(std::move(why));
}

void delay_workload::produce(int index) {
  client::producer_config cfg;
  cfg.connection.broker = settings_.bootstrap;
  cfg.connection.client_id = fmt::format("checker-delay-p{}", index);
  cfg.connection.connect_timeout_ms = 1000;
  cfg.connection.request_timeout_ms = settings_.request_timeout_ms;
  cfg.acks = client::acks::all;
  // Delayed batches carry no sequence (producer.h), so order and
  // idempotence buy nothing here; several batches of a partition in flight do.
  cfg.idempotent = false;
  cfg.max_in_flight_per_partition = 32;
  cfg.linger_ms = 1;
  cfg.retries = 0;  // see the header: an acknowledged value was sent once
  cfg.delivery_timeout_ms = settings_.request_timeout_ms + 5000;
  cfg.max_block_ms = 5000;
  cfg.metadata_max_age_ms = 2000;
  std::string why;
  auto p = connect_client([&] { return client::producer::create(cfg); }, stopping_, 20, why);
  if (!p) {
    error(fmt::format("delay producer {} never connected: {}", index, why));
    ++producers_done_;
    return;
  }
  std::mt19937_64 rng(settings_.seed * 7919 + static_cast<uint64_t>(index));
  auto outstanding = std::make_shared<std::atomic<int64_t>>(0);
  const auto k = static_cast<size_t>(settings_.producers);
  for (size_t i = static_cast<size_t>(index);
       i < static_cast<size_t>(settings_.messages) && !stopping_; i += k) {
    while (*outstanding >= settings_.max_outstanding && !stopping_) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    client::producer_record rec;
    rec.topic = settings_.topic;
    {
      std::lock_guard lk(mu_);
      auto& m = msgs_[i];
      rec.value = m.value;
      rec.partition = m.partition;
      if (static_cast<int>(rng() % 100) < settings_.level_percent) {
        m.level = delay_level_within(wall_ms(), window_start_ms_, window_end_ms(), rng);
      }
      if (m.level) {
        rec.delay_level = *m.level;
      } else {
        rec.deliver_at_ms = m.deliver_at_ms;
      }
      m.st = delayed_message::state::in_flight;
    }
    ++*outstanding;
    p->send(std::move(rec), [this, i, outstanding](const client::delivery_report& r) {
      auto now = wall_ms();
      {
        std::lock_guard lk(mu_);
        auto& m = msgs_[i];
        if (r.ok()) {
          m.st = delayed_message::state::acked;
          m.acked_ms = now;
          if (r.scheduled) m.deliver_at_ms = r.deliver_at_ms;
          m.sent_late = !r.scheduled || m.deliver_at_ms <= now;
        } else {
          m.st = delayed_message::state::maybe;
        }
      }
      ++(r.ok() ? acked_ : maybe_);
      --*outstanding;
    });
  }
  auto bound = milliseconds(cfg.delivery_timeout_ms + 5000);
  if (auto st = p->close(bound); !st) {
    error(fmt::format("delay producer {} close: {}", index, st.err().to_string()));
  }
  ++producers_done_;
}

void delay_workload::observe() {
  client::consumer_config cfg;
  cfg.connection.broker = settings_.bootstrap;
  cfg.connection.client_id = "checker-delay-observer";
  cfg.connection.connect_timeout_ms = 1000;
  cfg.connection.request_timeout_ms = 5000;
  cfg.group_id = settings_.group + "-observer";
  cfg.session_timeout_ms = 6000;
  cfg.auto_offset_reset = client::offset_reset::earliest;
  cfg.fetch_max_wait_ms = 100;
  cfg.retry_topics = false;
  std::string why;
  auto c = connect_consumer(cfg, settings_.topic, stopping_, 20, why);
  if (!c) {
    error("delay observer: " + why);
    return;
  }
  while (!stopping_) {
    auto r = c->poll(milliseconds(100));
    if (!r || r->empty()) continue;
    auto now = wall_ms();
    std::lock_guard lk(mu_);
    for (const auto& m : *r) {
      auto it = index_.find(m.value.value_or(""));
      if (it == index_.end()) {
        ++foreign_;
        continue;
      }
      auto& dm = msgs_[it->second];
      if (dm.seen_ms < 0) dm.seen_ms = now;
    }
  }
  (void)c->close();
}

int64_t delay_workload::pending() const {
  std::lock_guard lk(mu_);
  int64_t n = 0;
  for (const auto& m : msgs_) {
    n += m.st == delayed_message::state::acked && m.seen_ms < 0 ? 1 : 0;
  }
  return n;
}

bool delay_workload::all_seen() const {
  if (producers_done_ < settings_.producers) return false;
  return pending() == 0;
}

std::optional<int64_t> delay_workload::first_seen_due_from(uint32_t p, int64_t from_ms) const {
  std::lock_guard lk(mu_);
  std::optional<int64_t> first;
  for (const auto& m : msgs_) {
    if (m.partition != p || m.st != delayed_message::state::acked || m.seen_ms < 0) continue;
    if (m.deliver_at_ms < from_ms || m.sent_late) continue;
    if (!first || m.seen_ms < *first) first = m.seen_ms;
  }
  return first;
}

std::vector<delayed_message> delay_workload::messages() const {
  std::lock_guard lk(mu_);
  return msgs_;
}

std::vector<std::string> delay_workload::errors() const {
  std::lock_guard lk(mu_);
  return errors_;
}

lateness_stats lateness_of(std::vector<int64_t> v) {
  lateness_stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    auto n = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::min(v.size(), std::max<size_t>(n, 1)) - 1];
  };
  s.count = static_cast<int64_t>(v.size());
  s.p50 = rank(0.50);
  s.p99 = rank(0.99);
  s.max = v.back();
  return s;
}

delay_verdict delay_lateness(const std::vector<delayed_message>& msgs,
                             const std::map<std::string, int>& final_counts,
                             const std::vector<delay_fault>& faults, int64_t steady_bound_ms,
                             int64_t early_tolerance_ms) {
  delay_verdict v;
  auto problem = [&](std::string s) {
    if (v.problems.size() < 10) v.problems.push_back(std::move(s));
  };
  std::vector<int64_t> during, rest, all;
  std::unordered_map<std::string, const delayed_message*> planned;
  for (const auto& m : msgs) planned[m.value] = &m;
  for (const auto& [value, n] : final_counts) {
    if (!planned.count(value)) problem(fmt::format("{} was never sent but was delivered", value));
  }
  for (const auto& m : msgs) {
    auto it = final_counts.find(m.value);
    int n = it == final_counts.end() ? 0 : it->second;
    if (n > 1) {
      ++v.duplicates;
      problem(fmt::format("{} (partition {}) was delivered {} times", m.value, m.partition, n));
    }
    if (m.st != delayed_message::state::acked) {
      ++v.maybe;
      v.maybe_delivered += n > 0 ? 1 : 0;
      continue;
    }
    ++v.acked;
    if (n == 0) {
      ++v.missing;
      problem(fmt::format("{} (partition {}, due {}) was acknowledged and never delivered", m.value,
                          m.partition, m.deliver_at_ms));
      continue;
    }
    ++v.delivered;
    if (m.sent_late) {
      ++v.sent_late;
      continue;
    }
    if (m.seen_ms < 0) {
      ++v.unseen;
      continue;
    }
    auto late = m.seen_ms - m.deliver_at_ms;
    if (late < -early_tolerance_ms) {
      ++v.early;
      problem(fmt::format("{} was read {} ms before its deliver-at", m.value, -late));
    }
    all.push_back(late);
    bool in_fault = false;
    for (const auto& f : faults) {
      if (m.deliver_at_ms >= f.killed_ms - steady_bound_ms &&
          m.deliver_at_ms <= f.killed_ms + f.failover_ms) {
        in_fault = true;
      }
    }
    (in_fault ? during : rest).push_back(late);
  }
  v.during = lateness_of(std::move(during));
  v.rest = lateness_of(std::move(rest));
  v.all = lateness_of(std::move(all));
  return v;
}

}  // namespace actormq::checker
