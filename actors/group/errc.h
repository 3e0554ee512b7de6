#pragma once
// Error values of the consumer-group module, in their own error_category
// (like storage/errc.h). Returned through result<T>; nothing throws.

#include <string>
#include <system_error>

namespace actormq::group {

enum class errc {
  success = 0,
  unknown_member,           ///< no member with this id (never joined, left or expired)
  stale_generation,         ///< the member's generation predates a revocation of its partitions
  illegal_generation,       ///< a generation newer than the group's current one
  invalid_session_timeout,  ///< outside the group's [min, max] session timeout
  unknown_protocol,         ///< no assignor of that name
  invalid_argument,         ///< malformed request (e.g. no topics)
  not_assigned,             ///< the member does not own that partition
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace actormq::group

template <>
struct std::is_error_code_enum<actormq::group::errc> : std::true_type {};
