#pragma once
// ask(): sends a request to an actor from the KJ thread and returns a promise
// for its answer, fulfilled across threads. A short-lived event-based actor
// makes the request (bounded by timeout) and ends with the answer; nothing on
// the KJ thread waits. For control-plane work off the per-message paths (the
// hot paths post to the connection's SESSION instead, see rpc_helpers.h).

#include <kj/async.h>
#include <caf/all.hpp>

#include <chrono>
#include <memory>

namespace actormq::broker {

template <typename T, typename Handle, typename... Ts>
kj::Promise<caf::expected<T>> ask(caf::actor_system& sys, Handle dest,
                                  std::chrono::milliseconds timeout, Ts... xs) {
  auto paf = kj::newPromiseAndCrossThreadFulfiller<caf::expected<T>>();
  auto f = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<caf::expected<T>>>>(
      kj::mv(paf.fulfiller));
  // The fulfiller goes in as a spawn argument, not as a capture: CAF 0.17
  // dereferences a null shared_ptr<tuple<>> when a function actor is
  // spawned without arguments (UBSan flags it in init_fun_factory.hpp).
  using fulfiller_ptr = decltype(f);
  sys.spawn(
      [dest, timeout, xs...](caf::event_based_actor* self, fulfiller_ptr fp) {
        self->request(dest, timeout, xs...)
            .then(
                [self, fp](T& v) {
                  (*fp)->fulfill(caf::expected<T>(std::move(v)));
                  self->quit();
                },
                [self, fp](caf::error& e) {
                  (*fp)->fulfill(caf::expected<T>(std::move(e)));
                  self->quit();
                });
      },
      f);
  return kj::mv(paf.promise);
}

}  // namespace actormq::broker
