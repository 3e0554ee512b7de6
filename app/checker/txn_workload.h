#pragma once
// txn_workload: transactional producers of one producer group writing to
// their own topic for the whole run (the kill-txn-coordinator scenario).
//
// Each producer thread loops: send a half message (a unique value), then
// decide it in its "local database" (a map shared by the group, as a real
// service's database is) and, most of the time, tell the broker: commit
// (about 70 %), rollback (15 %), or nothing at all (15 %: the producer
// "crashed" between its local transaction and endTransaction, so only a
// check-back can resolve it). The group's checker answers from the
// database: the decision, or unknown while there is none. The local
// decision is written before endTransaction is sent, so a check that races
// with the commit gets the same answer.
//
// The verdict (scenario_runner::check_txns), after every transaction was
// resolved: each value decided commit was read from the topic (at least
// once; more than once is at-least-once redelivery and reported), none
// decided rollback ever was, and no value was both.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace actormq::checker {

struct txn_workload_settings {
  std::string bootstrap;  ///< "a,b,c"
  std::string topic;
  uint32_t partitions = 1;
  std::string producer_group = "checked-txn";
  int producers = 2;
  uint64_t seed = 1;
  std::chrono::milliseconds interval{20};  ///< between transactions, per producer
};

/// What the producers' database says about one transaction's value.
enum class txn_fate { undecided, commit, rollback };

class txn_workload {
 public:
  explicit txn_workload(txn_workload_settings s) : settings_(std::move(s)) {}
  ~txn_workload();
  txn_workload(const txn_workload&) = delete;
  txn_workload& operator=(const txn_workload&) = delete;

  void start();
  /// Stops sending and waits (bounded) until every producer has finished
  /// the transaction it was in; the producers stay (their checkers keep
  /// answering) until close().
  void stop();
  /// Decides every undecided value (commit or rollback, seeded), so the
  /// broker's check-backs can resolve them.
  void decide_rest();
  /// Closes the producers.
  void close();

  /// Every value with a half message the broker acknowledged, and its fate.
  std::map<std::string, txn_fate> fates() const;
  int64_t halves() const { return halves_; }
  int64_t decided_by_call() const { return decided_by_call_; }
  int64_t calls_failed() const { return calls_failed_; }
  int64_t halves_failed() const { return halves_failed_; }
  int64_t checks_answered() const { return checks_; }
  /// Producers that could not be created, one sentence each.
  std::vector<std::string> errors() const;

 private:
  void produce(int index);

  txn_workload_settings settings_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> closing_{false};
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::map<std::string, txn_fate> db_;
  std::vector<std::string> errors_;
  std::atomic<int64_t> halves_{0};
  std::atomic<int64_t> halves_failed_{0};
  std::atomic<int64_t> decided_by_call_{0};
  std::atomic<int64_t> calls_failed_{0};
  std::atomic<int64_t> checks_{0};
  std::atomic<int> done_sending_{0};  ///< producers out of their send loop
};

}  // namespace actormq::checker
