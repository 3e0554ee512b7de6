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
  sys.spawn([dest, timeout, f, xs...](caf::event_based_actor* self) {
    self->request(dest, timeout, xs...)
        .then(
            [self, f](T& v) {
              (*f)->fulfill(caf::expected<T>(std::move(v)));
              self->quit();
            },
            [self, f](caf::error& e) {
              (*f)->fulfill(caf::expected<T>(std::move(e)));
              self->quit();
            });
  });
  return kj::mv(paf.promise);
}

}  // namespace actormq::broker
