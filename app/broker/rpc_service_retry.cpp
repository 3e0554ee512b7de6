// rpc_service: the retry and dead-letter methods (nack, redrive,
// redriveCursor, deadLetterStats). See actors/retry/retry_actor.h.
#include <fmt/format.h>

#include "actors/retry/retry_actor.h"
#include "app/broker/rpc_helpers.h"
#include "app/broker/rpc_service.h"

namespace actormq::broker {

namespace {

/// Records per nack call; a consumer nacks at most a poll's worth.
constexpr unsigned max_nack_records = 10000;

std::string label(const metrics_registry::labels& ls, std::string_view key) {
  for (const auto& [k, v] : ls) {
    if (k == key) return v;
  }
  return {};
}

}  // namespace

kj::Promise<void> rpc_service::nack(NackContext ctx) {
  auto p = ctx.getParams();
  auto group_name = text(p.getGroup());
  if (auto r = not_coordinated_here(group_name)) {
    fill_redirect(ctx.getResults().initError(), *r);
    return kj::READY_NOW;
  }
  auto member = text(p.getMemberId());
  auto gen = p.getGeneration();
  if (p.getRecords().size() > max_nack_records) {
    set_error(ctx.getResults().initError(), errc::invalid_request,
              fmt::format("at most {} records per nack", max_nack_records));
    return kj::READY_NOW;
  }
  std::vector<nack_item> items;
  for (auto r : p.getRecords()) {
    items.push_back({text(r.getTopic()), r.getPartition(), r.getOffset(), r.getReject(),
                     text(r.getReason()), text(r.getError()), r.getDeliveries()});
  }
  return call<nack_reply>(
             session_,
             [group_name, member, gen, items](session_state& s, done_fn<nack_reply> d) {
               s.nack(group_name, member, gen, items, d);
             })
      .then([ctx](caf::expected<nack_reply> r) mutable {
        if (!r) set_error(ctx.getResults().initError(), r.error());
      });
}

kj::Promise<void> rpc_service::redrive(RedriveContext ctx) {
  auto p = ctx.getParams();
  redrive_request req{text(p.getDlqTopic()), text(p.getReason()), p.getFromOffset(),
                      p.getToOffset()};
  return call<redrive_reply>(
             session_, [req](session_state& s, done_fn<redrive_reply> d) { s.redrive(req, d); })
      .then([ctx](caf::expected<redrive_reply> r) mutable {
        auto res = ctx.getResults();
        if (!r) return set_error(res.initError(), r.error());
        res.setMoved(r->moved);
        res.setRefused(r->refused);
        res.setNextOffset(r->next_offset);
      });
}

kj::Promise<void> rpc_service::redriveCursor(RedriveCursorContext ctx) {
  auto dlq = text(ctx.getParams().getDlqTopic());
  return call<int64_t>(session_,
                       [dlq](session_state& s, done_fn<int64_t> d) { s.redrive_cursor(dlq, d); })
      .then([ctx](caf::expected<int64_t> r) mutable {
        auto res = ctx.getResults();
        if (!r) return set_error(res.initError(), r.error());
        res.setOffset(*r);
      });
}

kj::Promise<void> rpc_service::deadLetterStats(DeadLetterStatsContext ctx) {
  using samples = std::vector<metrics_registry::sample>;
  return call<samples>(session_,
                       [](session_state& s, done_fn<samples> d) { s.dead_letter_stats(d); })
      .then([ctx](caf::expected<samples> r) mutable {
        if (!r) KJ_FAIL_REQUIRE("dead-letter stats failed", text_of(r.error()));
        std::vector<const metrics_registry::sample*> dl;
        for (const auto& s : *r) {
          if (s.name == dead_letters_metric) dl.push_back(&s);
        }
        auto list = ctx.getResults().initCounts(static_cast<unsigned>(dl.size()));
        for (unsigned i = 0; i < dl.size(); ++i) {
          list[i].setTopic(label(dl[i]->label_values, "topic"));
          list[i].setGroup(label(dl[i]->label_values, "group"));
          list[i].setReason(label(dl[i]->label_values, "reason"));
          list[i].setCount(dl[i]->value);
        }
      });
}

}  // namespace actormq::broker
