#pragma once
// Helpers shared by the RPC service's translation units (rpc_service.cpp,
// rpc_service_retry.cpp): posting work to the SESSION actor and filling
// rpc::Error. KJ thread only.

#include <kj/async.h>
#include <caf/all.hpp>

#include <memory>
#include <string>

#include "actors/errc.h"
#include "actors/session/session_actor.h"
#include "schema/actormq.capnp.h"

namespace actormq::broker {

/// Runs start(session_state&, done) in the session actor and returns a
/// promise for the value passed to done (fulfilled across threads).
template <typename T, typename Start>
kj::Promise<caf::expected<T>> call(const caf::actor& session, Start start) {
  auto paf = kj::newPromiseAndCrossThreadFulfiller<caf::expected<T>>();
  auto fulfiller = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<caf::expected<T>>>>(
      kj::mv(paf.fulfiller));
  done_fn<T> done = [fulfiller](caf::expected<T> v) { (*fulfiller)->fulfill(std::move(v)); };
  caf::anon_send(
      session, call_atom::value,
      session_task{[start = std::move(start), done](session_state& s) { start(s, done); }});
  return kj::mv(paf.promise);
}

inline void set_error(rpc::Error::Builder b, const caf::error& e) {
  b.setCode(static_cast<rpc::ErrorCode>(code_of(e)));
  b.setMessage(text_of(e));
}

inline void set_error(rpc::Error::Builder b, errc code, const std::string& text) {
  b.setCode(static_cast<rpc::ErrorCode>(code));
  b.setMessage(text);
}

inline std::string text(capnp::Text::Reader t) {
  return std::string(t.cStr(), t.size());
}

}  // namespace actormq::broker
