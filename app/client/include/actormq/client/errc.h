#pragma once
// Error values of the ActorMQ client. Every fallible call returns a
// result<T> (result.h) holding a value or an `error`: a std::error_code in
// client_category() plus the broker's or the client's message text. Nothing
// in the public API throws.
//
// Codes from 1 up to ACTORMQ_ERROR_CODE_MAX are the broker's: they are
// generated from enum ErrorCode of schema/actormq.capnp (actormq/error_codes.inc
// lists each with its number, text and whether it is retriable), under the
// schema's numbers and snake_case names: invalidRequest @1 is
// errc::invalid_request = 1, notLeader @29 is errc::not_leader = 29.
// Codes from 100 on are raised by the client itself.

#include <string>
#include <system_error>

#include "actormq/error_codes.inc"

namespace actormq::client {

enum class errc {
  success = 0,
// --- from the broker (rpc::ErrorCode), generated from the schema ---
#define ACTORMQ_CLIENT_ERRC_ENUMERATOR(name, number, snake_name, upper_name, text, retriable) \
  snake_name = number,
  ACTORMQ_ERROR_CODES(ACTORMQ_CLIENT_ERRC_ENUMERATOR)
#undef ACTORMQ_CLIENT_ERRC_ENUMERATOR
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
static_assert(ACTORMQ_ERROR_CODE_MAX < 100, "broker codes must stay below the client's own");

const std::error_category& client_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), client_category()};
}

/// True for errors where resending the same request later may succeed: the
/// broker's codes marked $retriable in the schema (busy, timeout, not_leader,
/// ...: the last column of actormq/error_codes.inc) and the client's
/// broker_unreachable, disconnected and request_timeout.
bool is_retriable(errc e) noexcept;

}  // namespace actormq::client

template <>
struct std::is_error_code_enum<actormq::client::errc> : std::true_type {};
