#include "actormq/client/backlog_diversion.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "actormq/client/admin.h"
#include "actormq/client/consumer.h"
#include "actormq/client/producer.h"
#include "actormq/client/reader.h"
#include "diversion_checkpoint.h"

namespace actormq::client {

namespace {

using steady = std::chrono::steady_clock;
using detail::diversion_checkpoint;

constexpr std::string_view diverted_from = "amq-diverted-from";
constexpr auto state_read_limit = std::chrono::seconds(15);

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

consumer_config reader_config(const connection_config& conn) {
  consumer_config cc;
  cc.connection = conn;
  cc.fetch_max_wait_ms = 100;
  return cc;
}

/// "TOPIC/P/OFFSET" of a source message.
std::string origin_of(const std::string& topic, uint32_t p, int64_t offset) {
  return fmt::format("{}/{}/{}", topic, p, offset);
}

/// (partition, offset) of an amq-diverted-from value "TOPIC/P/OFFSET" of
/// topic (topic names have no '/').
std::optional<std::pair<uint32_t, int64_t>> parse_origin(std::string_view v,
                                                         const std::string& topic) {
  auto last = v.rfind('/');
  if (last == std::string_view::npos || last == 0) return std::nullopt;
  auto mid = v.rfind('/', last - 1);
  if (mid == std::string_view::npos || v.substr(0, mid) != topic) return std::nullopt;
  uint32_t p = 0;
  int64_t o = 0;
  auto ps = v.substr(mid + 1, last - mid - 1);
  auto os = v.substr(last + 1);
  if (std::from_chars(ps.data(), ps.data() + ps.size(), p).ec != std::errc{} ||
      std::from_chars(os.data(), os.data() + os.size(), o).ec != std::errc{}) {
    return std::nullopt;
  }
  return std::make_pair(p, o);
}

/// The last checkpoint in temp's state topic.
result<diversion_checkpoint> read_checkpoint(admin& adm, const connection_config& conn,
                                             const std::string& temp) {
  topic_partition tp{diversion_state_topic(temp), 0};
  auto end = adm.list_offsets(tp, admin::latest_timestamp);
  if (!end) {
    if (end.err().is(errc::unknown_topic)) {
      return error(errc::unknown_topic,
                   "no backlog diversion into '" + temp + "' (no topic " + tp.topic + ")");
    }
    return end.err();
  }
  if (*end <= 0) {
    return error(errc::invalid_request, "the diversion state topic " + tp.topic + " is empty");
  }
  auto rd = reader::create(reader_config(conn));
  if (!rd) return rd.err();
  if (auto r = (*rd)->assign(tp, *end - 1); !r) return r.err();
  auto deadline = steady::now() + state_read_limit;
  while (steady::now() < deadline) {
    auto msgs = (*rd)->poll(std::chrono::milliseconds(500));
    if (!msgs) return msgs.err();
    for (auto& m : *msgs) {
      if (m.offset != *end - 1) continue;
      auto c = diversion_checkpoint::decode(m.value.value_or(""));
      if (!c) {
        return error(errc::invalid_request,
                     fmt::format("the last record of {} (offset {}) is not a diversion "
                                 "checkpoint",
                                 tp.topic, m.offset));
      }
      return *c;
    }
  }
  return error(errc::request_timeout, "could not read the last record of " + tp.topic);
}

/// The high watermarks of partitions 0..partitions-1 of topic.
result<std::map<uint32_t, int64_t>> high_watermarks(admin& adm, const std::string& topic,
                                                    uint32_t partitions) {
  std::map<uint32_t, int64_t> out;
  for (uint32_t q = 0; q < partitions; ++q) {
    auto hw = adm.list_offsets({topic, q}, admin::latest_timestamp);
    if (!hw) return hw.err();
    out[q] = *hw;
  }
  return out;
}

}  // namespace

std::string diversion_state_topic(const std::string& temp) {
  return temp + ".diversion";
}

std::string diversion_lock_group(const std::string& temp) {
  return temp + ".diverter";
}

struct backlog_diversion::impl {
  connection_config conn;
  std::unique_ptr<admin> adm;
  std::unique_ptr<reader> rd;
  /// One connection for the producer and the lock member: when the process
  /// dies, the broker's session for it ends, and with it the membership
  /// (the next diverter waits for that, then no request of this one can
  /// still be on its way to temp; see fence()).
  std::shared_ptr<connection> shared;
  std::unique_ptr<producer> prod;
  /// The diverter's member in the group "<temp>.diverter": one diverter at
  /// a time, and the sign that an earlier one is gone.
  std::unique_ptr<consumer> lock;
  diversion_checkpoint state;
  /// Source offsets per partition found in temp after the last checkpoint
  /// on resume (by their amq-diverted-from): moved already, skipped when
  /// the reader gets to them (which may take more than one step).
  std::map<uint32_t, std::set<int64_t>> moved_already;
  uint64_t skipped = 0;
  /// The first failed send since the last checkpoint (set on the
  /// producer's loop thread).
  std::mutex failure_mu;
  std::string failure;

