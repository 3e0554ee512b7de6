#pragma once
// armed_timer: an actor's one timer, armed for its next work instead of
// ticking at a fixed period. arm() sends tick_atom with a new id only when
// the time asked for comes before the armed one; the tick handler asks
// fired(id), which is false for a tick an earlier one replaced (it was
// sent and cannot be taken back). An actor that calls arm() after every
// message it handles (counted_actor::after_each_message) has its timer set
// for whatever a request, a reply or the timer itself made due.
//
// Times are wall-clock milliseconds, as the actors' due times are. One per
// actor; call it only from that actor's handlers.

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>

#include "actors/atoms.h"

namespace actormq {

class armed_timer {
 public:
  /// Arms the timer for at_ms (at least 1 ms after now_ms) unless the
  /// armed one comes first or the timer is closed.
  template <class Self>
  void arm(Self* self, int64_t now_ms, int64_t at_ms) {
    at_ms = std::max(at_ms, now_ms + 1);
    if (closed_ || at_ms >= armed_at_ms_) return;
    armed_at_ms_ = at_ms;
    self->delayed_send(self, std::chrono::milliseconds(at_ms - now_ms), tick_atom::value, ++id_);
  }

  /// Whether the tick with this id is the armed one; then none is armed.
  bool fired(uint64_t id) {
    if (id != id_) return false;
    armed_at_ms_ = none;
    return true;
  }

  /// Shutting down: nothing is armed any more.
  void close() { closed_ = true; }

 private:
  static constexpr int64_t none = std::numeric_limits<int64_t>::max();
  uint64_t id_ = 0;
  int64_t armed_at_ms_ = none;
  bool closed_ = false;
};

}  // namespace actormq
