#pragma once
// broker_group: N actormq-broker processes for one test, each on its own
// temporary data directory, and their addresses as a client bootstrap list
// ("HOST:PORT,HOST:PORT,..."). Today they are independent single brokers;
// once brokers form a cluster, pass the cluster flags in extra_args (each
// broker's index is appended where "{i}" appears) to test routing across
// brokers and notLeader redirects.
//
// Not thread-safe: drive it from the test's thread.

#include <memory>
#include <string>
#include <vector>

#include "support/broker_process.h"

namespace actormq::test {

class broker_group {
 public:
  explicit broker_group(size_t n, std::vector<std::string> extra_args = {}) {
    for (size_t i = 0; i < n; ++i) {
      auto args = extra_args;
      for (auto& a : args) {
        if (auto at = a.find("{i}"); at != std::string::npos) a.replace(at, 3, std::to_string(i));
      }
      brokers_.push_back(std::make_unique<broker_process>(std::move(args)));
    }
  }

  /// Starts every broker; false (see error()) when one does not come up.
  bool start() {
    for (auto& b : brokers_) {
      if (!b->start()) {
        error_ = b->error();
        return false;
      }
    }
    return true;
  }

  broker_process& operator[](size_t i) { return *brokers_[i]; }
  size_t size() const { return brokers_.size(); }
  /// "A,B,C": every broker's address, in order.
  std::string bootstrap() const {
    std::string s;
    for (const auto& b : brokers_) {
      if (!s.empty()) s += ",";
      s += b->address();
    }
    return s;
  }
  const std::string& error() const { return error_; }

 private:
  std::vector<std::unique_ptr<broker_process>> brokers_;
  std::string error_;
};

}  // namespace actormq::test
