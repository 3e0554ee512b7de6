#pragma once
// Builds the one-record batches that move a message between its topic, its
// group's retry topic and its DLQ (headers in retry_headers.h). Each copies
// the record's key, value and user headers unchanged and replaces the amq-*
// headers it owns; the record timestamp is the time of the move (the origin
// timestamp travels in amq-original-timestamp).
//
//   retry       delivery count + 1, origin, last error; kept redrive count
//   dead letter delivery count, origin, last error, reason, time, group
//   redrive     only the user headers and redrive count + 1: back in its
//               topic the message starts a fresh delivery history
//
// Plain C++: no CAF.

#include <cstdint>
#include <string>
#include <string_view>

#include "actors/retry/retry_headers.h"
#include "storage/record_batch.h"

namespace actormq::retry {

/// The batch scheduled to the retry topic for a nacked record.
std::string build_retry_batch(const storage::record_view& r, const delivery_info& info,
                              std::string_view error, int64_t now_ms);

/// The batch produced to the DLQ for a dead-lettered record.
std::string build_dead_letter_batch(const storage::record_view& r, const delivery_info& info,
                                    dead_letter_reason reason, std::string_view group,
                                    std::string_view error, int64_t now_ms);

/// The batch produced back to info.origin.topic for a re-driven dead letter.
std::string build_redrive_batch(const storage::record_view& r, const delivery_info& info,
                                int64_t now_ms);

/// The record unchanged (headers included), e.g. to keep a dead letter in
/// its DLQ when a re-drive passes over it.
std::string build_copy_batch(const storage::record_view& r);

}  // namespace actormq::retry
