#include "actormq/client/consumer.h"

#include <algorithm>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "actormq/client/admin.h"
#include "actormq/client/dead_letters.h"
#include "connection_impl.h"
#include "fetch_types.h"
#include "fetcher.h"
#include "group_session.h"
#include "record_decoder.h"

namespace actormq::client {

namespace {

using steady = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;
using detail::fetch_request;
using detail::fetched;
using detail::fetched_buffer;
using detail::nack_record;

}  // namespace

/// State of a consumer: positions, buffered messages and the strict-order
/// and expiry bookkeeping, all on the (single) user thread. The group
/// membership (group_session), the fetch requests (fetcher) and the batch
/// decoding (record_decoder) are classes of their own.
struct consumer::impl {
  impl(std::shared_ptr<connection> c, consumer_config cf)
      : conn(std::move(c)),
        cfg(std::move(cf)),
        adm(conn),
        session(std::make_shared<detail::group_session>(conn, cfg)),
        fetches(conn, cfg),
        decoder(cfg.check_crcs, cfg.dead_letter_expired) {}

  std::shared_ptr<connection> conn;
  consumer_config cfg;
  admin adm;
  std::shared_ptr<detail::group_session> session;
  detail::fetcher fetches;
  detail::record_decoder decoder;

  uint64_t adopted_version = 0;
  std::vector<topic_partition> assignment;
  std::map<topic_partition, int64_t> positions;  // next offset to fetch
  std::map<topic_partition, int64_t> consumed;   // after the last returned message
  std::map<topic_partition, uint32_t> fetch_sizes;
  detail::decoded_queue buffered;
  steady::time_point last_auto_commit = steady::now();
  // Strict order mode: deliveries per (partition, offset) and paused partitions.
  std::map<std::pair<topic_partition, int64_t>, uint32_t> strict_deliveries;
  std::map<topic_partition, steady::time_point> paused_until;
  // Fetched messages past their amq-expires-at or their topic's ttl_ms,
  // dead-lettered by poll().
  std::vector<message> expired;

  /// Takes over the latest assignment and finds a start offset for every
  /// partition that has none: committed offset, else auto_offset_reset.
  error adopt_assignment() {
    if (auto next = session->assignment_since(adopted_version)) {
      std::set<topic_partition> keep(next->begin(), next->end());
      for (auto it = positions.begin(); it != positions.end();) {
        it = keep.count(it->first) ? std::next(it) : positions.erase(it);
      }
      for (auto it = consumed.begin(); it != consumed.end();) {
        it = keep.count(it->first) ? std::next(it) : consumed.erase(it);
      }
      buffered.keep_only(keep);
      assignment = std::move(*next);
    }
    std::vector<topic_partition> missing;
    for (const auto& tp : assignment) {
      if (!positions.count(tp)) missing.push_back(tp);
    }
    if (missing.empty()) return {};
    auto committed = adm.fetch_offsets(cfg.group_id, missing);
    if (!committed) return committed.err();
    for (const auto& o : *committed) {
      topic_partition tp{o.topic, o.partition};
      if (o.offset < 0 || std::find(missing.begin(), missing.end(), tp) == missing.end()) continue;
      positions[tp] = o.offset;
      consumed[tp] = o.offset;
    }
    for (const auto& tp : missing) {
      if (positions.count(tp)) continue;
      if (auto e = reset_offset(tp)) return e;
    }
    return {};
  }

  error reset_offset(const topic_partition& tp) {
    auto ts = cfg.auto_offset_reset == offset_reset::earliest ? admin::earliest_timestamp
                                                              : admin::latest_timestamp;
    auto off = adm.list_offsets(tp, ts);
    if (!off) return off.err();
    positions[tp] = *off;
    consumed[tp] = *off;
    return {};
  }

  /// Up to max_poll_records buffered messages, advancing consumed.
  message_batch take_buffered() {
    return buffered.take(
        cfg.max_poll_records, [&](const detail::decoded_queue::chunk& c, const message_view& last) {
          consumed[topic_partition{std::string(c.topic()), c.partition}] = last.offset + 1;
        });
  }

  /// Decodes one partition's fetched batches into buffered, advancing its
  /// position. Returns an error for a corrupt batch.
  error decode(fetched& f) {
    auto it = positions.find(f.tp);
    if (it == positions.end()) return {};  // revoked meanwhile
    // Asked for before the position moved (an answer taken a poll later).
    if (f.requested_offset >= 0 && f.requested_offset != it->second) return {};
    auto out = decoder.decode(f, it->second, buffered, expired);
    if (out.no_whole_batch) {
      detail::grow_fetch_size(fetch_sizes[f.tp], cfg.fetch_max_bytes_per_partition);
    }
    return out.err;
  }

