#include "txn_workload.h"

#include <actormq/client/transaction_producer.h>
#include <fmt/format.h>

namespace actormq::checker {

using std::chrono::milliseconds;

txn_workload::~txn_workload() {
  stop();
  close();
}

void txn_workload::start() {
  stopping_ = false;
  closing_ = false;
  done_sending_ = 0;
  for (int i = 0; i < settings_.producers; ++i) threads_.emplace_back([this, i] { produce(i); });
}

void txn_workload::stop() {
  stopping_ = true;
  // Until every producer finished the transaction it was in (its half may
  // still be on its way, and its fate must be in the database before anyone
  // reads it); each call ends within its timeouts.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (done_sending_ < static_cast<int>(threads_.size()) &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(10));
  }
}

void txn_workload::close() {
  stopping_ = true;
  closing_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void txn_workload::decide_rest() {
  std::mt19937_64 rng(settings_.seed ^ 0x5eed);
  std::lock_guard lk(mu_);
  for (auto& [v, fate] : db_) {
    if (fate == txn_fate::undecided) {
      fate = rng() % 4 == 0 ? txn_fate::rollback : txn_fate::commit;
    }
  }
}

void txn_workload::produce(int index) {
  client::transaction_producer_config cfg;
  cfg.connection.broker = settings_.bootstrap;
  cfg.connection.client_id = fmt::format("checker-t{}", index);
  cfg.connection.connect_timeout_ms = 1000;
  cfg.connection.request_timeout_ms = 5000;
  cfg.producer_group = settings_.producer_group;
  auto checker = [this](const client::half_message& m) {
    ++checks_;
    std::string v = m.records.empty() ? "" : m.records[0].value.value_or("");
    std::lock_guard lk(mu_);
    auto it = db_.find(v);
    if (it == db_.end() || it->second == txn_fate::undecided) return client::txn_status::unknown;
    return it->second == txn_fate::commit ? client::txn_status::commit
                                          : client::txn_status::rollback;
  };
  // Creating registers the checker: retried while the cluster settles.
  std::unique_ptr<client::transaction_producer> tp;
  std::string why;
  for (int attempt = 0; attempt < 20 && !tp && !closing_; ++attempt) {
    auto made = client::transaction_producer::create(cfg, checker);
    if (made) {
      tp = std::move(*made);
    } else {
      why = made.err().to_string();
      std::this_thread::sleep_for(milliseconds(500));
    }
  }
  if (!tp) {
    std::lock_guard lk(mu_);
    errors_.push_back(fmt::format("transactional producer {}: {}", index, why));
    ++done_sending_;
    return;
  }
  std::mt19937_64 rng(settings_.seed * 1000003 + static_cast<uint64_t>(index));
  for (int64_t n = 0; !stopping_; ++n) {
    auto value = fmt::format("t{}-{}", index, n);
    client::producer_record rec;
    rec.topic = settings_.topic;
    rec.value = value;
    rec.partition = static_cast<uint32_t>(n % settings_.partitions);
    auto id = tp->send_half(rec);
    if (!id) {
      ++halves_failed_;  // never acknowledged: not in the database, never decided
      std::this_thread::sleep_for(milliseconds(100));
      continue;
    }
    ++halves_;
    auto roll = rng() % 100;
    auto fate = roll < 70 ? txn_fate::commit : roll < 85 ? txn_fate::rollback : txn_fate::undecided;
    {
      std::lock_guard lk(mu_);
      db_[value] = fate;  // the local transaction's outcome, before the broker hears it
    }
    if (fate != txn_fate::undecided) {
      auto r = fate == txn_fate::commit ? tp->commit(*id) : tp->rollback(*id);
      if (r) {
        ++decided_by_call_;
      } else {
        ++calls_failed_;  // the check-back resolves it from the database
      }
    }
    std::this_thread::sleep_for(settings_.interval);
  }
  ++done_sending_;
  // Stay connected: the checker answers until the scenario closes.
  while (!closing_) std::this_thread::sleep_for(milliseconds(50));
}

std::map<std::string, txn_fate> txn_workload::fates() const {
  std::lock_guard lk(mu_);
  return db_;
}

std::vector<std::string> txn_workload::errors() const {
  std::lock_guard lk(mu_);
  return errors_;
}

}  // namespace actormq::checker
