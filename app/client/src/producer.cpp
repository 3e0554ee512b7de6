#include "actormq/client/producer.h"

#include <pthread.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>

#include "cluster_router.h"
#include "connection_impl.h"
#include "lock_spinning.h"
#include "record_accumulator.h"
#include "storage/record_batch.h"

namespace actormq::client {

namespace {

using steady = std::chrono::steady_clock;
using detail::completion;
using detail::producer_batch;
namespace L = storage::batch_layout;

/// The batches per producer a partition remembers to recognise a retry as
/// a duplicate (producer_state_table::batches_kept on the broker): an
/// idempotent producer keeps at most that many in flight per partition.
constexpr uint32_t broker_batches_kept = 5;

/// Set while this thread runs delivery callbacks: flush() and close() from
/// a callback would wait for themselves.
thread_local bool in_delivery_callback = false;

void client_log_callback_error(const char* what) {
  std::fprintf(stderr, "actormq client: a delivery callback threw: %s\n", what);
}

int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

rpc::Acks to_rpc(acks a) {
  switch (a) {
    case acks::none:
      return rpc::Acks::NONE;
    case acks::leader:
      return rpc::Acks::LEADER;
    case acks::fsync:
      return rpc::Acks::FSYNC;
    case acks::all:
      return rpc::Acks::ALL;
  }
  return rpc::Acks::LEADER;
}

/// Upper bound of the bytes one record adds to a batch.
size_t record_size_estimate(const producer_record_view& r) {
  // Length, attributes, deltas, field lengths (varints), and the message
  // id's header (1 + 6 + 1 + 16 bytes).
  size_t n = 32 + 24;
  if (r.key) n += r.key->size();
  if (r.value) n += r.value->size();
  for (const auto& h : r.headers) n += 20 + h.key.size() + (h.value ? h.value->size() : 0);
  return n;
}

struct produce_reply {
  error err;
  detail::leader_hint hint;  ///< with notLeader
  int64_t base_offset = -1;
  int64_t last_offset = -1;
  bool duplicate = false;
  bool scheduled = false;
  int64_t deliver_at_ms = -1;
  uint32_t throttled_ms = 0;
};

struct init_reply {
  int64_t producer_id = -1;
  int16_t epoch = -1;
  error err;  ///< the broker refused (clusterUnavailable: no id block from etcd)
};

}  // namespace

/// The shared state of a producer, and its sender. User threads append
/// records to the record_accumulator under mu; the sender thread drains
/// the batches due (linger, flush, retries), routes each to its
/// partition's leader and hands it to the connection loop; replies come
/// back on the loop thread and settle batches under mu. Callbacks run
/// without mu held.
struct producer::impl : std::enable_shared_from_this<producer::impl> {
  impl(std::shared_ptr<connection> c, producer_config cf)
      : conn(std::move(c)), cfg(std::move(cf)), acc(cfg, limit_of(cfg, *conn)) {
    batch_limit = limit_of(cfg, *conn);
    // The sender gets a producer id before the first send unless init() did.
    need_reinit = cfg.idempotent;
  }

  /// The batch size limit: batch_bytes, capped at the broker's max.
  static size_t limit_of(producer_config& cfg, const connection& conn) {
    cfg.max_in_flight_per_partition = std::max<uint32_t>(cfg.max_in_flight_per_partition, 1);
    if (cfg.idempotent) {
      // More in flight and a stored batch's retry could be answered
      // out_of_order_sequence instead of duplicate.
      cfg.max_in_flight_per_partition =
          std::min(cfg.max_in_flight_per_partition, broker_batches_kept);
    }
    size_t limit = cfg.batch_bytes;
    auto broker_max = conn.broker_info().max_batch_bytes;
    if (broker_max > 0) limit = std::min<size_t>(limit, broker_max);
    return std::max<size_t>(limit, 1024);
  }

  std::shared_ptr<connection> conn;
  producer_config cfg;
  size_t batch_limit = 0;

