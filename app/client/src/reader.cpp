#include "actormq/client/reader.h"

#include <algorithm>
#include <thread>

#include "actormq/client/admin.h"
#include "fetch_types.h"
#include "fetcher.h"
#include "record_decoder.h"

namespace actormq::client {

using detail::fetch_request;
using detail::fetched;
using ms = std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

struct reader::impl {
  impl(std::shared_ptr<connection> c, consumer_config config)
      : conn(std::move(c)),
        cfg(std::move(config)),
        adm(conn),
        fetches(conn, cfg),
        decoder(cfg.check_crcs, false) {}

  struct partition {
    int64_t position = 0;
    int64_t high_watermark = -1;  ///< from the last fetch; -1 before one
    uint32_t fetch_size = 0;
  };

  std::shared_ptr<connection> conn;
  consumer_config cfg;
  admin adm;
  detail::fetcher fetches;
  detail::record_decoder decoder;
  std::map<topic_partition, partition> parts;
  detail::decoded_queue buffered;

  result<int64_t> resolve(const topic_partition& tp, int64_t offset) {
    if (offset >= 0) return offset;
    return adm.list_offsets(tp,
                            offset == latest ? admin::latest_timestamp : admin::earliest_timestamp);
  }

  result<void> place(const topic_partition& tp, result<int64_t> at) {
    if (!at) return at.err();
    auto& p = parts[tp];
    p.position = *at;
    p.high_watermark = -1;
    buffered.drop(tp);
    return {};
  }

  result<uint32_t> partition_count(const std::string& topic) {
    auto t = adm.describe_topic(topic);
    if (!t) return t.err();
    return static_cast<uint32_t>(t->partitions.size());
  }

  /// unknown_topic / unknown_partition now rather than at the first poll.
  error check_exists(const topic_partition& tp) {
    auto n = partition_count(tp.topic);
    if (!n) return n.err();
    if (tp.partition >= *n) {
      return error(errc::unknown_partition,
                   "topic '" + tp.topic + "' has " + std::to_string(*n) + " partitions");
    }
    return {};
  }

  message_batch take() {
    return buffered.take(cfg.max_poll_records,
                         [](const detail::decoded_queue::chunk&, const message_view&) {});
  }

  /// Decodes f into buffered, moving its partition's position.
  error decode(fetched& f) {
    auto it = parts.find(f.tp);
    if (it == parts.end()) return {};
    auto& p = it->second;
    if (f.requested_offset >= 0 && f.requested_offset != p.position) return {};
    if (f.high_watermark >= 0) p.high_watermark = f.high_watermark;
    std::vector<message> expired;  // the reader dead-letters nothing
    auto out = decoder.decode(f, p.position, buffered, expired);
    if (out.no_whole_batch)
      detail::grow_fetch_size(p.fetch_size, cfg.fetch_max_bytes_per_partition);
    return out.err;
  }

  result<message_batch> poll(ms timeout) {
    auto deadline = steady::now() + timeout;
    error last;
    bool first = true;
    while (first || steady::now() < deadline) {
      first = false;
      if (!buffered.empty()) return take();
      std::vector<fetch_request> reqs;
      for (const auto& [tp, p] : parts) {
        reqs.push_back(
            {tp, p.position, p.fetch_size ? p.fetch_size : cfg.fetch_max_bytes_per_partition});
      }
      auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
      if (reqs.empty()) {
        std::this_thread::sleep_for(std::clamp(left, ms(0), ms(50)));
        continue;
      }
      auto wait =
          static_cast<uint32_t>(std::clamp<int64_t>(left.count(), 0, cfg.fetch_max_wait_ms));
      auto r = fetches.fetch(reqs, wait);
      if (!r) {
        last = r.err();
        if (!is_retriable(last.value())) return last;
        std::this_thread::sleep_for(std::clamp(left, ms(0), ms(100)));
        continue;
      }
      for (auto& f : *r) {
        if (f.err) {
          switch (fetches.route_failure(f)) {
            case detail::fetcher::failure::out_of_range:
              // Below the log start (retention) or past the end (a log
              // truncated or recreated): the nearest offset that exists.
              if (auto e = clamp_position(f.tp)) last = e;
              break;
            case detail::fetcher::failure::moved:
              break;
            case detail::fetcher::failure::failed:
              last = f.err;
              if (!is_retriable(f.err.value())) return last;
              break;
          }
          continue;
        }
        if (auto e = decode(f)) return e;
      }
      if (!buffered.empty()) return take();
    }
    if (last) return last;
    return message_batch{};
  }

