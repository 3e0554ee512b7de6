#pragma once
// The values a consumer's fetch passes between the fetcher (fetcher.h), the
// record decoder (record_decoder.h) and poll(). Plain C++.

#include <cstdint>
#include <memory>
#include <string>

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

/// A decoded message waiting for poll(), with the buffer it points into.
struct buffered_view {
  message_view v;
  std::shared_ptr<const fetched_buffer> owner;
};

}  // namespace actormq::client::detail
