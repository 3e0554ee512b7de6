#pragma once
// watch_state: what a watch handle shares with the client's read loop for
// that watch. The loop (a task of the client) owns the HTTP stream; the
// state only holds the callback and how to stop the loop, so a handle that
// outlives its client holds nothing of the client's.

#include <kj/async.h>

#include "app/etcd/watch.h"

namespace actormq::etcd {

struct watch_state {
  watch_callback callback;
  /// Fulfilled by cancel(): the loop is joined with its promise and dropped.
  kj::Own<kj::PromiseFulfiller<void>> stop;
  bool canceled = false;
  bool ended = false;  ///< the final error was delivered

  /// Delivers to the callback unless canceled or ended; an error ends it.
  void deliver(result<watch_update> r) {
    if (canceled || ended) return;
    if (!r) ended = true;
    callback(std::move(r));
  }
};

}  // namespace actormq::etcd
