#pragma once
// A CAF actor base that counts the messages its actor handles, for the
// inspector's "messages handled" and "per second". Every actor kind's state
// pointer type uses it (inspected_pointer below): one increment per message
// in CAF's own consume(), no change to any handler; and, for an actor that
// asks, a call after each message (after_each_message).
//
//   partition_actor::behavior_type partition_impl(
//       inspected_pointer<partition_actor, partition_state> self, ...);
//
// fill_report() adds the mailbox depth, the counters and the state class's
// own part (State::inspect(actor_report&)) to a report; it runs on the
// actor's thread, from its inspect_atom handler.

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <functional>

#include "actors/inspect/actor_report.h"

namespace actormq {

template <class Base>
class counted_actor : public Base {
 public:
  template <class... Ts>
  explicit counted_actor(caf::actor_config& cfg, Ts&&... xs)
      : Base(cfg, std::forward<Ts>(xs)...), window_start_(std::chrono::steady_clock::now()) {}

  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    ++handled_;
    auto r = Base::consume(x);
    if (after_each_) after_each_();
    return r;
  }

  uint64_t handled() const { return handled_; }

  /// f runs on the actor's thread after every message it handled (a
  /// request, a reply, a timer): a state whose timer is armed for its work
  /// re-arms it there, whichever handler or callback made the work.
  void after_each_message(std::function<void()> f) { after_each_ = std::move(f); }

  /// Messages per second over the last window of at least one second (since
  /// the start until the first window closes). Called on the actor's thread.
  double handled_per_s() {
    auto now = std::chrono::steady_clock::now();
    std::chrono::duration<double> dt = now - window_start_;
    if (rate_ < 0 || dt >= std::chrono::seconds(1)) {
      rate_ = dt.count() > 0 ? static_cast<double>(handled_ - window_count_) / dt.count() : 0;
      if (dt >= std::chrono::seconds(1)) {
        window_start_ = now;
        window_count_ = handled_;
      }
    }
    return rate_;
  }

 private:
  uint64_t handled_ = 0;
  std::chrono::steady_clock::time_point window_start_;
  uint64_t window_count_ = 0;
  double rate_ = -1;
  std::function<void()> after_each_;
};

/// The self pointer of a typed, stateful, counted actor.
template <class Handle, class State>
using inspected_pointer = caf::stateful_actor<State, counted_actor<typename Handle::base>>*;

/// The self pointer of a dynamically typed, stateful, counted actor.
template <class State>
using inspected_untyped_pointer =
    caf::stateful_actor<State, counted_actor<caf::event_based_actor>>*;

/// A report with self's mailbox depth and counters only (for a state that
/// completes its part asynchronously). The path and kind are the
/// directory's (actor_directory.h), set by the INSPECTOR.
template <class Self>
actor_report report_counters(Self* self) {
  actor_report r;
  r.mailbox = self->mailbox().size();
  r.handled = self->handled();
  r.handled_per_s = self->handled_per_s();
  return r;
}

/// The counters and mailbox of self, and its state's own part
/// (State::inspect(actor_report&) const).
template <class Self>
actor_report fill_report(Self* self) {
  auto r = report_counters(self);
  self->state.inspect(r);
  return r;
}

}  // namespace actormq