  std::mutex mu;
  std::condition_variable sender_cv;  // new/sealed batches, replies, stop
  /// Bumped under mu with every reason to wake the sender: one that comes
  /// while the sender has mu released (a metadata refresh) is not lost.
  uint64_t sender_work = 0;
  std::condition_variable settled_cv;  // buffer space freed, batches settled
  detail::record_accumulator acc;
  /// send()'s record's partition, under mu: its topic string is built when
  /// the topic changes, not for every record.
  topic_partition send_tp;
  size_t unsettled_records = 0;
  int64_t producer_id = -1;
  int16_t epoch = -1;
  bool need_reinit = false;
  int flush_requests = 0;
  bool closed = false;
  bool stop_sender = false;
  std::thread sender;

  result<init_reply> init_producer() {
    auto r = conn->impl().call_sync<init_reply>([](rpc::Broker::Client& c) {
      return c.initProducerRequest().send().then([](auto&& resp) {
        return init_reply{resp.getProducerId(), resp.getEpoch(),
                          detail::error_from_rpc(resp.getError())};
      });
    });
    if (r && r->err) return r->err;
    return r;
  }

  detail::cluster_router& router() { return conn->impl().router(); }
  std::chrono::milliseconds max_age() const {
    return std::chrono::milliseconds(cfg.metadata_max_age_ms);
  }

  /// From the connection's metadata. A count looked up less than
  /// metadata_refresh_min_ms ago is reused: the router's lookup takes its
  /// lock three times and send() is per record (W5's client spent ~10 %
  /// more CPU in mutexes without this). A count the metadata cache holds is
  /// used even when a refresh is due: the sender thread refreshes, send()
  /// does not wait for it (a frozen broker held every send for a request
  /// timeout). Only a topic the cache does not know is asked about here.
  /// fresh: skip both (after an explicit metadata request).
  result<uint32_t> partition_count(const std::string& topic, bool fresh = false) {
    const auto now = steady::now();
    if (!fresh) {
      std::lock_guard lk(mu);
      if (auto n = acc.recent_partition_count(topic, now, recent_count_ttl())) return *n;
    }
    if (!fresh) {
      if (auto n = router().cached_partition_count(topic)) {
        std::lock_guard lk(mu);
        acc.set_partition_count(topic, *n, now);
        return *n;
      }
    }
    auto r = router().partition_count(topic, max_age());
    if (!r) return r.err();
    std::lock_guard lk(mu);
    acc.set_partition_count(topic, *r, now);
    return *r;
  }
  steady::duration recent_count_ttl() const {
    return std::chrono::milliseconds(cfg.connection.metadata_refresh_min_ms);
  }

  /// Picks the leader a batch goes to. False while the partition has no
  /// known leader: the batch waits (backoff, then metadata again) until
  /// its delivery timeout. A topic or partition the cluster says does not
  /// exist goes to the bootstrap broker, whose answer settles it.
  bool route(producer_batch& b) {
    auto rt = router().route(b.tp);
    using st = detail::partition_route::status;
    switch (rt.st) {
      case st::leader:
        b.leader_address = rt.address;
        return true;
      case st::unknown_topic:
      case st::unknown_partition:
        b.leader_address.clear();
        return true;
      case st::offline:
      case st::unknown:
        break;
    }
    return false;
  }

  steady::duration backoff(uint32_t attempts) const {
    uint64_t ms = cfg.retry_backoff_ms;
    for (uint32_t i = 1; i < attempts && ms < cfg.retry_backoff_max_ms; ++i) ms *= 2;
    return std::chrono::milliseconds(std::min<uint64_t>(ms, cfg.retry_backoff_max_ms));
  }

  /// Runs the callbacks of settled records (without mu), then counts the
  /// records as done: flush() and close() wait for that count, so they
  /// return only after every callback they cover has returned.
  void complete(std::vector<completion>& done) {
    if (done.empty()) return;
    in_delivery_callback = true;
    size_t records = 0;
    for (auto& c : done) {
      records += c.size();
      // One report a batch, its record's fields rewritten for each callback.
      auto rep = c.batch_report();
      for (size_t i = 0; i < c.size(); ++i) {
        if (!c.callbacks[i]) continue;
        c.set_record(i, rep);
        // A throwing callback must not skip the count below (flush would
        // hang) nor the callbacks after it.
        try {
          c.callbacks[i](rep);
        } catch (const std::exception& e) {
          client_log_callback_error(e.what());
        } catch (...) {
          client_log_callback_error("unknown exception");
        }
      }
    }
    in_delivery_callback = false;
    {
      auto lk = detail::spinning_lock(mu);
      unsettled_records -= std::min(unsettled_records, records);
    }
    settled_cv.notify_all();
  }

