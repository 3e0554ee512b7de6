#pragma once
// Error values of the etcd client. Every call returns a result<T> (see
// etcd_result.h) holding either its value or an error whose code is in this
// category; nothing throws out of the client.

#include <system_error>

namespace actormq::etcd {

enum class errc {
  success = 0,
  unavailable,       ///< no endpoint reachable, or the connection broke mid-request / mid-watch
  timeout,           ///< no complete answer within the request timeout
  lease_not_found,   ///< the lease expired or was revoked (or never existed)
  compacted,         ///< the revision asked for was compacted away (see error::compact_revision)
  protocol_error,    ///< the gateway's answer is not the JSON we expect
  request_failed,    ///< etcd refused the request (HTTP error; error::message has etcd's text)
  invalid_argument,  ///< bad endpoint URL or request argument, rejected before sending
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace actormq::etcd

template <>
struct std::is_error_code_enum<actormq::etcd::errc> : std::true_type {};
