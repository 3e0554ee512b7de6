#pragma once
// on_coordinator: runs a call on a group's coordinator (in a cluster the
// broker leading the group's partition of __consumer_offsets; alone the
// broker itself), finding it again once after notCoordinator or a lost
// coordinator. Blocking: user threads only.

#include <string>

#include "cluster_router.h"
#include "connection_impl.h"

namespace actormq::client::detail {

template <typename T, typename Make, typename ErrorOf>
result<T> on_coordinator(connection_impl& ci, const std::string& group, Make make, ErrorOf error_of,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
  auto& router = ci.router();
  for (int attempt = 0;; ++attempt) {
    auto where = router.coordinator(group);
    if (!where) return where.err();
    auto r = ci.call_sync_at<T>(*where, make, timeout);
    auto err = r ? error_of(*r) : r.err();
    bool moved = is_not_coordinator(err) || is_connection_error(err);
    if (moved) router.forget_coordinator(group);
    if (!moved || attempt >= 1) return r;
  }
}

}  // namespace actormq::client::detail
