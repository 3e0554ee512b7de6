#pragma once
// log_reader: reads every partition of a topic from its log start to its
// high watermark as it is when the read begins, through a consumer of a
// group of its own (earliest offsets, nothing committed), so each read
// comes from the partitions' leaders of that moment. Bounded in time.

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
  bool read_all(std::chrono::milliseconds timeout, std::vector<observation>& out,
                std::string& error);

 private:
  std::string bootstrap_;
  std::string topic_;
  uint32_t partitions_;
  int reads_ = 0;
};

}  // namespace actormq::checker