  // ---- user threads ----

  void send(const producer_record_view& rec, delivery_callback cb) {
    auto fail = [&](error e) {
      delivery_report rep;
      rep.topic = std::string(rec.topic);
      rep.partition = rec.partition.value_or(0);
      rep.err = std::move(e);
      if (cb) cb(rep);
    };
    if (rec.topic.empty()) return fail(error(errc::invalid_argument, "empty topic name"));
    size_t est = record_size_estimate(rec);
    auto max_msg = conn->broker_info().max_message_bytes;
    if (est + L::header_size > batch_limit || (max_msg > 0 && est > max_msg)) {
      return fail(error(errc::message_too_large, "record of ~" + std::to_string(est) +
                                                     " bytes exceeds the batch limit of " +
                                                     std::to_string(batch_limit) + " bytes"));
    }
    int64_t ts = rec.timestamp_ms.value_or(wall_now_ms());

    // One lock for the common case: open, the partition count recent, room
    // in the buffer (W2's client spent 10 % of its CPU in three lock pairs a
    // record, docs/benchmarks.md). Taken spinning: the other threads hold it
    // briefly (lock_spinning.h).
    auto lk = detail::spinning_lock(mu);
    if (closed) {
      lk.unlock();
      return fail(error(errc::closed, "producer closed"));
    }
    auto count = acc.recent_partition_count(rec.topic, steady::now(), recent_count_ttl());
    if (!count || (rec.partition && *rec.partition >= *count)) {
      lk.unlock();
      const std::string topic(rec.topic);
      auto fresh = partition_count(topic, count.has_value());
      if (!fresh) return fail(fresh.err());
      if (rec.partition && *rec.partition >= *fresh) {
        // Partitions may have been added since the count was cached: ask the
        // broker once, now (the rate-limited refresh may be skipped).
        (void)router().fetch_metadata({topic});
        fresh = partition_count(topic, true);
        if (!fresh) return fail(fresh.err());
      }
      if (rec.partition && *rec.partition >= *fresh) {
        return fail(error(errc::unknown_partition,
                          "topic '" + topic + "' has " + std::to_string(*fresh) + " partitions"));
      }
      lk.lock();
    }
    std::optional<steady::time_point> give_up;  // the clock is read only when the buffer is full
    while (!closed && acc.buffered_bytes() > 0 && acc.buffered_bytes() + est > cfg.buffer_memory) {
      if (!give_up) give_up = steady::now() + std::chrono::milliseconds(cfg.max_block_ms);
      if (settled_cv.wait_until(lk, *give_up) == std::cv_status::timeout) {
        lk.unlock();
        return fail(error(errc::request_timeout, "producer buffer full for max_block_ms"));
      }
    }
    if (closed) {
      lk.unlock();
      return fail(error(errc::closed, "producer closed"));
    }
    const uint32_t partition = acc.choose_partition(rec);
    if (send_tp.topic != rec.topic) send_tp.topic.assign(rec.topic);
    send_tp.partition = partition;
    bool wake = acc.append(send_tp, rec, ts, est, std::move(cb));
    if (wake) ++sender_work;
    ++unsettled_records;
    lk.unlock();
    if (wake) sender_cv.notify_one();
  }

  // ---- sender thread ----

