#include "retry_workload.h"

#include "client_connect.h"
#include "wall_clock.h"

#include <actormq/client/consumer.h>
#include <actormq/client/producer.h>
#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <set>

namespace actormq::checker {

namespace {

using std::chrono::milliseconds;

}  // namespace

retry_verdict retry_verdict_of(const std::vector<retry_message>& msgs,
                               const std::map<std::string, int64_t>& foreign,
                               const std::vector<client::dead_letter>& dead_letters,
                               const std::string& topic, const std::string& group,
                               uint32_t max_retries) {
  retry_verdict v;
  auto problem = [&](std::string s) {
    if (v.problems.size() < 10) v.problems.push_back(std::move(s));
  };
  std::unordered_map<std::string, const retry_message*> planned;
  for (const auto& m : msgs) planned[m.value] = &m;
  for (const auto& [value, n] : foreign) {
    ++v.phantom;
    problem(fmt::format("{} was delivered {} time(s) but never planned", value, n));
  }
  // Dead letters per value, with theirs the right x-id.
  std::unordered_map<std::string, int64_t> dead_with_id;
  std::unordered_map<std::string, int64_t> dead_count;
  v.dead_letters = static_cast<int64_t>(dead_letters.size());
  for (const auto& d : dead_letters) {
    auto value = d.msg.value.value_or("");
    auto it = planned.find(value);
    if (it == planned.end()) {
      ++v.phantom;
      problem(fmt::format("the DLQ holds {} (offset {}), never planned", value, d.msg.offset));
      continue;
    }
    const auto& m = *it->second;
    ++dead_count[value];
    if (!m.dead) {
      ++v.wrongly_dead;
      problem(fmt::format("{} was dead-lettered ({}, {} deliveries) but is acked after {} nacks",
                          value, d.reason, d.deliveries, m.nacks));
      continue;
    }
    auto x_id = client::header_value(d.msg, "x-id");
    std::vector<std::string> wrong;
    if (x_id != m.x_id) wrong.push_back(fmt::format("x-id {}", x_id.value_or("missing")));
    if (d.reason != "max_retries") wrong.push_back("reason " + d.reason);
    if (d.group != group) wrong.push_back("group " + d.group);
    if (d.original_topic != topic) wrong.push_back("original topic " + d.original_topic);
    if (d.deliveries != max_retries + 1)
      wrong.push_back(fmt::format("{} deliveries", d.deliveries));
    if (!wrong.empty()) {
      ++v.bad_dead_letters;
      std::string all;
      for (const auto& w : wrong) all += (all.empty() ? "" : ", ") + w;
      problem(
          fmt::format("the dead letter of {} (offset {}) has {}; expected x-id {}, reason "
                      "max_retries, group {}, original topic {}, {} deliveries",
                      value, d.msg.offset, all, m.x_id, group, topic, max_retries + 1));
    }
    if (x_id == m.x_id) ++dead_with_id[value];
  }
  for (const auto& m : msgs) {
    std::set<uint32_t> numbers;
    std::set<uint32_t> nacked;  // delivery numbers nacked (ok or not) before the first ack
    int64_t acks = 0;
    bool duplicated = false;
    bool early = false;
    for (const auto& d : m.deliveries) {
      ++v.deliveries;
      if (!numbers.insert(d.number).second) {
        ++v.duplicate_deliveries;
        duplicated = true;
      }
      if (d.number > max_retries + 1) {
        ++v.past_max;
        problem(fmt::format("{} was delivered with number {}, past max_retries {} + 1", m.value,
                            d.number, max_retries));
      }
      switch (d.outcome) {
        case retry_outcome::acked:
          if (acks++ == 0) {
            for (uint32_t n = 1; n <= m.nacks; ++n) early = early || !nacked.count(n);
          }
          break;
        case retry_outcome::nacked:
          ++v.nacks;
          if (acks == 0) nacked.insert(d.number);
          break;
        case retry_outcome::nack_failed:
          ++v.nacks_failed;
          if (acks == 0) nacked.insert(d.number);
          break;
      }
    }
    v.duplicated_values += duplicated ? 1 : 0;
    v.acked_twice += acks > 1 ? 1 : 0;
    v.dead_twice += dead_count[m.value] > 1 ? 1 : 0;
    if (m.st != retry_message::state::acked) {
      ++v.maybe;
      continue;
    }
    ++v.acked;
    auto history = [&] {
      std::string h;
      for (const auto& d : m.deliveries) {
        h += fmt::format(" {}{}", d.number,
                         d.outcome == retry_outcome::acked    ? "a"
                         : d.outcome == retry_outcome::nacked ? "n"
                                                              : "f");
      }
      return h.empty() ? std::string(" none") : h;
    };
    if (m.dead) {
      if (dead_with_id[m.value] > 0) {
        ++v.dead;
      } else {
        ++v.not_dead;
        problem(
            fmt::format("{} (x-id {}) is not in the DLQ; deliveries (number, a/n/f = acked, "
                        "nacked, nack failed):{}",
                        m.value, m.x_id, history()));
      }
      continue;
    }
    if (acks == 0) {
      ++v.never_acked;
      problem(
          fmt::format("{} (x-id {}) was never acked; deliveries (number, a/n/f = acked, "
                      "nacked, nack failed):{}",
                      m.value, m.x_id, history()));
    } else if (early) {
      ++v.acked_early;
      problem(fmt::format("{} was acked before deliveries 1..{} were nacked; deliveries:{}",
                          m.value, m.nacks, history()));
    } else {
      ++v.retried_ok;
    }
  }
  return v;
}

retry_workload::retry_workload(retry_workload_settings s) : settings_(std::move(s)) {}

retry_workload::~retry_workload() {
  stop();
}

std::string retry_workload::retry_topic() const {
  return client::retry_topic_name(settings_.topic, settings_.group);
}

std::string retry_workload::dlq_topic() const {
  return client::dlq_topic_name(settings_.topic, settings_.group);
}

void retry_workload::start() {
  stopping_ = false;
  sent_ = false;
  ready_ = false;
  released_ = 0;
  std::mt19937_64 rng(settings_.seed ^ 0x2e7a1);
  {
    std::lock_guard lk(mu_);
    msgs_.clear();
    index_.clear();
    for (int64_t i = 0; i < settings_.messages; ++i) {
      retry_message m;
      m.dead = static_cast<int>(rng() % 100) < settings_.dead_percent;
      m.nacks = m.dead ? 0 : static_cast<uint32_t>(rng() % 3);
      m.value = m.dead ? fmt::format("d-{}", i) : fmt::format("r{}-{}", m.nacks, i);
      m.x_id = fmt::format("x{}", i);
      m.partition = static_cast<uint32_t>(i % settings_.partitions);
      index_[m.value] = msgs_.size();
      msgs_.push_back(std::move(m));
    }
  }
  std::vector<client::topic_partition> tps;
  for (uint32_t p = 0; p < settings_.partitions; ++p) {
    tps.push_back({settings_.topic, p});
    tps.push_back({retry_topic(), p});
  }
  sampler_ = std::make_unique<offset_sampler>(settings_.bootstrap, settings_.group, std::move(tps));
  sampler_->start();
  consumer_ = std::thread([this] { consume(); });
  producer_ = std::thread([this] { produce(); });
}

void retry_workload::release(int64_t upto) {
  auto now = released_.load();
  while (upto > now && !released_.compare_exchange_weak(now, std::min(upto, settings_.messages))) {
  }
}

bool retry_workload::wait_sent(milliseconds bound) {
  auto until = std::chrono::steady_clock::now() + bound;
  while (!sent_ && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  if (sent_ && producer_.joinable()) producer_.join();
  return sent_;
}

void retry_workload::stop() {
  stopping_ = true;
  if (producer_.joinable()) producer_.join();
  if (consumer_.joinable()) consumer_.join();
  if (sampler_) sampler_->stop();
}

void retry_workload::error(std::string why) {
  std::lock_guard lk(mu_);
  errors_.push_back(std::move(why));
}

void retry_workload::produce() {
  client::producer_config cfg;
  cfg.connection.broker = settings_.bootstrap;
  cfg.connection.client_id = "checker-retry-producer";
  cfg.connection.connect_timeout_ms = 1000;
  cfg.connection.request_timeout_ms = settings_.request_timeout_ms;
  cfg.acks = client::acks::all;
  cfg.idempotent = true;
  cfg.linger_ms = 2;
  cfg.retries = 1000;
  cfg.retry_backoff_max_ms = 500;
  cfg.delivery_timeout_ms = 30000;
  cfg.max_block_ms = 5000;
  cfg.metadata_max_age_ms = 2000;
  std::string why;
  auto p = connect_client([&] { return client::producer::create(cfg); }, stopping_, 20, why);
  if (!p) {
    error("retry producer never connected: " + why);
    sent_ = true;
    return;
  }
  const auto n = static_cast<size_t>(settings_.messages);
  const auto interval =
      std::chrono::duration_cast<std::chrono::microseconds>(settings_.window) / settings_.messages;
  auto next = std::chrono::steady_clock::now();
  for (size_t i = 0; i < n && !stopping_; ++i) {
    while (static_cast<int64_t>(i) >= released_ && !stopping_) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    if (stopping_) break;
    next = std::max(next, std::chrono::steady_clock::now());
    std::this_thread::sleep_until(next);
    next += interval;
    client::producer_record rec;
    rec.topic = settings_.topic;
    {
      std::lock_guard lk(mu_);
      auto& m = msgs_[i];
      rec.value = m.value;
      rec.partition = m.partition;
      rec.headers.push_back({"x-id", m.x_id});
      m.st = retry_message::state::in_flight;
    }
    p->send(std::move(rec), [this, i](const client::delivery_report& r) {
      {
        std::lock_guard lk(mu_);
        msgs_[i].st = r.ok() ? retry_message::state::acked : retry_message::state::maybe;
      }
      if (r.ok()) ++acked_;
    });
  }
  if (auto st = p->close(milliseconds(cfg.delivery_timeout_ms + 5000)); !st) {
    error("retry producer close: " + st.err().to_string());
  }
  sent_ = true;
}

void retry_workload::consume() {
  client::consumer_config cfg;
  cfg.connection.broker = settings_.bootstrap;
  cfg.connection.client_id = "checker-retry-consumer";
  cfg.connection.connect_timeout_ms = 1000;
  cfg.connection.request_timeout_ms = settings_.request_timeout_ms;
  cfg.group_id = settings_.group;
  cfg.session_timeout_ms = 6000;
  cfg.auto_offset_reset = client::offset_reset::earliest;
  cfg.fetch_max_wait_ms = 100;
  // A nack is a durable write (some 30 ms in Debug): 50 of them keep one
  // poll's work, and so a retry's wait behind it, around a second or two.
  cfg.max_poll_records = 50;
  cfg.retry_topics = true;
  std::string why;
  auto c = connect_consumer(cfg, settings_.topic, stopping_, 20, why);
  if (!c) {
    error("retry consumer: " + why);
    ready_ = true;
    return;
  }
  ready_ = true;
  bool uncommitted = false;  // settled deliveries whose commit has not succeeded yet
  while (!stopping_) {
    auto r = c->poll(milliseconds(100));
    if (r && !r->empty()) {
      uncommitted = true;
      // Partitions fetched again from a message whose nack failed: the
      // rest of this poll on them comes again too.
      std::set<client::topic_partition> again;
      for (const auto& m : *r) {
        client::topic_partition tp{m.topic, m.partition};
        if (again.count(tp)) continue;
        auto value = m.value.value_or("");
        auto number = client::delivery_count(m);
        size_t i = 0;
        bool ack = true;
        {
          std::lock_guard lk(mu_);
          auto it = index_.find(value);
          if (it == index_.end()) {
            ++foreign_[value];  // never planned: acked, so it does not come back
            continue;
          }
          i = it->second;
          const auto& plan = msgs_[i];
          ack = !plan.dead && number > plan.nacks;
        }
        auto outcome = retry_outcome::acked;
        if (!ack) {
          auto st = c->nack(m, fmt::format("plan {}", value));
          outcome = st ? retry_outcome::nacked : retry_outcome::nack_failed;
          ++(st ? nacks_ok_ : nacks_failed_);
          if (!st) {
            again.insert(tp);
            (void)c->seek(tp, m.offset);
            std::lock_guard lk(mu_);
            ++nack_failures_[st.err().to_string()];
          }
        } else {
          ++consumer_acks_;
        }
        std::lock_guard lk(mu_);
        msgs_[i].deliveries.push_back({number, wall_ms(), outcome});
      }
    }
    if (!uncommitted) continue;
    if (c->commit_sync()) {
      ++commits_ok_;
      uncommitted = false;
    } else {
      ++commits_failed_;  // tried again after the next poll
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  (void)c->commit_sync();
  (void)c->close();
}

bool retry_workload::settled_locked(const retry_message& m) const {
  for (const auto& d : m.deliveries) {
    if (!m.dead && d.outcome == retry_outcome::acked) return true;
    if (m.dead && d.outcome == retry_outcome::nacked && d.number > settings_.max_retries) {
      return true;
    }
  }
  return false;
}

int64_t retry_workload::unsettled(std::string& first) const {
  std::lock_guard lk(mu_);
  int64_t n = 0;
  for (const auto& m : msgs_) {
    if (m.st != retry_message::state::acked || settled_locked(m)) continue;
    if (++n == 1) first = m.value;
  }
  return n;
}

bool retry_workload::settled() const {
  if (!sent_) return false;
  std::string first;
  return unsettled(first) == 0;
}

int64_t retry_workload::pending_retries() const {
  std::lock_guard lk(mu_);
  int64_t n = 0;
  for (const auto& m : msgs_) {
    if (m.deliveries.empty()) continue;
    const auto& last = m.deliveries.back();
    n += last.outcome == retry_outcome::nacked && last.number <= settings_.max_retries ? 1 : 0;
  }
  return n;
}

std::optional<int64_t> retry_workload::first_retry_nacked_since(int64_t from_ms) const {
  std::lock_guard lk(mu_);
  std::optional<int64_t> first;
  for (const auto& m : msgs_) {
    for (size_t j = 1; j < m.deliveries.size(); ++j) {
      const auto& nacked = m.deliveries[j - 1];
      const auto& back = m.deliveries[j];
      if (nacked.outcome != retry_outcome::nacked || nacked.at_ms < from_ms) continue;
      if (back.number <= nacked.number) continue;  // fetched again, not retried
      if (!first || back.at_ms < *first) first = back.at_ms;
    }
  }
  return first;
}

client::result<std::vector<client::dead_letter>> retry_workload::read_dead_letters() const {
  client::connection_config cc;
  cc.broker = settings_.bootstrap;
  cc.client_id = "checker-retry-dlq";
  cc.connect_timeout_ms = 1000;
  cc.request_timeout_ms = settings_.request_timeout_ms;
  auto a = client::dlq_admin::create(cc);
  if (!a) return a.err();
  // From offset 0, not the re-drive cursor: the whole topic, every copy.
  return (*a)->list(dlq_topic(), static_cast<size_t>(settings_.messages) * 16 + 1000, 0);
}

std::vector<retry_message> retry_workload::messages() const {
  std::lock_guard lk(mu_);
  return msgs_;
}

std::map<std::string, int64_t> retry_workload::foreign() const {
  std::lock_guard lk(mu_);
  return foreign_;
}

std::map<std::string, int64_t> retry_workload::nack_failures() const {
  std::lock_guard lk(mu_);
  return nack_failures_;
}

std::vector<std::string> retry_workload::errors() const {
  std::lock_guard lk(mu_);
  return errors_;
}

}  // namespace actormq::checker