  result<message_batch> poll(ms timeout) {
    if (auto e = session->check_usable()) return e;
    if (cfg.enable_auto_commit &&
        steady::now() - last_auto_commit >= ms(cfg.auto_commit_interval_ms)) {
      last_auto_commit = steady::now();
      (void)commit(current_offsets());
    }
    auto deadline = steady::now() + timeout;
    error last;
    bool first = true;
    while (first || steady::now() < deadline) {
      first = false;
      if (auto e = adopt_assignment()) last = e;
      if (!buffered.empty()) return take_buffered();
      std::vector<fetch_request> reqs;
      bool paused = false;
      for (const auto& tp : assignment) {
        auto pos = positions.find(tp);
        if (pos == positions.end()) continue;
        if (auto p = paused_until.find(tp); p != paused_until.end()) {
          if (steady::now() < p->second) {
            paused = true;
            continue;
          }
          paused_until.erase(p);
        }
        auto size = fetch_sizes[tp];
        if (size == 0) size = cfg.fetch_max_bytes_per_partition;
        reqs.push_back({tp, pos->second, size});
      }
      auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
      if (reqs.empty()) {
        // Nothing assigned (yet), or all of it paused by strict-order nacks:
        // wait for the heartbeat or the backoff.
        (void)paused;
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
              if (auto e = reset_offset(f.tp)) last = e;
              break;
            case detail::fetcher::failure::moved:
              break;
            case detail::fetcher::failure::failed:
              last = f.err;
              break;
          }
          continue;
        }
        if (auto e = decode(f)) return e;
      }
      if (auto e = dead_letter_expired()) return e;
      if (!buffered.empty()) return take_buffered();
    }
    if (last && !last.is(errc::rebalance_in_progress)) return last;
    return message_batch{};
  }

  // ---- retries and dead letters ----

  /// Dead-letters the expired messages decode() set aside. On failure the
  /// partitions concerned are fetched again from the first of them, so
  /// nothing is committed past an expired message that is not in its DLQ.
  error dead_letter_expired() {
    if (expired.empty()) return {};
    std::vector<nack_record> recs;
    for (const auto& m : expired) {
      recs.push_back({{m.topic, m.partition}, m.offset, false, "ttl_expired", "expired", 0});
    }
    auto r = session->nack(recs);
    error e;
    if (!r) {
      e = r.err();
      std::map<topic_partition, int64_t> first;
      for (const auto& m : expired) {
        topic_partition tp{m.topic, m.partition};
        if (!first.count(tp)) first[tp] = m.offset;
      }
      for (const auto& [tp, off] : first) {
        if (!positions.count(tp)) continue;
        positions[tp] = off;
        buffered.drop(tp, off);
      }
    }
    expired.clear();
    return e;
  }

  result<void> nack(const message& m, const std::string& text, bool reject) {
    topic_partition tp{m.topic, m.partition};
    if (reject) return session->nack({{tp, m.offset, true, "", text, 0}});
    if (!cfg.strict_order) return session->nack({{tp, m.offset, false, "", text, 0}});
    auto key = std::make_pair(tp, m.offset);
    auto deliveries = ++strict_deliveries[key];
    if (deliveries > cfg.strict_max_retries) {
      strict_deliveries.erase(key);
      return session->nack({{tp, m.offset, false, "max_retries", text, deliveries}});
    }
    // Fetch m again once its backoff has passed; nothing after it before.
    if (!positions.count(tp)) return error(errc::not_assigned, "partition no longer assigned");
    positions[tp] = m.offset;
    consumed[tp] = m.offset;
    buffered.drop(tp);
    const auto& b = cfg.strict_backoff_ms;
    uint32_t wait = b.empty() ? 1000 : b[std::min<size_t>(deliveries, b.size()) - 1];
    paused_until[tp] = steady::now() + ms(wait);
    return {};
  }

  std::vector<topic_partition_offset> current_offsets() const {
    std::vector<topic_partition_offset> out;
    for (const auto& tp : assignment) {
      auto it = consumed.find(tp);
      if (it != consumed.end()) out.push_back({tp.topic, tp.partition, it->second});
    }
    return out;
  }

  result<void> commit(const std::vector<topic_partition_offset>& offsets) {
    if (offsets.empty()) return {};
    auto prom = std::make_shared<std::promise<result<void>>>();
    auto fut = prom->get_future();
    session->commit(offsets, [prom](result<detail::status_reply> r) {
      if (!r)
        prom->set_value(r.err());
      else if (r->err)
        prom->set_value(r->err);
      else
        prom->set_value(result<void>());
    });
    if (fut.wait_for(ms(conn->config().request_timeout_ms) + std::chrono::seconds(5)) !=
        std::future_status::ready) {
      return result<void>(errc::request_timeout, "commit not answered");
    }
    return fut.get();
  }
};

result<std::unique_ptr<consumer>> consumer::create(const consumer_config& cfg) {
  if (cfg.group_id.empty()) return error(errc::invalid_argument, "consumer needs a group_id");
  auto c = connection::connect(cfg.connection);
  if (!c) return c.err();
  return std::make_unique<consumer>(std::move(*c), cfg);
}

