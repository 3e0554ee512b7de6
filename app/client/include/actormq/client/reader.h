#pragma once
// reader: reads partitions from offsets of its choosing, outside any
// consumer group: no membership, no commits, no retries or dead letters.
// For tools and jobs that need to look at a log as it is: `actormq consume
// --partition`, `actormq message find`, backlog diversion, the idempotent
// consumer's own tests. Positions live in the reader only.
//
// Not thread-safe: one thread at a time (like consumer).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "actormq/client/config.h"
#include "actormq/client/connection.h"
#include "actormq/client/message_batch.h"
#include "actormq/client/result.h"
#include "actormq/client/types.h"

namespace actormq::client {

class reader {
 public:
  /// The log start / log end of a partition, for assign().
  static constexpr int64_t earliest = -1;
  static constexpr int64_t latest = -2;

  /// Connects on its own connection (cfg.connection); the group settings of
  /// cfg are not used, the fetch settings and check_crcs are.
  static result<std::unique_ptr<reader>> create(const consumer_config& cfg);
  reader(std::shared_ptr<connection> conn, consumer_config cfg);
  ~reader();
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

  /// Reads tp from offset (or earliest / latest) on, replacing its position
  /// if it was assigned. Fails with unknown_topic / unknown_partition.
  result<void> assign(const topic_partition& tp, int64_t offset);
  /// Reads tp from the first message with a timestamp at or after
  /// timestamp_ms (ms since the epoch); the log end when there is none.
  result<void> assign_from_time(const topic_partition& tp, int64_t timestamp_ms);
  /// Every partition of topic, each from offset (or earliest / latest).
  result<void> assign_topic(const std::string& topic, int64_t offset);
  /// The same from a time.
  result<void> assign_topic_from_time(const std::string& topic, int64_t timestamp_ms);
  void unassign(const topic_partition& tp);
  std::vector<topic_partition> assignment() const;

  /// The next messages of the assigned partitions, waiting up to timeout
  /// for the first; views into the fetched bytes (message_batch.h). A
  /// partition whose offset fell below its log start (retention) moves to
  /// the log start. Transient errors are retried within timeout.
  result<message_batch> poll_batch(std::chrono::milliseconds timeout);
  /// The same as owning copies.
  result<std::vector<message>> poll(std::chrono::milliseconds timeout);

  /// The next offset poll() reads from tp; -1 when not assigned.
  int64_t position(const topic_partition& tp) const;
  /// True once every assigned partition's position has reached the high
  /// watermark its last fetch reported (after one poll at least).
  bool at_end() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace actormq::client