  void sender_loop() {
    pthread_setname_np(pthread_self(), "amq-sender");  // top -H, perf
    std::unique_lock lk(mu);
    for (;;) {
      auto now = steady::now();
      if (stop_sender && unsettled_records == 0) break;
      bool gap = false;
      if (auto expired = acc.expire(now, gap); !expired.empty()) {
        if (gap) need_reinit = true;
        settled_cv.notify_all();
        lk.unlock();
        complete(expired);
        lk.lock();
        continue;
      }
      // A batch that may be stored keeps its old stamp until it is settled
      // or proven absent: restamped, the broker would store it again.
      if (need_reinit && acc.in_flight() == 0 && !acc.awaiting_outcome()) {
        lk.unlock();
        auto r = init_producer();
        lk.lock();
        if (r) {
          producer_id = r->producer_id;
          epoch = r->epoch;
          need_reinit = false;
          acc.restart_sequences();
        } else {
          sender_cv.wait_for(lk, std::chrono::milliseconds(cfg.retry_backoff_ms));
          if (stop_sender && unsettled_records == 0) break;
        }
        continue;
      }
      detail::record_accumulator::drain_context ctx;
      ctx.now = now;
      ctx.flush = flush_requests > 0 || stop_sender;
      ctx.hold = need_reinit;
      ctx.producer_id = producer_id;
      ctx.epoch = epoch;
      ctx.route = [this](producer_batch& b) { return route(b); };
      ctx.backoff = [this](uint32_t attempts) { return backoff(attempts); };
      const uint64_t seen = sender_work;
      auto d = acc.drain(ctx);
      if (!d.ready.empty()) {
        lk.unlock();
        for (auto& b : d.ready) {
          detail::record_accumulator::write_crc(*b);
          dispatch(b);
        }
        detail::lock_spinning(lk);
        continue;
      }
      // Leaders unknown (or moved), or metadata_max_age_ms passed: ask again
      // (the router keeps it to one request per metadata_refresh_min_ms).
      if (d.want_metadata || router().refresh_due(max_age())) {
        lk.unlock();
        (void)router().refresh(max_age(), d.want_metadata);
        lk.lock();
      }
      // A wake-up that came while mu was released above changes the plan.
      sender_cv.wait_until(lk, d.next_wake, [&] { return sender_work != seen; });
    }
  }

  void dispatch(const std::shared_ptr<producer_batch>& b) {
    std::weak_ptr<impl> weak = shared_from_this();
    auto a = to_rpc(cfg.acks);
    auto timeout = std::chrono::milliseconds(conn->config().request_timeout_ms);
    // This attempt's bytes: a later restamp writes a copy (stamp()).
    std::shared_ptr<const std::string> bytes = b->bytes;
    conn->impl().call_at<produce_reply>(
        b->leader_address,
        [b, a, bytes](rpc::Broker::Client& c) {
          auto req = c.produceRequest();
          req.setTopic(b->tp.topic);
          req.setPartition(b->tp.partition);
          req.setAcks(a);
          req.setDeliverAtMs(b->delay.deliver_at_ms);
          req.setDelayLevel(b->delay.level);
          if (!b->dues.empty()) {
            auto l = req.initDeliverAtList(static_cast<unsigned>(b->dues.size()));
            for (unsigned i = 0; i < b->dues.size(); ++i) l.set(i, b->dues[i]);
          }
          // The request refers to the batch bytes instead of copying them.
          // call_at's keep holds them until the request ends, and past that
          // (in the session's write_pins) while its write may still read them.
          auto orphanage =
              capnp::Orphanage::getForMessageContaining(rpc::Broker::ProduceParams::Builder(req));
          req.adoptBatch(orphanage.referenceExternalData(capnp::Data::Reader(
              reinterpret_cast<const kj::byte*>(bytes->data()), bytes->size())));
          return req.send().then([](auto&& resp) {
            return produce_reply{detail::error_from_rpc(resp.getError()),
                                 detail::hint_from_rpc(resp.getError()),
                                 resp.getBaseOffset(),
                                 resp.getLastOffset(),
                                 resp.getDuplicate(),
                                 resp.getScheduled(),
                                 resp.getDeliverAtMs(),
                                 resp.getThrottledMs()};
          });
        },
        [weak, b](result<produce_reply> r) {
          if (auto self = weak.lock()) self->on_reply(*b, std::move(r));
        },
        timeout, {bytes, bytes->size()});
  }

  // ---- loop thread ----

