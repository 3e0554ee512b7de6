#pragma once
// Error values of the ActorMQ client. Every fallible call returns a
// result<T> (result.h) holding a value or an `error`: a std::error_code in
// client_category() plus the broker's or the client's message text. Nothing
// in the public API throws.
//
// Codes 1..28 mirror rpc::ErrorCode of schema/actormq.capnp one to one (same
// numbers); codes from 100 on are raised by the client itself.

#include <string>
#include <system_error>

namespace actormq::client {

enum class errc {
  success = 0,
  // --- from the broker (rpc::ErrorCode) ---
  invalid_request = 1,
  unknown_topic = 2,
  topic_exists = 3,
  invalid_topic = 4,
  unknown_partition = 5,
  invalid_batch = 6,
  batch_too_large = 7,
  message_too_large = 8,
  busy = 9,
  out_of_order_sequence = 10,
  invalid_producer_epoch = 11,
  unknown_producer_id = 12,
  offset_out_of_range = 13,
  storage_error = 14,
  disk_full = 15,
  unknown_group = 16,
  unknown_member = 17,
  stale_generation = 18,
  rebalance_in_progress = 19,
  not_assigned = 20,
  timeout = 21,
  shutting_down = 22,
  internal = 23,
  unknown_transaction = 24,
  txn_already_committed = 25,
  txn_already_rolled_back = 26,
  redrive_limit = 27,  ///< the message was re-driven too often
  queue_full = 28,     ///< bounded topic full with policy reject-new
  // --- raised by the client ---
  broker_unreachable = 100,  ///< could not connect to the broker address
  disconnected = 101,        ///< the connection dropped while a request was outstanding
  request_timeout = 102,     ///< no answer within request_timeout_ms
  closed = 103,              ///< the producer/consumer/connection was closed
  invalid_argument = 104,    ///< bad argument or configuration
  protocol_error = 105,      ///< the broker's answer did not make sense
  delivery_timeout = 106,    ///< a record was not acknowledged within delivery_timeout_ms
  not_subscribed = 107,      ///< consumer call that needs subscribe() first
};

const std::error_category& client_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), client_category()};
}

/// True for errors where resending the same request later may succeed
/// (busy, timeout, disk_full, shutting_down, disconnected, broker_unreachable,
/// request_timeout).
bool is_retriable(errc e) noexcept;

}  // namespace actormq::client

template <>
struct std::is_error_code_enum<actormq::client::errc> : std::true_type {};