consumer::consumer(std::shared_ptr<connection> conn, consumer_config cfg)
    : impl_(std::make_shared<impl>(std::move(conn), std::move(cfg))) {}

consumer::~consumer() {
  (void)close();
}

result<void> consumer::subscribe(const std::vector<std::string>& topics) {
  if (impl_->cfg.group_id.empty())
    return error(errc::invalid_argument, "consumer needs a group_id");
  if (topics.empty()) return error(errc::invalid_argument, "no topics to subscribe to");
  auto all = topics;
  const bool with_retry = impl_->cfg.retry_topics && !impl_->cfg.strict_order;
  std::map<std::string, int64_t> ttls;
  for (const auto& t : topics) {
    if (t.ends_with(".retry")) continue;
    auto rt = retry_topic_name(t, impl_->cfg.group_id);
    auto info = impl_->adm.describe_topic(t);
    if (!info) {
      if (with_retry) return info.err();
      continue;  // without retry topics a missing topic is the broker's to report
    }
    if (info->config.ttl_ms > 0) ttls[t] = ttls[rt] = info->config.ttl_ms;
    if (with_retry) {
      // The group's retry topic (as many partitions as its topic) and its
      // dead-letter topic (one). A single broker would create them on the
      // first nack too; a cluster's are the controller's to create, so the
      // consumer does it here. The retry topic is assigned from the start.
      topic_config tc;
      tc.partitions = static_cast<uint32_t>(info->partitions.size());
      tc.replication_factor = info->config.replication_factor;
      if (auto r = impl_->adm.create_topic(rt, tc); !r && !r.err().is(errc::topic_exists)) {
        return r.err();
      }
      topic_config dc;
      dc.partitions = 1;
      dc.replication_factor = info->config.replication_factor;
      auto dlq = dlq_topic_name(t, impl_->cfg.group_id);
      if (auto r = impl_->adm.create_topic(dlq, dc); !r && !r.err().is(errc::topic_exists)) {
        return r.err();
      }
      if (std::find(all.begin(), all.end(), rt) == all.end()) all.push_back(rt);
    }
  }
  if (auto r = impl_->session->subscribe(all); !r) return r;
  impl_->decoder.set_topic_ttls(std::move(ttls));
  if (auto r = impl_->session->join(); !r) return r;
  impl_->session->start_heartbeat();
  return {};
}

result<std::vector<message>> consumer::poll(std::chrono::milliseconds timeout) {
  auto r = impl_->poll(timeout);
  if (!r) return r.err();
  return r->to_messages();
}

result<message_batch> consumer::poll_batch(std::chrono::milliseconds timeout) {
  return impl_->poll(timeout);
}

result<void> consumer::nack(const message& m, const std::string& error_text) {
  return impl_->nack(m, error_text, false);
}

result<void> consumer::reject(const message& m, const std::string& error_text) {
  return impl_->nack(m, error_text, true);
}

result<void> consumer::commit_sync() {
  return impl_->commit(impl_->current_offsets());
}

result<void> consumer::commit_sync(const std::vector<topic_partition_offset>& offsets) {
  return impl_->commit(offsets);
}

std::future<result<void>> consumer::commit_async() {
  auto prom = std::make_shared<std::promise<result<void>>>();
  auto fut = prom->get_future();
  auto offsets = impl_->current_offsets();
  if (offsets.empty()) {
    prom->set_value(result<void>());
    return fut;
  }
  impl_->session->commit(offsets, [prom](result<detail::status_reply> r) {
    if (!r)
      prom->set_value(r.err());
    else if (r->err)
      prom->set_value(r->err);
    else
      prom->set_value(result<void>());
  });
  return fut;
}

result<void> consumer::seek(const topic_partition& tp, int64_t offset) {
  (void)impl_->adopt_assignment();
  if (std::find(impl_->assignment.begin(), impl_->assignment.end(), tp) ==
      impl_->assignment.end()) {
    return error(errc::not_assigned, tp.topic + "-" + std::to_string(tp.partition) +
                                         " is not assigned to this consumer");
  }
  impl_->positions[tp] = offset;
  impl_->consumed[tp] = offset;
  impl_->buffered.drop(tp);
  return {};
}

std::vector<topic_partition> consumer::assignment() const {
  return impl_->assignment;
}

std::optional<int64_t> consumer::position(const topic_partition& tp) const {
  auto it = impl_->consumed.find(tp);
  if (it == impl_->consumed.end()) return std::nullopt;
  return it->second;
}

int32_t consumer::generation() const {
  return impl_->session->generation();
}

std::string consumer::member_id() const {
  return impl_->session->member_id();
}

bool consumer::fetch_stream_active() const {
  return impl_->fetches.stream_active();
}

result<void> consumer::close() {
  if (impl_->session->is_closed()) return {};
  impl_->fetches.close();
  return impl_->session->close();
}

}  // namespace actormq::client