  error clamp_position(const topic_partition& tp) {
    auto it = parts.find(tp);
    if (it == parts.end()) return {};
    auto start = adm.list_offsets(tp, admin::earliest_timestamp);
    if (!start) return start.err();
    auto end = adm.list_offsets(tp, admin::latest_timestamp);
    if (!end) return end.err();
    it->second.position = std::clamp(it->second.position, *start, std::max(*start, *end));
    return {};
  }

  bool at_end() const {
    if (!buffered.empty()) return false;
    for (const auto& [tp, p] : parts) {
      if (p.high_watermark < 0 || p.position < p.high_watermark) return false;
    }
    return true;
  }
};

result<std::unique_ptr<reader>> reader::create(const consumer_config& cfg) {
  auto conn = connection::connect(cfg.connection);
  if (!conn) return conn.err();
  return std::make_unique<reader>(std::move(*conn), cfg);
}

reader::reader(std::shared_ptr<connection> conn, consumer_config cfg)
    : impl_(std::make_unique<impl>(std::move(conn), std::move(cfg))) {}

reader::~reader() {
  impl_->fetches.close();
}

result<void> reader::assign(const topic_partition& tp, int64_t offset) {
  if (auto e = impl_->check_exists(tp)) return e;
  return impl_->place(tp, impl_->resolve(tp, offset));
}

result<void> reader::assign_from_time(const topic_partition& tp, int64_t timestamp_ms) {
  if (auto e = impl_->check_exists(tp)) return e;
  return impl_->place(tp, impl_->adm.list_offsets(tp, std::max<int64_t>(timestamp_ms, 0)));
}

result<void> reader::assign_topic(const std::string& topic, int64_t offset) {
  auto n = impl_->partition_count(topic);
  if (!n) return n.err();
  for (uint32_t p = 0; p < *n; ++p) {
    topic_partition tp{topic, p};
    if (auto r = impl_->place(tp, impl_->resolve(tp, offset)); !r) return r;
  }
  return {};
}

result<void> reader::assign_topic_from_time(const std::string& topic, int64_t timestamp_ms) {
  auto n = impl_->partition_count(topic);
  if (!n) return n.err();
  for (uint32_t p = 0; p < *n; ++p) {
    topic_partition tp{topic, p};
    auto at = impl_->adm.list_offsets(tp, std::max<int64_t>(timestamp_ms, 0));
    if (auto r = impl_->place(tp, std::move(at)); !r) return r;
  }
  return {};
}

void reader::unassign(const topic_partition& tp) {
  impl_->parts.erase(tp);
  impl_->buffered.drop(tp);
}

std::vector<topic_partition> reader::assignment() const {
  std::vector<topic_partition> out;
  for (const auto& [tp, p] : impl_->parts) out.push_back(tp);
  return out;
}

result<message_batch> reader::poll_batch(std::chrono::milliseconds timeout) {
  return impl_->poll(timeout);
}

result<std::vector<message>> reader::poll(std::chrono::milliseconds timeout) {
  auto b = impl_->poll(timeout);
  if (!b) return b.err();
  return b->to_messages();
}

int64_t reader::position(const topic_partition& tp) const {
  auto it = impl_->parts.find(tp);
  if (it == impl_->parts.end()) return -1;
  // Buffered messages not yet returned come first.
  return impl_->buffered.first_offset(tp).value_or(it->second.position);
}

bool reader::at_end() const {
  return impl_->at_end();
}

}  // namespace actormq::client
