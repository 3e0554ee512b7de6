#pragma once
// State of the RETRY actor: topic handles, the re-drive cursors of a
// previous release not yet moved, and the running nack and re-drive jobs.
// Each job walks its records one step per continuation; the actor never
// blocks on a reply.

#include <caf/all.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "actors/inspect/counted_actor.h"
#include "actors/retry/retry_actor.h"
#include "actors/retry/retry_headers.h"
#include "actors/state/partition_reader.h"
#include "actors/state/partition_writer.h"
#include "actors/topic/topic_cache.h"
#include "storage/offset_store.h"

namespace actormq {

class retry_state {
 public:
  using self_ptr = inspected_pointer<retry_actor, retry_state>;
  static constexpr const char* name = "retry";

  caf::error init(self_ptr self, retry_actor_settings settings);
  caf::result<nack_reply> nack(nack_request req);
  caf::result<redrive_reply> redrive(redrive_request req);
  caf::result<int64_t> cursor(const std::string& dlq);
  std::vector<metrics_registry::sample> stats() const;
  void close();
  /// The actor inspector's part (docs/inspector.md, "retry").
  void inspect(actor_report& r) const;
  /// The message trace's part: copies in retry and dead-letter topics
  /// (retry_trace.cpp).
  caf::result<std::string> trace(const std::string& topic, int32_t partition, int64_t offset);
  /// The same for the message of topic with this message id (16 bytes):
  /// found first by reading topic's partitions (retry_trace.cpp).
  caf::result<std::string> trace_id(const std::string& topic, const std::string& id);

 private:
  struct nack_job;
  struct redrive_job;
  struct output {
    std::string topic;
    uint32_t partition = 0;
    std::string batch;
  };
  using done = std::function<void(caf::error)>;

  void next_nack(std::shared_ptr<nack_job> job);
  void handle_record(std::shared_ptr<nack_job> job, std::shared_ptr<std::string> batch);
  void redrive_from(std::shared_ptr<redrive_job> job, int64_t cursor_at);
  void next_redrive(std::shared_ptr<redrive_job> job);

  /// The group __redrive, from the local GROUP COORDINATOR (not_coordinator
  /// when this broker does not lead its partition of __consumer_offsets).
  void with_redrive_group(std::function<void(caf::expected<group_actor>)> k);
  /// The re-drive cursor of dlq: __redrive's committed offset on dlq/0 (0
  /// when none), or a previous release's cursor when that is higher.
  void cursor(const std::string& dlq, std::function<void(caf::expected<int64_t>)> k);
  /// Commits next as dlq's cursor (a standalone commit of __redrive).
  void commit_cursor(const std::string& dlq, int64_t next, done k);
  /// A previous release's <data>/retry/offsets.log: its cursors, moved
  /// with their next commit (alone: at once).
  void read_legacy_cursors();
  void drop_legacy_cursors();
  void redrive_chunk(std::shared_ptr<redrive_job> job, std::shared_ptr<std::string> bytes);
  struct trace_job;
  /// The topics whose records can be copies of a message of topic: its
  /// retry topics (T.G.retry) and dead-letter topics (T.G.dlq, T.dlq).
  void trace_topics(const std::string& topic,
                    std::function<void(caf::expected<std::vector<std::string>>)> k);
  void trace_next(std::shared_ptr<trace_job> job);
  /// trace_id(): the message is at job's partition and offset; its copies next.
  void trace_found(std::shared_ptr<trace_job> job);
  /// The copies are done: the delay wheel's envelopes of the message next.
  void trace_delays(std::shared_ptr<trace_job> job);
  /// One record of a __delay_schedule partition (sp) read by the trace.
  void trace_delay_record(trace_job& job, uint32_t sp, const storage::record_view& r);

  using count_fn = std::function<void(caf::expected<uint32_t>)>;

  /// The whole batch holding (topic, partition, offset).
  void read_batch(const std::string& topic, uint32_t partition, int64_t offset,
                  std::function<void(caf::expected<std::shared_ptr<std::string>>)> k);
  /// The partition count of topic: alone from the registry, in a cluster
  /// from the cluster's counts. unknown_topic when there is no such topic.
  void partition_count(const std::string& topic, count_fn k);
  /// The partition count of topic; alone it is created with `partitions`
  /// when it does not exist (in a cluster the consumer creates it).
  void ensure_topic(const std::string& topic, uint32_t partitions, count_fn k);
  /// Appends batch to topic/partition (modulo its partition count): acks
  /// fsync alone, all in a cluster.
  void produce(const std::string& topic, uint32_t partition, std::string batch, done k);
  void produce_all(std::shared_ptr<std::vector<output>> outs, size_t i, done k);
  void raise_alert(const std::string& dlq, const std::string& group,
                   retry::dead_letter_reason reason, const retry::delivery_info& info,
                   const std::string& error);
  static int64_t now_ms();

  bool replicated() const { return settings_.cluster_topics != nullptr; }

  self_ptr self_ = nullptr;
  retry_actor_settings settings_;
  topic_cache topics_;
  partition_reader reader_;
  partition_writer writer_;
  std::map<std::string, int64_t> legacy_cursors_;  ///< DLQ -> cursor, not moved yet
  /// Nack and re-drive jobs running now (each job counts itself while it
  /// lives), for the inspector.
  std::shared_ptr<int64_t> running_nacks_ = std::make_shared<int64_t>(0);
  std::shared_ptr<int64_t> running_redrives_ = std::make_shared<int64_t>(0);
};

}  // namespace actormq
