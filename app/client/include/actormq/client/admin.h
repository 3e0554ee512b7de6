#pragma once
// admin: topic and consumer group management. Every call blocks until the
// broker answers (or request_timeout_ms passes). Thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actormq/client/config.h"
#include "actormq/client/connection.h"
#include "actormq/client/result.h"
#include "actormq/client/types.h"

namespace actormq::client {

class admin {
 public:
  /// Connects on its own connection.
  static result<std::unique_ptr<admin>> create(const connection_config& cfg);
  /// Shares an existing connection.
  explicit admin(std::shared_ptr<connection> conn);

  result<client::broker_info> broker_info();
  result<void> create_topic(const std::string& name, const topic_config& cfg);
  result<void> delete_topic(const std::string& name);
  result<std::vector<topic_info>> list_topics();
  result<topic_info> describe_topic(const std::string& name);
  /// Grows a topic to total_partitions partitions.
  result<void> add_partitions(const std::string& name, uint32_t total_partitions);
  result<std::vector<std::string>> list_groups();
  result<group_info> describe_group(const std::string& group);
  /// Offset for a timestamp; earliest_timestamp / latest_timestamp give the
  /// log start / log end.
  result<int64_t> list_offsets(const topic_partition& tp, int64_t timestamp_ms);
  static constexpr int64_t earliest_timestamp = -1;
  static constexpr int64_t latest_timestamp = -2;
  /// Committed offsets of a group (-1 where none).
  result<std::vector<topic_partition_offset>> fetch_offsets(
      const std::string& group, const std::vector<topic_partition>& partitions);

  const std::shared_ptr<connection>& conn() const { return conn_; }

 private:
  std::shared_ptr<connection> conn_;
};

}  // namespace actormq::client