  void on_reply(producer_batch& b, result<produce_reply> r) {
    std::vector<completion> done;
    bool wake_sender = false;
    {
      auto lk = detail::spinning_lock(mu);
      acc.returned(b);
      error err = r ? r->err : r.err();
      if (!err) {
        acc.settle(b, {}, r->base_offset, done, r->scheduled ? r->deliver_at_ms : -1,
                   r->throttled_ms);
      } else {
        auto code = err.value();
        bool earlier_unsettled = acc.earlier_unsettled(b);
        bool retriable = is_retriable(code);
        if (code == errc::unknown_producer_id || code == errc::invalid_producer_epoch) {
          // The broker lost or superseded our producer state: start a new
          // producer id. A batch that may be stored keeps its stamp until
          // its fate is known (record_accumulator.h, "a new producer id").
          if (cfg.idempotent) {
            need_reinit = true;
            retriable = code == errc::unknown_producer_id;
          }
        } else if (code == errc::out_of_order_sequence) {
          if (!earlier_unsettled && cfg.idempotent) {
            // No earlier batch can fill the gap: this one is not stored
            // (stored, it would be among the broker's last batches_kept of
            // this producer, max_in_flight_per_partition <= 5, and be
            // answered duplicate). It waits for a new producer id and is
            // stamped again under it.
            acc.mark_absent(b);
            need_reinit = true;
          }
          retriable = true;
        }
        bool in_time = steady::now() < b.deadline;
        if (detail::is_not_leader(err)) {
          // The leader moved: follow the hint at once (or ask again), and
          // resend the same stamped batch there.
          router().apply_leader_hint(b.tp, r ? r->hint : detail::leader_hint{});
          retriable = true;
        } else if (code == errc::unknown_topic || code == errc::unknown_partition) {
          // Right after a topic change a leader may not know the topic yet:
          // retry while the metadata says it exists (a refresh comes first,
          // so a deleted topic fails at the next answer).
          retriable = router().route(b.tp).st == detail::partition_route::status::leader;
          router().invalidate(b.tp.topic);
        } else if (detail::is_connection_error(err)) {
          router().invalidate(b.tp.topic);  // the leader may be gone
        }
        if (retriable && in_time && b.attempts <= cfg.retries) {
          b.retry_at = steady::now() + backoff(b.attempts);
        } else {
          if (retriable && !in_time) {
            err = error(errc::delivery_timeout,
                        "not acknowledged within delivery_timeout_ms (" + err.to_string() + ")");
          }
          if (cfg.idempotent && b.stamped) need_reinit = true;  // sequence gap follows
          acc.settle(b, err, -1, done);
        }
      }
      // The sender sleeps until its next due time; a reply changes what it
      // has to do only when something of this partition waits to be sent (a
      // slot in flight freed, a retry) or it must act (a new producer id,
      // stop, flush). Otherwise waking it costs a thread wake-up per reply
      // for nothing.
      wake_sender = acc.has_unsent(b.tp) || need_reinit || stop_sender || flush_requests > 0;
      if (wake_sender) ++sender_work;
    }
    settled_cv.notify_all();
    if (wake_sender) sender_cv.notify_one();
    complete(done);
  }

