#pragma once
// Helpers shared by the RPC service's translation units (rpc_service.cpp,
// rpc_service_retry.cpp): posting work to the SESSION actor and filling
// rpc::Error. KJ thread only.

#include <kj/async.h>
#include <caf/all.hpp>

#include <charconv>
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

// errc and rpc::ErrorCode both come from schema/actormq.capnp, errc through
// cmake/error_codes.cmake: here the compiler checks that generator against
// capnp's own reading, code by code (name and number).
static_assert(static_cast<int>(rpc::ErrorCode::NONE) == static_cast<int>(errc::none));
#define ACTORMQ_ERRC_SAME_NUMBER(name, number, snake_name, upper_name, text, retriable) \
  static_assert(static_cast<int>(rpc::ErrorCode::upper_name) == number &&               \
                static_cast<int>(errc::snake_name) == number);
ACTORMQ_ERROR_CODES(ACTORMQ_ERRC_SAME_NUMBER)
#undef ACTORMQ_ERRC_SAME_NUMBER

/// The wire code of a broker error code (same name, same number).
constexpr rpc::ErrorCode to_rpc(errc code) {
  switch (code) {
    case errc::none:
      return rpc::ErrorCode::NONE;
#define ACTORMQ_ERRC_TO_RPC(name, number, snake_name, upper_name, text, retriable) \
  case errc::snake_name:                                                           \
    return rpc::ErrorCode::upper_name;
      ACTORMQ_ERROR_CODES(ACTORMQ_ERRC_TO_RPC)
#undef ACTORMQ_ERRC_TO_RPC
  }
  return rpc::ErrorCode::INTERNAL;
}

inline void set_error(rpc::Error::Builder b, const caf::error& e) {
  b.setCode(to_rpc(code_of(e)));
  b.setMessage(text_of(e));
}

inline void set_error(rpc::Error::Builder b, errc code, const std::string& text) {
  b.setCode(to_rpc(code));
  b.setMessage(text);
}

/// A topic's config and per-partition offsets into the reply.
void fill_topic(rpc::TopicInfo::Builder b, const topic_description& t);

inline std::string text(capnp::Text::Reader t) {
  return std::string(t.cStr(), t.size());
}

/// A transaction id's text (decimal) as its number; false if it is none.
inline bool parse_txn_id(const std::string& s, uint64_t& id) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace actormq::broker
