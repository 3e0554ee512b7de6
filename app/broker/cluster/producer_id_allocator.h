#pragma once
// producer_id_allocator: hands out idempotent producer ids that are unique in
// the cluster (docs/cluster.md, "Producer ids"). Ids come from the block this
// broker claimed last; when it is used up the next block is claimed in etcd
// with a compare-and-swap txn on <root>/producer_id_block
// (cluster::producer_id_block), retried at once on a conflict (the other
// broker's claim succeeded, so every conflict is progress), the whole claim
// bounded by claim_timeout.
//
// While etcd cannot be reached the ids left in the current block keep being
// handed out; after that next() resolves with cluster_unavailable (retriable)
// until etcd answers again. A restarted broker claims a new block: the ids
// left in its last one are skipped, never reused.
//
// A single broker does not use this: its TOPIC REGISTRY reserves blocks in
// <data>/producer_ids. That file's value is the floor of every block claimed
// here, so ids handed out before the broker joined a cluster are not reused.
//
// Thread-safety: KJ thread only. The etcd client and timer must outlive it;
// it must outlive every promise it returned.

#include <kj/async.h>
#include <kj/timer.h>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "actors/cluster/types.h"
#include "app/etcd/etcd_client.h"

namespace actormq::broker {

class producer_id_allocator final : private kj::TaskSet::ErrorHandler {
 public:
  struct settings {
    std::string key;  ///< cluster_keys::producer_id_block()
    cluster::broker_id broker = cluster::no_broker;
    int64_t block_size = 1000;  ///< [cluster].producer_id_block
    int64_t floor = 0;          ///< no id below this (the local producer_ids file)
    std::chrono::milliseconds claim_timeout{2000};
  };

  producer_id_allocator(etcd::etcd_client& etcd, kj::Timer& timer, settings s);
  producer_id_allocator(const producer_id_allocator&) = delete;
  producer_id_allocator& operator=(const producer_id_allocator&) = delete;

  /// The next id: from the current block at once, else once the next block
  /// is claimed. Errors: cluster_unavailable (etcd did not answer, or
  /// claims kept conflicting, within claim_timeout), internal (the value in
  /// etcd is malformed: it is never overwritten blindly).
  kj::Promise<caf::expected<int64_t>> next();
  /// The floor for a broker with this data dir: the value of
  /// <data>/producer_ids (what the broker reserved while it ran alone), 0
  /// when there is none.
  static int64_t local_floor(const std::filesystem::path& data_dir);
  /// Ids left in the current block.
  int64_t remaining() const { return limit_ - next_; }

 private:
  /// Claims the next block; on success the current block is replaced.
  kj::Promise<caf::error> claim();
  /// One compare-and-swap against the value seen (nullopt: the key is absent).
  kj::Promise<caf::error> claim_after(std::optional<etcd::key_value> seen, uint32_t attempt);
  void taskFailed(kj::Exception&& e) override;

  etcd::etcd_client& etcd_;
  kj::Timer& timer_;
  settings settings_;
  int64_t next_ = 0;
  int64_t limit_ = 0;  ///< one past the current block's last id
  bool claiming_ = false;
  std::vector<kj::Own<kj::PromiseFulfiller<caf::error>>> waiting_;
  kj::TaskSet tasks_;
};

}  // namespace actormq::broker