  void fail_all_unsent(const error& err) {
    std::vector<completion> done;
    {
      std::lock_guard lk(mu);
      done = acc.fail_unsent(err);
    }
    settled_cv.notify_all();
    complete(done);
  }
};

producer::producer(std::shared_ptr<connection> conn, producer_config cfg)
    : impl_(std::make_shared<impl>(std::move(conn), std::move(cfg))) {
  impl_->sender = std::thread([i = impl_.get()] { i->sender_loop(); });
}

producer::~producer() {
  (void)close();
}

result<std::unique_ptr<producer>> producer::create(const producer_config& cfg) {
  auto c = connection::connect(cfg.connection);
  if (!c) return c.err();
  auto p = std::make_unique<producer>(std::move(*c), cfg);
  if (auto r = p->init(); !r) return r.err();
  return p;
}

result<void> producer::init() {
  if (impl_->cfg.delivery_timeout_ms <= impl_->cfg.linger_ms) {
    // A batch would reach its delivery timeout before it is due to be sent.
    return result<void>(errc::invalid_argument, "delivery_timeout_ms (" +
                                                    std::to_string(impl_->cfg.delivery_timeout_ms) +
                                                    ") must be greater than linger_ms (" +
                                                    std::to_string(impl_->cfg.linger_ms) + ")");
  }
  if (!impl_->cfg.idempotent) return {};
  auto r = impl_->init_producer();
  if (!r) return r.err();
  std::lock_guard lk(impl_->mu);
  impl_->producer_id = r->producer_id;
  impl_->epoch = r->epoch;
  impl_->need_reinit = false;
  return {};
}

int64_t producer::producer_id() const {
  std::lock_guard lk(impl_->mu);
  return impl_->producer_id;
}

std::future<delivery_report> producer::send(producer_record rec) {
  auto prom = std::make_shared<std::promise<delivery_report>>();
  auto fut = prom->get_future();
  send(std::move(rec), [prom](const delivery_report& r) { prom->set_value(r); });
  return fut;
}

std::future<delivery_report> producer::send(std::string topic, std::optional<std::string> key,
                                            std::optional<std::string> value,
                                            std::vector<header> headers) {
  producer_record rec;
  rec.topic = std::move(topic);
  rec.key = std::move(key);
  rec.value = std::move(value);
  rec.headers = std::move(headers);
  return send(std::move(rec));
}

void producer::send(producer_record rec, delivery_callback cb) {
  std::vector<header_view> headers;
  headers.reserve(rec.headers.size());
  for (const auto& h : rec.headers) {
    headers.push_back({h.key, h.value ? std::optional<std::string_view>(*h.value) : std::nullopt});
  }
  auto opt_view = [](const std::optional<std::string>& s) {
    return s ? std::optional<std::string_view>(*s) : std::nullopt;
  };
  producer_record_view view;
  view.topic = rec.topic;
  view.key = opt_view(rec.key);
  view.value = opt_view(rec.value);
  view.headers = headers;
  view.partition = rec.partition;
  view.timestamp_ms = rec.timestamp_ms;
  view.deliver_at_ms = rec.deliver_at_ms;
  view.delay_level = rec.delay_level;
  view.id = rec.id;
  impl_->send(view, std::move(cb));
}

void producer::send(const producer_record_view& rec, delivery_callback cb) {
  impl_->send(rec, std::move(cb));
}

delivery_report producer::send_sync(producer_record rec) {
  auto topic = rec.topic;
  auto fut = send(std::move(rec));
  auto limit = std::chrono::milliseconds(impl_->cfg.delivery_timeout_ms) + std::chrono::seconds(10);
  if (fut.wait_for(limit) != std::future_status::ready) {
    delivery_report rep;
    rep.topic = topic;
    rep.err = error(errc::delivery_timeout, "no delivery report");
    return rep;
  }
  return fut.get();
}

result<void> producer::flush(std::chrono::milliseconds timeout) {
  if (in_delivery_callback) {
    // It would wait for the very callback it is called from.
    return result<void>(errc::invalid_argument,
                        "flush() and close() cannot be called from a delivery callback");
  }
  std::unique_lock lk(impl_->mu);
  ++impl_->flush_requests;
  ++impl_->sender_work;
  impl_->sender_cv.notify_one();
  bool ok =
      impl_->settled_cv.wait_for(lk, timeout, [this] { return impl_->unsettled_records == 0; });
  --impl_->flush_requests;
  if (!ok) {
    return result<void>(errc::request_timeout,
                        std::to_string(impl_->unsettled_records) + " records still unacknowledged");
  }
  return {};
}

result<void> producer::close(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->closed && !impl_->sender.joinable()) return {};
  }
  auto r = flush(timeout);
  {
    std::lock_guard lk(impl_->mu);
    impl_->closed = true;
  }
  // Whatever is still queued now will not be sent.
  impl_->fail_all_unsent(error(errc::closed, "producer closed before the record was sent"));
  {
    std::unique_lock lk(impl_->mu);
    impl_->stop_sender = true;
    ++impl_->sender_work;
    impl_->sender_cv.notify_one();
    // In-flight batches settle by reply or request timeout.
    impl_->settled_cv.wait_for(lk,
                               std::chrono::milliseconds(impl_->conn->config().request_timeout_ms) +
                                   std::chrono::seconds(5),
                               [this] { return impl_->unsettled_records == 0; });
    impl_->unsettled_records = 0;
    ++impl_->sender_work;
    impl_->sender_cv.notify_one();
  }
  if (impl_->sender.joinable()) impl_->sender.join();
  return r;
}

result<uint32_t> producer::partition_count(const std::string& topic) {
  return impl_->partition_count(topic, true);
}

}  // namespace actormq::client
