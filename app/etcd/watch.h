#pragma once
// watch: the handle of one etcd watch (see etcd_client::watch). Owning the
// handle keeps the watch running; destroying it (or cancel()) stops it: the
// callback is not called again and the HTTP stream is closed on a later turn
// of the event loop. It is safe to destroy the handle from inside its own
// callback. Move-only; use it on the client's KJ thread only.

#include <functional>
#include <memory>

#include "app/etcd/etcd_result.h"
#include "app/etcd/etcd_types.h"

namespace actormq::etcd {

/// Called with each batch of events in revision order; called at most once
/// with an error, after which the watch has ended: errc::compacted (the
/// error's compact_revision says where to re-read from), errc::unavailable
/// (the connection to etcd was lost), errc::request_failed (etcd canceled
/// the watch), errc::protocol_error. Must not throw.
using watch_callback = std::function<void(result<watch_update>)>;

struct watch_state;

class watch {
 public:
  watch() = default;
  watch(std::shared_ptr<watch_state> state, revision created_revision)
      : state_(std::move(state)), created_revision_(created_revision) {}
  ~watch() { cancel(); }
  watch(watch&&) noexcept = default;
  watch& operator=(watch&& other) noexcept {
    if (this != &other) {
      cancel();
      state_ = std::move(other.state_);
      created_revision_ = other.created_revision_;
    }
    return *this;
  }
  watch(const watch&) = delete;
  watch& operator=(const watch&) = delete;

  /// Stops the watch; the callback is not called any more. Idempotent.
  void cancel();
  /// True until cancel() or until the callback got its final error.
  bool active() const;
  /// The store revision when etcd created the watch: with start_revision 0,
  /// the watch reports changes after this revision.
  revision created_revision() const { return created_revision_; }

 private:
  std::shared_ptr<watch_state> state_;
  revision created_revision_;
};

}  // namespace actormq::etcd
