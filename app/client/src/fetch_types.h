#pragma once
// The values a consumer's fetch passes between the fetcher (fetcher.h), the
// record decoder (record_decoder.h) and poll(). Plain C++.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "actormq/client/message_batch.h"
#include "actormq/client/types.h"
#include "cluster_metadata_cache.h"

namespace actormq::client::detail {

/// One partition to fetch from an offset.
struct fetch_request {
  topic_partition tp;
  int64_t offset = 0;
  uint32_t max_bytes = 0;
};

/// One partition's part of a fetch answer, copied out of the RPC reply.
struct fetched {
  topic_partition tp;
  error err;
  leader_hint hint;  ///< with notLeader
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  std::string bytes;
  /// The offset this answer was asked from: an answer that arrives after the
  /// consumer moved (seek, reset) is dropped rather than decoded.
  int64_t requested_offset = -1;
};

/// One partition's fetched bytes once decoded: the message_views of it
/// point into bytes and topic, so message batches keep it alive.
struct fetched_buffer {
  std::string topic;
  std::string bytes;
};

/// After a fetch answered bytes but not one whole batch: the partition's
/// next fetch asks for twice as much (size 0: from initial), at most 256 MiB.
inline void grow_fetch_size(uint32_t& size, uint32_t initial) {
  if (size == 0) size = initial;
  size = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{size} * 2, uint64_t{256} << 20));
}

/// A decoded message waiting for poll(), with the buffer it points into.
struct buffered_view {
  message_view v;
  std::shared_ptr<const fetched_buffer> owner;
};

/// Moves up to max views (at least one) from the front of buffered into a
/// batch that keeps their buffers alive; track(b) sees each one taken, in
/// order, before it moves.
template <typename Track>
message_batch take_views(std::deque<buffered_view>& buffered, size_t max, Track&& track) {
  size_t n = std::min(buffered.size(), std::max<size_t>(max, 1));
  std::vector<message_view> views;
  views.reserve(n);
  std::vector<message_batch::owner> owners;
  const fetched_buffer* last = nullptr;  // one buffer per partition fetch
  for (size_t i = 0; i < n; ++i) {
    auto& b = buffered.front();
    if (b.owner.get() != last) {
      last = b.owner.get();
      owners.push_back(b.owner);
    }
    track(b);
    views.push_back(std::move(b.v));
    buffered.pop_front();
  }
  return message_batch(std::move(views), std::move(owners));
}

}  // namespace actormq::client::detail
