#include "actors/txn/txn_table.h"

#include <algorithm>

namespace actormq::txn {

using storage::timestamp_ms;
using storage::txn_decision;

bool txn_table::apply(const txn_event_record& e) {
  if (e.type == event_type::id_floor) {
    if (txn_partition_of(e.id) == partition_) {
      next_sequence_ = std::max(next_sequence_, txn_sequence_of(e.id));
    }
    return true;
  }
  if (e.type == event_type::half) {
    if (txn_partition_of(e.id) == partition_) {
      next_sequence_ = std::max(next_sequence_, txn_sequence_of(e.id) + 1);
    }
    if (records_.count(e.id)) return false;
    storage::txn_record r;
    r.id = storage::txn_id(e.id);
    r.half = e.half;
    r.created = timestamp_ms(e.time_ms);
    records_.emplace(e.id, std::move(r));
    if (!e.request_id.empty()) {
      by_request_[request_key(e.half.group, e.request_id)] = e.id;
      request_of_[e.id] = e.request_id;
    }
    ++unfinished_;
    return true;
  }
  auto it = records_.find(e.id);
  if (it == records_.end()) return false;
  auto& r = it->second;
  if (r.finished()) return false;
  switch (e.type) {
    case event_type::decision:
      if (r.decision != txn_decision::none) return false;  // the first decision wins
      r.decision = e.decision;
      r.decided = timestamp_ms(e.time_ms);
      break;
    case event_type::check:
      r.checks = e.count;
      r.next_check = timestamp_ms(e.next_check_ms);
      break;
    case event_type::applied:
      if (r.decision == txn_decision::none) return false;
      r.applied = true;
      break;
    case event_type::half:
    case event_type::id_floor:
      break;
  }
  if (r.finished()) finish(r);
  return true;
}

void txn_table::finish(storage::txn_record& r) {
  r.half.batch.clear();
  r.half.batch.shrink_to_fit();
  --unfinished_;
  finished_order_.push_back(r.id());
  while (finished_order_.size() > keep_finished_) {
    if (auto it = records_.find(finished_order_.front()); it != records_.end()) forget(it);
    finished_order_.pop_front();
  }
}

void txn_table::forget(std::map<uint64_t, storage::txn_record>::iterator it) {
  if (auto r = request_of_.find(it->first); r != request_of_.end()) {
    by_request_.erase(request_key(it->second.half.group, r->second));
    request_of_.erase(r);
  }
  records_.erase(it);
}

std::optional<uint64_t> txn_table::find_request(const std::string& group,
                                                const std::string& request_id) const {
  auto it = by_request_.find(request_key(group, request_id));
  if (it == by_request_.end()) return std::nullopt;
  return it->second;
}

void txn_table::drop(uint64_t id) {
  auto it = records_.find(id);
  if (it == records_.end() || it->second.finished()) return;
  forget(it);
  --unfinished_;
}

const storage::txn_record* txn_table::find(uint64_t id) const {
  auto it = records_.find(id);
  return it == records_.end() ? nullptr : &it->second;
}

std::vector<txn_event_record> txn_table::snapshot(int64_t now_ms) const {
  std::vector<txn_event_record> out;
  out.reserve(live_records());
  txn_event_record floor;
  floor.type = event_type::id_floor;
  floor.id = next_id();
  floor.time_ms = now_ms;
  out.push_back(floor);
  for (const auto& [id, r] : records_) {
    auto first = out.size();
    events_of(r, out);
    if (auto q = request_of_.find(id); q != request_of_.end()) out[first].request_id = q->second;
  }
  return out;
}

void txn_table::events_of(const storage::txn_record& r, std::vector<txn_event_record>& out) {
  txn_event_record h;
  h.type = event_type::half;
  h.id = r.id();
  h.time_ms = r.created();
  h.half = r.half;  // finished: no batch
  out.push_back(std::move(h));
  if (r.checks > 0) {
    txn_event_record c;
    c.type = event_type::check;
    c.id = r.id();
    c.time_ms = r.created();
    c.count = r.checks;
    c.next_check_ms = r.next_check();
    out.push_back(c);
  }
  if (r.decision != txn_decision::none) {
    txn_event_record d;
    d.type = event_type::decision;
    d.id = r.id();
    d.time_ms = r.decided();
    d.decision = r.decision;
    out.push_back(d);
    if (r.applied) {
      d.type = event_type::applied;
      out.push_back(d);
    }
  }
}

size_t txn_table::live_records() const {
  size_t n = 1;
  for (const auto& [id, r] : records_) {
    n += 1 + (r.checks > 0 ? 1 : 0) + (r.decision != txn_decision::none ? 1 : 0) +
         (r.applied ? 1 : 0);
  }
  return n;
}

}  // namespace actormq::txn
