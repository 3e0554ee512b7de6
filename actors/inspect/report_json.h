#pragma once
// The inspector's reports as one JSON document: what /api/cluster serves to
// the web page and `actormq inspect --json` prints (docs/inspector.md,
// "JSON"). Metrics are left out (they are /metrics' business).
//
//   {"brokers":[{"broker_id":0,"address":"127.0.0.1:9092","up":true,
//     "error":"","taken_at_ms":1764700000000,
//     "actors":[{"path":"partition/orders/0","kind":"partition",
//       "answered":true,"error":"","mailbox":0,"handled":1234,
//       "handled_per_s":56.5,"summary":"leader log 0..42 ...",
//       "state":{...}}]}]}

#include <string>
#include <vector>

#include "actors/inspect/actor_report.h"
#include "actors/inspect/json_writer.h"

namespace actormq {

void write_json(json_writer& w, const actor_report& r);
void write_json(json_writer& w, const broker_report& r);
std::string cluster_json(const std::vector<broker_report>& brokers);

}  // namespace actormq
