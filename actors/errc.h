#pragma once
// Broker-level error values carried in caf::error across mailboxes (never
// exceptions). The codes, their numbers and texts come from enum ErrorCode of
// schema/actormq.capnp through the generated actormq/error_codes.inc, so they
// equal rpc::ErrorCode one to one (app/broker/rpc_helpers.h checks each).

#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <cstdint>
#include <string>
#include <system_error>

#include "actormq/error_codes.inc"

namespace actormq {

/// none, then every code of schema/actormq.capnp's ErrorCode under its
/// snake_case name and number (e.g. invalid_request = 1, not_leader = 29).
enum class errc : uint8_t {
  none = 0,
#define ACTORMQ_ERRC_ENUMERATOR(name, number, snake_name, upper_name, text, retriable) \
  snake_name = number,
  ACTORMQ_ERROR_CODES(ACTORMQ_ERRC_ENUMERATOR)
#undef ACTORMQ_ERRC_ENUMERATOR
};
static_assert(ACTORMQ_ERROR_CODE_MAX <= UINT8_MAX, "caf::error carries the code in 8 bits");

/// The atom naming our category in caf::error.
inline constexpr caf::atom_value errc_category = caf::atom("actormq");

/// The code's text from the schema ("none" for none).
const char* to_string(errc e);

/// True for the codes marked $retriable in the schema: the client may resend
/// the same request after a backoff (busy, timeout, not_leader, ...).
bool is_retriable(errc e);

/// A caf::error in our category with a human-readable text as context.
caf::error make_error(errc e, std::string text = {});

/// Maps a storage error (storage::errc or errno) to a broker error.
caf::error from_storage(std::error_code ec, const std::string& what);

/// Our errc of a caf::error: CAF's own errors (dead receiver, timeout) map
/// to timeout/internal.
errc code_of(const caf::error& e);
/// The context text of a caf::error made by make_error (or CAF's rendering).
std::string text_of(const caf::error& e);

}  // namespace actormq
