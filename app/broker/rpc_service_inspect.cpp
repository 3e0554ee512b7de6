// rpc_service: the actor inspector's call (docs/inspector.md).

#include "actors/atoms.h"
#include "actors/inspect/report_json.h"
#include "app/broker/actor_call.h"
#include "app/broker/rpc_helpers.h"
#include "app/broker/rpc_service.h"

namespace actormq::broker {

kj::Promise<void> rpc_service::inspect(InspectContext ctx) {
  if (!ctx_.inspector) {
    set_error(ctx.getResults().initError(), errc::internal, "the inspector is not running yet");
    return kj::READY_NOW;
  }
  // The INSPECTOR bounds each part (actors 1 s, peers 2 s by default); this
  // bound only guards against a lost INSPECTOR.
  constexpr auto bound = std::chrono::seconds(30);
  auto answer = [ctx](caf::expected<std::vector<broker_report>> r) mutable {
    auto results = ctx.getResults();
    if (!r) {
      set_error(results.initError(), errc::internal, "inspect: " + text_of(r.error()));
      return;
    }
    results.setJson(cluster_json(*r));
  };
  if (ctx.getParams().getCluster()) {
    return ask<std::vector<broker_report>>(*ctx_.system, ctx_.inspector, bound, inspect_atom::value,
                                           all_atom::value)
        .then(kj::mv(answer));
  }
  return ask<broker_report>(*ctx_.system, ctx_.inspector, bound, inspect_atom::value)
      .then([answer](caf::expected<broker_report> r) mutable {
        if (!r) return answer(std::move(r.error()));
        answer(std::vector<broker_report>{std::move(*r)});
      });
}

}  // namespace actormq::broker
