#pragma once
// fetcher: a consumer's fetch requests. Each poll's partitions are grouped
// by leader (the connection's cluster_router, asked for metadata again
// when a leader is unknown or the data is old) and fetched with one long
// poll per leader broker, in parallel when there are several: fetch()
// returns with the first answers, and the others (still in flight) come
// back from a later fetch(); their partitions are not asked for again
// meanwhile. Each answer carries the offset it was asked from, so the
// consumer drops one that arrives after its position moved. With use_fetch_stream the batch bytes
// come over each broker's zero-copy fetch stream (openStream, a plain TCP connection per broker
// session) instead of inside the reply; a broker that refuses the stream makes the fetcher copy
// from then on.
//
// Thread-safety: fetch() is for the consumer's user thread; the stream
// state lives on the connection's loop thread and is dropped there by
// close().

#include <cstdint>
#include <memory>
#include <vector>

#include "actormq/client/config.h"
#include "actormq/client/connection.h"
#include "actormq/client/result.h"
#include "fetch_types.h"

namespace actormq::client::detail {

class fetcher {
 public:
  fetcher(std::shared_ptr<connection> conn, const consumer_config& cfg);
  fetcher(const fetcher&) = delete;
  fetcher& operator=(const fetcher&) = delete;

  /// Fetches reqs (long poll up to wait_ms). Partitions without a known
  /// leader are left out this time; a leader that fails gives its
  /// partitions its error (the whole call fails when there is one leader).
  result<std::vector<fetched>> fetch(const std::vector<fetch_request>& reqs, uint32_t wait_ms);
  /// What a partition's failed answer asks of its caller.
  enum class failure {
    out_of_range,  ///< its offset is not in the log: the caller repositions
    moved,         ///< not the leader: the hint is applied, fetched there next time
    failed,        ///< any other error (an unknown topic or partition: metadata is
                   ///< asked for again)
  };
  /// Classifies f.err (set) and does the routing part of it.
  failure route_failure(const fetched& f);
  /// True while fetches use the zero-copy stream.
  bool stream_active() const;
  /// Drops the fetch streams (on the loop thread).
  void close();

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace actormq::client::detail