  result<void> open_clients() {
    auto a = admin::create(conn);
    if (!a) return a.err();
    adm = std::move(*a);
    auto r = reader::create(reader_config(conn));
    if (!r) return r.err();
    rd = std::move(*r);
    auto c = connection::connect(conn);
    if (!c) return c.err();
    shared = std::move(*c);
    producer_config pc;
    pc.connection = conn;
    pc.acks = acks::all;
    pc.idempotent = true;
    pc.max_in_flight_per_partition = 5;
    pc.batch_bytes = 256 * 1024;
    prod = std::make_unique<producer>(shared, pc);
    if (auto i = prod->init(); !i) return i.err();
    return {};
  }

  /// Waits (bounded) until no other diverter is a member of the lock group,
  /// then joins it. A diverter that was killed leaves when the broker sees
  /// its connection close (at once), or after its session timeout.
  result<void> take_lock(const std::string& temp) {
    auto group = diversion_lock_group(temp);
    auto deadline = steady::now() + std::chrono::milliseconds(lock_session_timeout_ms + 5000);
    while (true) {
      auto g = adm->describe_group(group);
      if (!g || g->members.empty()) break;
      if (steady::now() > deadline) {
        return error(errc::group_not_empty, "another diverter is moving into '" + temp +
                                                "' (a member of group '" + group +
                                                "'); one at a time");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    consumer_config lc;
    lc.connection = conn;
    lc.group_id = group;
    lc.session_timeout_ms = lock_session_timeout_ms;
    lc.auto_offset_reset = offset_reset::latest;
    lc.fetch_max_wait_ms = 0;
    lock = std::make_unique<consumer>(shared, lc);
    if (auto r = lock->subscribe({diversion_state_topic(temp)}); !r) return r.err();
    auto joined_by = steady::now() + std::chrono::seconds(30);
    while (lock->assignment().empty()) {
      if (steady::now() > joined_by) {
        return error(errc::request_timeout, "could not join group '" + group + "'");
      }
      if (auto p = lock->poll(std::chrono::milliseconds(100)); !p) return p.err();
    }
    return {};
  }
  static constexpr uint32_t lock_session_timeout_ms = 10000;

  /// Points the reader at every source partition not done yet.
  result<void> assign_pending() {
    for (const auto& [p, r] : state.ranges) {
      auto next = state.next[p];
      if (next >= r.end) continue;
      if (auto a = rd->assign({state.topic, p}, next); !a) return a.err();
    }
    return {};
  }

  /// Writes the state as the newest checkpoint (acks all).
  result<void> write_checkpoint() {
    producer_record rec;
    rec.topic = diversion_state_topic(state.temp);
    rec.partition = 0;
    rec.key = "checkpoint";
    rec.value = state.encode();
    auto rep = prod->send_sync(std::move(rec));
    if (!rep.ok()) return rep.err;
    return {};
  }

  /// Every moved message acknowledged, then the checkpoint, then the
  /// group's offsets.
  result<void> checkpoint() {
    if (auto f = prod->flush(std::chrono::seconds(120)); !f) return f.err();
    std::string why;
    {
      std::lock_guard lk(failure_mu);
      why = std::exchange(failure, std::string{});
    }
    if (!why.empty()) {
      return error(errc::invalid_request, "a message could not be moved (" + why +
                                              "); resume goes on from the last "
                                              "checkpoint");
    }
    auto ends = high_watermarks(*adm, state.temp, state.partitions);
    if (!ends) return ends.err();
    state.temp_end = *ends;
    if (auto w = write_checkpoint(); !w) return w.err();
    std::vector<topic_partition_offset> offsets;
    for (const auto& [p, next] : state.next) offsets.push_back({state.topic, p, next});
    if (auto c = adm->commit_offsets(state.group, offsets); !c) {
      if (c.err().is(errc::unknown_member)) {
        return error(errc::group_not_empty,
                     "group '" + state.group +
                         "' has live members: stop its consumers while its backlog is diverted "
                         "(the diversion stays at its last checkpoint; resume it after)");
      }
      return c.err();
    }
    return {};
  }

  /// On resume: the origins of what temp got after the last checkpoint.
  result<void> find_moved_after_checkpoint() {
    // A diverter that was killed may have had produce requests in flight:
    // wait (bounded) until temp's high watermarks stand still.
    auto ends = high_watermarks(*adm, state.temp, state.partitions);
    if (!ends) return ends.err();
    auto settle_until = steady::now() + std::chrono::seconds(5);
    while (steady::now() < settle_until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      auto again = high_watermarks(*adm, state.temp, state.partitions);
      if (!again) return again.err();
      if (*again == *ends) break;
      ends = std::move(again);
    }
    auto scan = reader::create(reader_config(conn));
    if (!scan) return scan.err();
    size_t pending = 0;
    for (const auto& [q, end] : *ends) {
      auto from = state.temp_end.count(q) ? state.temp_end[q] : 0;
      if (from >= end) continue;
      if (auto a = (*scan)->assign({state.temp, q}, from); !a) return a.err();
      ++pending;
    }
    auto deadline = steady::now() + std::chrono::seconds(120);
    while (pending > 0) {
      if (steady::now() > deadline) {
        return error(errc::request_timeout, "could not read temp's tail to resume");
      }
      auto msgs = (*scan)->poll(std::chrono::milliseconds(500));
      if (!msgs) return msgs.err();
      for (auto& m : *msgs) {
        for (const auto& h : m.headers) {
          if (h.key != diverted_from || !h.value) continue;
          if (auto o = parse_origin(*h.value, state.topic))
            moved_already[o->first].insert(o->second);
        }
      }
      for (const auto& [q, end] : *ends) {
        topic_partition tp{state.temp, q};
        if ((*scan)->position(tp) >= end && (*scan)->position(tp) >= 0) {
          (*scan)->unassign(tp);
          --pending;
        }
      }
    }
    return {};
  }

  diversion_progress progress() const;
};

backlog_diversion::backlog_diversion(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
backlog_diversion::~backlog_diversion() = default;

diversion_progress backlog_diversion::impl::progress() const {
  diversion_progress p;
  p.plan = {state.topic, state.group, state.temp, state.partitions, state.drain_group};
  p.backlog = state.backlog();
  p.moved = state.moved();
  p.started_ms = state.started_ms;
  return p;
}

result<std::unique_ptr<backlog_diversion>> backlog_diversion::start(const connection_config& conn,
                                                                    diversion_plan plan) {
  if (plan.drain_group.empty()) plan.drain_group = plan.group + ".drain";
  if (plan.topic.empty() || plan.group.empty() || plan.temp.empty()) {
    return error(errc::invalid_argument, "a diversion needs a topic, a group and a temp topic");
  }
  if (plan.temp == plan.topic || plan.drain_group == plan.group) {
    return error(errc::invalid_argument,
                 "the temp topic and the drain group must differ from the topic and the group");
  }
  auto i = std::make_unique<impl>();
  i->conn = conn;
  if (auto o = i->open_clients(); !o) return o.err();
  auto& adm = *i->adm;
  auto src = adm.describe_topic(plan.topic);
  if (!src) return src.err();
  auto n = static_cast<uint32_t>(src->partitions.size());
  if (plan.partitions <= n) {
    return error(
        errc::invalid_argument,
        fmt::format("topic '{}' has {} partitions; divert to more than that", plan.topic, n));
  }
  if (auto t = adm.describe_topic(plan.temp); t) {
    return error(errc::topic_exists,
                 "topic '" + plan.temp +
                     "' exists; resume a diversion into it with 'backlog resume', or pick "
                     "another name");
  }
  auto g = adm.describe_group(plan.group);
  if (g && !g->members.empty()) {
    return error(errc::group_not_empty,
                 fmt::format("group '{}' has {} live member(s); stop its consumers first (they "
                             "would read the backlog being moved)",
                             plan.group, g->members.size()));
  }
  std::vector<topic_partition> tps;
  for (uint32_t p = 0; p < n; ++p) tps.push_back({plan.topic, p});
  auto committed = adm.fetch_offsets(plan.group, tps);
  if (!committed) return committed.err();

  auto& st = i->state;
  st.topic = plan.topic;
  st.group = plan.group;
  st.drain_group = plan.drain_group;
  st.temp = plan.temp;
  st.partitions = plan.partitions;
  st.started_ms = now_ms();
  for (uint32_t p = 0; p < n; ++p) {
    auto start_at = adm.list_offsets({plan.topic, p}, admin::earliest_timestamp);
    if (!start_at) return start_at.err();
    auto end = adm.list_offsets({plan.topic, p}, admin::latest_timestamp);
    if (!end) return end.err();
    int64_t from = *start_at;
    for (const auto& c : *committed) {
      if (c.partition == p && c.offset >= 0) from = std::max(c.offset, *start_at);
    }
    from = std::min(from, *end);
    st.ranges[p] = {from, *end};
    st.next[p] = from;
  }
  // temp keeps the messages as long as the topic would have, with the
  // same replication (acks all then means every in-sync copy).
  topic_config cfg;
  cfg.partitions = plan.partitions;
  cfg.retention_ms = src->config.retention_ms;
  cfg.ttl_ms = src->config.ttl_ms;
  cfg.replication_factor = src->config.replication_factor;
  if (auto c = adm.create_topic(plan.temp, cfg); !c) return c.err();
  topic_config state_cfg;
  state_cfg.partitions = 1;
  state_cfg.retention_ms = -1;
  state_cfg.replication_factor = src->config.replication_factor;
  if (auto c = adm.create_topic(diversion_state_topic(plan.temp), state_cfg); !c) {
    if (!c.err().is(errc::topic_exists)) return c.err();
  }
  for (uint32_t q = 0; q < plan.partitions; ++q) st.temp_end[q] = 0;
  if (auto l = i->take_lock(plan.temp); !l) return l.err();
  // Creating topics takes a moment to reach every broker of a cluster:
  // retry the first checkpoint while the new topic is not served yet.
  result<void> w = error(errc::request_timeout, "no attempt");
  for (int attempt = 0; attempt < 50; ++attempt) {
    w = i->write_checkpoint();
    if (w || !(w.err().is(errc::unknown_topic) || is_retriable(w.err().value()))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (!w) return w.err();
  if (auto a = i->assign_pending(); !a) return a.err();
  return std::make_unique<backlog_diversion>(std::move(i));
}

result<std::unique_ptr<backlog_diversion>> backlog_diversion::resume(const connection_config& conn,
                                                                     const std::string& temp) {
  auto i = std::make_unique<impl>();
  i->conn = conn;
  if (auto o = i->open_clients(); !o) return o.err();
  auto c = read_checkpoint(*i->adm, conn, temp);
  if (!c) return c.err();
  i->state = std::move(*c);
  auto g = i->adm->describe_group(i->state.group);
  if (g && !g->members.empty()) {
    return error(errc::group_not_empty,
                 fmt::format("group '{}' has {} live member(s); stop its consumers first",
                             i->state.group, g->members.size()));
  }
  // The previous diverter's membership ends with its session: from then
  // on nothing it sent can still reach temp unseen.
  if (auto l = i->take_lock(temp); !l) return l.err();
  if (auto f = i->find_moved_after_checkpoint(); !f) return f.err();
  if (auto a = i->assign_pending(); !a) return a.err();
  return std::make_unique<backlog_diversion>(std::move(i));
}

bool backlog_diversion::done() const {
  return impl_->state.moved() >= impl_->state.backlog();
}

uint64_t backlog_diversion::skipped_on_resume() const {
  return impl_->skipped;
}

result<diversion_progress> backlog_diversion::step(std::chrono::milliseconds budget) {
  auto& i = *impl_;
  auto& st = i.state;
  auto deadline = steady::now() + budget;
  while (!done() && steady::now() < deadline) {
    auto msgs = i.rd->poll(std::chrono::milliseconds(200));
    if (!msgs) return msgs.err();
    for (auto& m : *msgs) {
      auto& next = st.next[m.partition];
      const auto& range = st.ranges[m.partition];
      if (m.offset < next || m.offset >= range.end) continue;
      next = m.offset + 1;
      if (auto it = i.moved_already.find(m.partition); it != i.moved_already.end()) {
        // Offsets below this one can no longer come: drop them.
        it->second.erase(it->second.begin(), it->second.lower_bound(m.offset));
        if (it->second.erase(m.offset) > 0) {
          ++i.skipped;
          continue;
        }
      }
      auto origin = origin_of(st.topic, m.partition, m.offset);
      producer_record rec;
      rec.topic = st.temp;
      rec.key = std::move(m.key);
      rec.value = std::move(m.value);
      rec.headers = std::move(m.headers);
      rec.headers.push_back({std::string(diverted_from), std::move(origin)});
      rec.timestamp_ms = m.timestamp_ms;
      if (!m.id.empty()) rec.id = m.id;
      i.prod->send(std::move(rec), [&i](const delivery_report& d) {
        if (d.ok()) return;
        std::lock_guard lk(i.failure_mu);
        if (i.failure.empty()) i.failure = d.err.to_string();
      });
    }
    // Past the range (or a gap at its end, such as a transaction marker):
    // the reader's position says how far the partition is read.
    for (auto& [p, r] : st.ranges) {
      topic_partition tp{st.topic, p};
      auto pos = i.rd->position(tp);
      if (pos < 0) continue;
      auto& next = st.next[p];
      next = std::max(next, std::min(pos, r.end));
      if (next >= r.end) i.rd->unassign(tp);
    }
  }
  if (auto c = i.checkpoint(); !c) return c.err();
  return i.progress();
}

result<diversion_progress> backlog_diversion::status(const connection_config& conn,
                                                     const std::string& temp) {
  auto adm = admin::create(conn);
  if (!adm) return adm.err();
  auto c = read_checkpoint(**adm, conn, temp);
  if (!c) return c.err();
  diversion_progress p;
  p.plan = {c->topic, c->group, c->temp, c->partitions, c->drain_group};
  p.backlog = c->backlog();
  p.moved = c->moved();
  p.started_ms = c->started_ms;
  auto ends = high_watermarks(**adm, temp, c->partitions);
  if (!ends) return ends.err();
  std::vector<topic_partition> tps;
  for (const auto& [q, end] : *ends) {
    p.in_temp += static_cast<uint64_t>(std::max<int64_t>(end, 0));
    tps.push_back({temp, q});
  }
  auto drained = (*adm)->fetch_offsets(c->drain_group, tps);
  if (!drained) return drained.err();
  for (const auto& d : *drained) {
    if (d.offset > 0) p.drained += static_cast<uint64_t>(d.offset);
  }
  return p;
}

result<void> backlog_diversion::finish(const connection_config& conn, const std::string& temp,
                                       bool force) {
  auto p = status(conn, temp);
  if (!p) return p.err();
  if (!p->drained_all() && !force) {
    return error(
        errc::invalid_request,
        fmt::format("the diversion into '{}' is not over: {} of {} moved, {} of {} "
                    "drained by group '{}' (--force deletes it anyway)",
                    temp, p->moved, p->backlog, p->drained, p->in_temp, p->plan.drain_group));
  }
  auto adm = admin::create(conn);
  if (!adm) return adm.err();
  if (auto d = (*adm)->delete_group(p->plan.drain_group); !d) {
    if (d.err().is(errc::group_not_empty)) {
      return error(errc::group_not_empty, "group '" + p->plan.drain_group +
                                              "' still has live members; stop its consumers "
                                              "first");
    }
    if (!d.err().is(errc::unknown_group)) return d.err();
  }
  if (auto d = (*adm)->delete_group(diversion_lock_group(temp));
      !d && !d.err().is(errc::unknown_group)) {
    if (d.err().is(errc::group_not_empty)) {
      return error(errc::group_not_empty, "a diverter is still running into '" + temp + "'");
    }
    return d.err();
  }
  if (auto d = (*adm)->delete_topic(temp); !d && !d.err().is(errc::unknown_topic)) return d.err();
  if (auto d = (*adm)->delete_topic(diversion_state_topic(temp));
      !d && !d.err().is(errc::unknown_topic)) {
    return d.err();
  }
  return {};
}

}  // namespace actormq::client
