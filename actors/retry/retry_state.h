#pragma once
// State of the RETRY actor: topic handles, the re-drive cursor store and the
// running nack and re-drive jobs. Each job walks its records one step per
// continuation; the actor never blocks on a reply.

#include <caf/all.hpp>

#include <functional>
#include <memory>

#include "actors/retry/retry_actor.h"
#include "actors/retry/retry_headers.h"
#include "actors/topic/topic_cache.h"
#include "storage/offset_store.h"

namespace actormq {

class retry_state {
 public:
  using self_ptr = retry_actor::stateful_pointer<retry_state>;
  static constexpr const char* name = "retry";

  caf::error init(self_ptr self, retry_actor_settings settings);
  caf::result<nack_reply> nack(nack_request req);
  caf::result<redrive_reply> redrive(redrive_request req);
  int64_t cursor(const std::string& dlq) const;
  std::vector<metrics_registry::sample> stats() const;
  void close();

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
  void next_redrive(std::shared_ptr<redrive_job> job);
  void redrive_chunk(std::shared_ptr<redrive_job> job, std::shared_ptr<std::string> bytes);

  /// The whole batch holding (topic, partition, offset).
  void read_batch(const std::string& topic, uint32_t partition, int64_t offset,
                  std::function<void(caf::expected<std::shared_ptr<std::string>>)> k);
  /// The handle of topic, created with partitions when it does not exist.
  void ensure_topic(const std::string& topic, uint32_t partitions,
                    std::function<void(caf::expected<topic_handle>)> k);
  /// Appends batch to topic/partition (modulo its partition count), acks fsync.
  void produce(const std::string& topic, uint32_t partition, std::string batch, done k);
  void produce_all(std::shared_ptr<std::vector<output>> outs, size_t i, done k);
  void raise_alert(const std::string& dlq, const std::string& group,
                   retry::dead_letter_reason reason, const retry::delivery_info& info,
                   const std::string& error);
  static int64_t now_ms();

  self_ptr self_ = nullptr;
  retry_actor_settings settings_;
  topic_cache topics_;
  std::unique_ptr<storage::offset_store> cursors_;
};

}  // namespace actormq
