#include "actormq/client/dead_letters.h"

#include <charconv>
#include <map>
#include <tuple>

#include "connection_impl.h"
#include "coordinator_call.h"
#include "record_decoder.h"
#include "storage/record_batch.h"

namespace actormq::client {

namespace {

/// The broker's internal group whose committed offsets are the DLQs'
/// re-drive cursors: re-drives run on its coordinator.
constexpr const char* redrive_cursor_group = "__redrive";

template <typename T>
T number(const std::optional<std::string>& v, T fallback) {
  if (!v) return fallback;
  T out{};
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  return ec == std::errc{} && end == v->data() + v->size() ? out : fallback;
}

/// Decodes the records of whole batches from offset `from` on.
void decode_records(const std::string& topic, uint32_t partition, const std::string& bytes,
                    int64_t from, std::vector<message>& out, int64_t& next) {
  auto span =
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  storage::for_each_batch(span, [&](const storage::batch_header& h, std::span<const uint8_t> b) {
    if (!h.is_control()) {
      (void)storage::for_each_record(b, [&](const storage::record_view& r) {
        if (r.record_offset() < from) return;
        out.push_back(detail::to_message(r, topic, partition));
      });
    }
    next = std::max(next, h.next_offset()());
  });
}

}  // namespace

std::optional<std::string> header_value(const message& m, std::string_view key) {
  for (const auto& h : m.headers) {
    if (h.key == key) return h.value;
  }
  return std::nullopt;
}

uint32_t delivery_count(const message& m) {
  return std::max<uint32_t>(number<uint32_t>(header_value(m, retry_header::delivery_count), 1), 1);
}

dead_letter decode_dead_letter(message m) {
  dead_letter d;
  d.reason = header_value(m, retry_header::dlq_reason).value_or("");
  d.group = header_value(m, retry_header::dlq_group).value_or("");
  d.original_topic = header_value(m, retry_header::original_topic).value_or("");
  d.original_partition = number<uint32_t>(header_value(m, retry_header::original_partition), 0);
  d.original_offset = number<int64_t>(header_value(m, retry_header::original_offset), -1);
  d.deliveries = delivery_count(m);
  d.redrives = number<uint32_t>(header_value(m, retry_header::redrive_count), 0);
  d.last_error = header_value(m, retry_header::last_error).value_or("");
  d.dead_lettered_at_ms = number<int64_t>(header_value(m, retry_header::dlq_time), 0);
  d.msg = std::move(m);
  return d;
}

result<std::unique_ptr<dlq_admin>> dlq_admin::create(const connection_config& cfg) {
  auto c = connection::connect(cfg);
  if (!c) return c.err();
  return std::make_unique<dlq_admin>(std::move(*c));
}

dlq_admin::dlq_admin(std::shared_ptr<connection> conn) : conn_(std::move(conn)) {}

result<int64_t> dlq_admin::cursor(const std::string& dlq_topic) {
  using R = std::pair<int64_t, error>;
  auto r = detail::on_coordinator<R>(
      conn_->impl(), redrive_cursor_group,
      [dlq_topic](rpc::Broker::Client& c) {
        auto req = c.redriveCursorRequest();
        req.setDlqTopic(dlq_topic);
        return req.send().then([](auto&& resp) {
          return R{resp.getOffset(), detail::error_from_rpc(resp.getError())};
        });
      },
      [](const R& v) { return v.second; });
  if (!r) return r.err();
  if (r->second) return r->second;
  return r->first;
}

result<std::vector<dead_letter>> dlq_admin::list(const std::string& dlq_topic, size_t max,
                                                 int64_t from) {
  if (from < 0) {
    auto c = cursor(dlq_topic);
    if (!c) return c.err();
    from = *c;
  }
  std::vector<message> msgs;
  int64_t pos = from;
  int moved = 0;
  for (;;) {
    struct fetched {
      error err;
      int64_t high_watermark = 0;
      int64_t log_start = 0;
      std::string bytes;
    };
    // From the DLQ's leader (in a cluster any broker may lead it).
    topic_partition tp{dlq_topic, 0};
    auto where = conn_->impl().router().leader_address(tp, std::chrono::milliseconds(30000));
    if (!where) return where.err();
    auto r = conn_->impl().call_sync_at<fetched>(*where, [dlq_topic, pos](rpc::Broker::Client& c) {
      auto req = c.fetchRequest();
      auto ps = req.initPartitions(1);
      ps[0].setTopic(dlq_topic);
      ps[0].setPartition(0);
      ps[0].setOffset(pos);
      ps[0].setMaxBytes(1u << 20);
      req.setMaxWaitMs(0);
      req.setMinBytes(0);
      return req.send().then([](auto&& resp) {
        fetched f;
        auto res = resp.getResults()[0];
        f.err = detail::error_from_rpc(res.getError());
        f.high_watermark = res.getHighWatermark();
        f.log_start = res.getLogStartOffset();
        auto rec = res.getRecords();
        f.bytes.assign(reinterpret_cast<const char*>(rec.begin()), rec.size());
        return f;
      });
    });
    if (!r || detail::is_not_leader(r->err) || (r->err && detail::is_connection_error(r->err))) {
      // The leader moved: ask again (bounded by the caller's patience).
      conn_->impl().router().invalidate(dlq_topic);
      if (++moved > 3) return r ? r->err : r.err();
      continue;
    }
    if (r->err) {
      if (r->err.is(errc::offset_out_of_range) && pos < r->log_start) {
        pos = r->log_start;  // the oldest dead letters fell to retention
        continue;
      }
      return r->err;
    }
    int64_t next = pos;
    decode_records(dlq_topic, 0, r->bytes, pos, msgs, next);
    if (next <= pos || next >= r->high_watermark || msgs.size() >= max) break;
    pos = next;
  }
  if (msgs.size() > max) msgs.resize(max);
  std::vector<dead_letter> out;
  for (auto& m : msgs) out.push_back(decode_dead_letter(std::move(m)));
  return out;
}

result<redrive_result> dlq_admin::redrive(const std::string& dlq_topic, const std::string& reason,
                                          int64_t from, int64_t to) {
  using R = std::pair<redrive_result, error>;
  auto timeout = std::chrono::minutes(10);
  auto r = detail::on_coordinator<R>(
      conn_->impl(), redrive_cursor_group,
      [dlq_topic, reason, from, to](rpc::Broker::Client& c) {
        auto req = c.redriveRequest();
        req.setDlqTopic(dlq_topic);
        req.setReason(reason);
        req.setFromOffset(from);
        req.setToOffset(to);
        return req.send().then([](auto&& resp) {
          return R{{resp.getMoved(), resp.getRefused(), resp.getNextOffset()},
                   detail::error_from_rpc(resp.getError())};
        });
      },
      [](const R& v) { return v.second; }, timeout);
  if (!r) return r.err();
  if (r->second) return r->second;
  return r->first;
}

result<std::vector<dead_letter_count>> dlq_admin::stats() {
  auto make = [](rpc::Broker::Client& c) {
    return c.deadLetterStatsRequest().send().then([](auto&& resp) {
      std::vector<dead_letter_count> out;
      for (auto d : resp.getCounts()) {
        out.push_back({d.getTopic(), d.getGroup(), d.getReason(), d.getCount()});
      }
      return out;
    });
  };
  // Each broker counts the dead letters its RETRY actor wrote (those of the
  // groups it coordinates): in a cluster ask every live one and add up.
  auto md = conn_->impl().router().fetch_metadata({"__consumer_offsets"});
  if (!md || md->cluster_id.empty() || md->brokers.size() <= 1) {
    auto r = conn_->impl().call_sync<std::vector<dead_letter_count>>(make);
    if (!r) return r.err();
    return std::move(*r);
  }
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> sums;
  for (const auto& b : md->brokers) {
    if (!b.alive) continue;
    auto r = conn_->impl().call_sync_at<std::vector<dead_letter_count>>(b.address, make);
    if (!r) return r.err();
    for (const auto& d : *r) sums[{d.topic, d.group, d.reason}] += d.count;
  }
  std::vector<dead_letter_count> out;
  for (const auto& [k, count] : sums) {
    out.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), count});
  }
  return out;
}

}  // namespace actormq::client
