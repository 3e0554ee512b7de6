#pragma once
// armed_timer: an actor's one timer, armed for its next work instead of
// ticking at a fixed period (the PARTITION, DELAY SCHEDULE and TRANSACTION
// COORDINATOR actors). arm() sends tick_atom with a new id only when the
// time asked for comes before the armed one; the tick handler asks
// fired(id), which is false for a tick an earlier one replaced (it was
// sent and cannot be taken back). An actor that calls arm() after every
// message it handles (counted_actor::after_each_message) has its timer set
// for whatever a request, a reply or the timer itself made due.
//
// One per actor; call it only from that actor's handlers.

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

#include "actors/atoms.h"

namespace actormq {

class armed_timer {
 public:
  using clock = std::chrono::steady_clock;

  /// Arms the timer to fire in `in` (0 at least) unless the armed one comes
  /// first or the timer is closed.
  template <class Self>
  void arm(Self* self, caf::timespan in) {
    in = std::max(in, caf::timespan{0});
    const auto at = clock::now() + in;
    if (closed_ || (armed_at_ && *armed_at_ <= at)) return;
    armed_at_ = at;
    self->delayed_send(self, in, tick_atom::value, ++id_);
  }

  /// Whether the tick with this id is the armed one; then none is armed.
  bool fired(uint64_t id) {
    if (id != id_) return false;
    armed_at_.reset();
    return true;
  }

  /// Shutting down: nothing is armed any more.
  void close() { closed_ = true; }

 private:
  uint64_t id_ = 0;
  std::optional<clock::time_point> armed_at_;
  bool closed_ = false;
};

}  // namespace actormq
