#pragma once
// record_decoder: turns one partition's fetched batch bytes into the
// message_views poll() returns. It checks each batch's CRC32C (when
// asked), skips what lies before the partition's position and control
// batches, and sets aside messages past their amq-expires-at header or
// their topic's ttl_ms (by the origin's timestamp for a retry) for the
// consumer to dead-letter.
//
// Plain C++ over the storage format (storage/record_batch.h); no I/O.
// Not thread-safe: the consumer's user thread owns it.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actormq/client/types.h"
#include "decoded_queue.h"
#include "fetch_types.h"
#include "storage/record_batch.h"

namespace actormq::client::detail {

/// r as an owning message: its amq-id header becomes m.id (message_id.h)
/// instead of one of m.headers.
message to_message(const storage::record_view& r, std::string_view topic, uint32_t partition);

class record_decoder {
 public:
  record_decoder(bool check_crcs, bool dead_letter_expired)
      : check_crcs_(check_crcs), dead_letter_expired_(dead_letter_expired) {}

  /// ttl_ms of the subscribed topics that have one (and of their retry topics).
  void set_topic_ttls(std::map<std::string, int64_t> ttls) { topic_ttl_ms_ = std::move(ttls); }

  struct outcome {
    error err;                    ///< a corrupt or undecodable batch
    bool no_whole_batch = false;  ///< bytes came but not one whole batch: fetch more
  };
  /// Decodes f's batches (taking f.bytes) from pos on: messages go to out
  /// (one chunk), expired ones (copies) to expired; pos moves past every
  /// decoded batch. At a corrupt or undecodable batch it stops with an error:
  /// the batches before it stay decoded, nothing of it is kept, and pos
  /// stays at its start.
  outcome decode(fetched& f, int64_t& pos, decoded_queue& out, std::vector<message>& expired) const;

  /// Past its amq-expires-at, or older than ttl (its topic's ttl_ms, if it
  /// has one; by the origin's timestamp for a retry). now: ms since the epoch.
  /// Inline: it runs once a fetched record, and nearly every record has no
  /// header but its id (which is not among m.headers).
  bool is_expired(const message_view& m, int64_t now, std::optional<int64_t> ttl) const {
    if (!dead_letter_expired_) return false;
    // born + ttl <= now, written so that no timestamp a producer may set
    // (any int64) overflows: now is the clock's, ttl positive.
    if (m.headers.empty()) return ttl && m.timestamp_ms <= now - *ttl;
    return expired_by_headers(m, now, ttl);
  }

 private:
  /// is_expired() for a record with headers: amq-expires-at, or the retry's
  /// original timestamp against ttl.
  bool expired_by_headers(const message_view& m, int64_t now, std::optional<int64_t> ttl) const;

  bool check_crcs_;
  bool dead_letter_expired_;
  std::map<std::string, int64_t> topic_ttl_ms_;
};

}  // namespace actormq::client::detail
