#pragma once
// log_reader: reads every partition of a topic from its log start to its
// high watermark as it is when the read begins, through a consumer of a
// group of its own (earliest offsets, nothing committed), so each read
// comes from the partitions' leaders of that moment. Bounded in time.
// The high watermark is the end: nothing above it is acknowledged with
// acks=all, nor readable.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "history.h"

namespace actormq::checker {

class log_reader {
 public:
  log_reader(std::string bootstrap, std::string topic, uint32_t partitions);

  /// Every record, or the error text when the read does not finish in time.
  /// min_ends (per partition, may be empty): wait until each partition's
  /// high watermark reached at least that (a new leader's high watermark
  /// starts behind until its followers fetch, so right after a failover the
  /// end is not yet where acknowledged records reach).
  bool read_all(std::chrono::milliseconds timeout, std::vector<observation>& out,
                std::string& error, const std::vector<int64_t>& min_ends = {});

 private:
  std::string bootstrap_;
  std::string topic_;
  uint32_t partitions_;
  int reads_ = 0;
};

}  // namespace actormq::checker
