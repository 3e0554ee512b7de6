#pragma once
// kj_handoff: a callback that CAF threads may call before the broker's KJ
// side is ready and after it is gone. post(args...) (any thread) runs the
// handler attached with attach() on the KJ thread, through a kj_inbox;
// before attach() and after detach() it drops the call and returns false.
// Used where an actor spawned early (PEERS) reports to an object the KJ
// thread creates later (the control plane).
//
// Thread-safety: post() from any thread; attach() and detach() on the KJ
// thread. The handler runs on the KJ thread only.

#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "app/kj_support/kj_inbox.h"

namespace actormq::broker {

using kj_support::kj_inbox;

template <typename... Args>
class kj_handoff {
 public:
  using handler = std::function<void(Args...)>;

  void attach(std::shared_ptr<kj_inbox> inbox, handler fn) {
    std::lock_guard<std::mutex> lock(mu_);
    inbox_ = std::move(inbox);
    fn_ = std::make_shared<handler>(std::move(fn));
  }

  void detach() {
    std::lock_guard<std::mutex> lock(mu_);
    inbox_.reset();
    fn_.reset();
  }

  bool post(Args... args) {
    std::shared_ptr<kj_inbox> inbox;
    std::weak_ptr<handler> fn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!inbox_) return false;
      inbox = inbox_;
      fn = fn_;
    }
    // The queued function holds the handler weakly: after detach() a call
    // still queued finds it gone and does nothing.
    return inbox->post([fn, args...]() {
      if (auto f = fn.lock()) (*f)(args...);
    });
  }

 private:
  std::mutex mu_;
  std::shared_ptr<kj_inbox> inbox_;
  std::shared_ptr<handler> fn_;
};

}  // namespace actormq::broker
