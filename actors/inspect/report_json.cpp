#include "actors/inspect/report_json.h"

namespace actormq {

void write_json(json_writer& w, const actor_report& r) {
  w.begin_object()
      .field("path", r.path)
      .field("kind", r.kind)
      .field("answered", r.answered)
      .field("error", r.error)
      .field("mailbox", r.mailbox)
      .field("handled", r.handled)
      .field("handled_per_s", r.handled_per_s)
      .field("summary", r.summary);
  w.key("state");
  if (r.state_json.empty()) {
    w.begin_object().end_object();
  } else {
    w.raw(r.state_json);
  }
  w.end_object();
}

void write_json(json_writer& w, const broker_report& r) {
  w.begin_object()
      .field("broker_id", r.broker_id)
      .field("address", r.address)
      .field("up", r.up)
      .field("error", r.error)
      .field("taken_at_ms", r.taken_at_ms);
  w.key("actors").begin_array();
  for (const auto& a : r.actors) write_json(w, a);
  w.end_array().end_object();
}

std::string cluster_json(const std::vector<broker_report>& brokers) {
  json_writer w;
  w.begin_object().key("brokers").begin_array();
  for (const auto& b : brokers) write_json(w, b);
  w.end_array().end_object();
  return w.take();
}

}  // namespace actormq
