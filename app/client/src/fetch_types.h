#pragma once
// The values a consumer's fetch passes between the fetcher (fetcher.h), the
// record decoder (record_decoder.h) and poll(). Plain C++.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actormq/client/types.h"
#include "byte_buffer.h"
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
  byte_buffer bytes;
  /// The offset this answer was asked from: an answer that arrives after the
  /// consumer moved (seek, reset) is dropped rather than decoded.
  int64_t requested_offset = -1;
};

/// One partition's fetched bytes once decoded: the message_views of it
/// point into bytes and topic, so message batches keep it alive.
struct fetched_buffer {
  std::string topic;
  byte_buffer bytes;
};

/// After a fetch answered bytes but not one whole batch: the partition's
/// next fetch asks for twice as much (size 0: from initial), at most 256 MiB.
inline void grow_fetch_size(uint32_t& size, uint32_t initial) {
  if (size == 0) size = initial;
  size = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{size} * 2, uint64_t{256} << 20));
}

}  // namespace actormq::client::detail
