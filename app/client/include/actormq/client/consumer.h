#pragma once
// consumer: a member of a consumer group. subscribe() joins the group; a
// heartbeat on the connection's loop every session_timeout_ms / 3 keeps the
// membership and brings assignment changes (new generation), which the next
// poll() adopts. Newly assigned partitions start at the group's committed
// offset, or at the earliest/latest offset (auto_offset_reset) when none is
// committed.
//
// poll() fetches (long poll) and decodes record batches into messages.
// Offsets are committed only when asked (commit_sync / commit_async), unless
// enable_auto_commit is set: commit_sync() commits, for each partition, the
// offset after the last message poll() returned.
//
// Thread-safety: a consumer is used by one thread at a time (like Kafka's).

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actormq/client/config.h"
#include "actormq/client/connection.h"
#include "actormq/client/message_batch.h"
#include "actormq/client/result.h"
#include "actormq/client/types.h"

namespace actormq::client {

class consumer {
 public:
  /// Connects on its own connection.
  static result<std::unique_ptr<consumer>> create(const consumer_config& cfg);
  /// Shares an existing connection.
  consumer(std::shared_ptr<connection> conn, consumer_config cfg);
  /// close() if still open.
  ~consumer();
  consumer(const consumer&) = delete;
  consumer& operator=(const consumer&) = delete;

  /// Joins the group for these topics (replacing an earlier subscription).
  result<void> subscribe(const std::vector<std::string>& topics);

  /// Up to max_poll_records messages; waits up to timeout for the first.
  /// Transient errors (disconnects, busy) are retried within timeout; the
  /// last one is returned if nothing arrived.
  result<std::vector<message>> poll(std::chrono::milliseconds timeout);
  /// poll() without a copy per message: views into the fetched bytes, which
  /// the batch owns (message_batch.h). The fast way to read.
  result<message_batch> poll_batch(std::chrono::milliseconds timeout);

  /// Commits, for each assigned partition, the offset after the last message
  /// poll() returned.
  result<void> commit_sync();
  /// Commits explicit offsets (each the next offset to consume).
  result<void> commit_sync(const std::vector<topic_partition_offset>& offsets);
  /// commit_sync() without waiting; the future holds its result.
  std::future<result<void>> commit_async();

  /// Gives m back for a later retry: the broker stores it durably for
  /// redelivery to the group after the group's backoff (through the retry
  /// topic), or dead-letters it once it has had max_retries retries. Returns
  /// once stored; then commit past m as usual. In strict_order mode m's
  /// partition is instead fetched again from m after the backoff.
  result<void> nack(const message& m, const std::string& error_text = {});
  /// Dead-letters m now (reason rejected); returns once durable.
  result<void> reject(const message& m, const std::string& error_text = {});

  /// Next poll() of tp starts at offset (tp must be assigned).
  result<void> seek(const topic_partition& tp, int64_t offset);
  /// Current assignment (as adopted by the last poll()).
  std::vector<topic_partition> assignment() const;
  /// Next offset poll() would return for tp.
  std::optional<int64_t> position(const topic_partition& tp) const;
  /// Generation and member id of the current membership.
  int32_t generation() const;
  std::string member_id() const;

  /// True while fetches use the zero-copy stream (use_fetch_stream set and
  /// the broker accepted openStream).
  bool fetch_stream_active() const;

  /// Leaves the group (commit first if you need to); later calls fail with
  /// errc::closed.
  result<void> close();

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace actormq::client
