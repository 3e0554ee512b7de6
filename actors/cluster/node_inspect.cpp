// node_state::inspect and inspect_broker: what the actor inspector shows of
// the NODE actor, and the NODE's relay of this broker's whole report to
// another broker's INSPECTOR (docs/inspector.md, "node").

#include <fmt/format.h>

#include "actors/cluster/node_state.h"
#include "actors/errc.h"
#include "actors/inspect/json_writer.h"

namespace actormq {

void node_state::inspect(actor_report& r) const {
  // The incarnation as hex text, as in the logs: a random 64-bit value does
  // not survive a JSON number (JavaScript reads 53 bits).
  const auto incarnation = fmt::format("{:016x}", settings_.incarnation);
  json_writer w;
  w.begin_object()
      .field("broker", settings_.broker_id)
      .field("cluster_id", settings_.cluster_id)
      .field("rpc_address", settings_.rpc_address)
      .field("incarnation", incarnation)
      .field("cached_topics", handles_.size())
      .end_object();
  r.state_json = w.take();
  r.summary = fmt::format("broker {} of {} at {} incarnation {}", settings_.broker_id,
                          settings_.cluster_id, settings_.rpc_address, incarnation);
}

caf::result<broker_report> node_state::inspect_broker() {
  if (!settings_.inspector) return make_error(errc::internal, "no inspector");
  auto rp = self_->make_response_promise<broker_report>();
  self_->request(settings_.inspector, settings_.local_timeout, inspect_atom::value)
      .then([rp](broker_report& report) mutable { rp.deliver(std::move(report)); },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

}  // namespace actormq
