#include "actormq/client/consumer.h"

#include <kj/debug.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "actormq/client/admin.h"
#include "actormq/client/dead_letters.h"
#include "cluster_router.h"
#include "connection_impl.h"
#include "storage/record_batch.h"

namespace actormq::client {

namespace {

using steady = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

/// One partition's part of a fetch answer, copied out of the RPC reply.
struct fetched {
  topic_partition tp;
  error err;
  detail::leader_hint hint;  ///< with notLeader
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  std::string bytes;
};

/// One partition's fetched bytes once decoded: the message_views of it
/// point into bytes and topic, so message batches keep it alive.
struct fetched_buffer {
  std::string topic;
  std::string bytes;
};

/// A decoded message waiting for poll(), with the buffer it points into.
struct buffered_view {
  message_view v;
  std::shared_ptr<const fetched_buffer> owner;
};

struct fetch_request {
  topic_partition tp;
  int64_t offset = 0;
  uint32_t max_bytes = 0;
};

struct join_state {
  std::string member_id;
  int32_t generation = -1;
  std::vector<topic_partition> assignment;
  uint32_t session_timeout_ms = 0;
};

join_state from_rpc(rpc::JoinResult::Reader r) {
  join_state s;
  s.member_id = r.getMemberId();
  s.generation = r.getGeneration();
  for (auto tp : r.getAssignment()) s.assignment.push_back({tp.getTopic(), tp.getPartition()});
  std::sort(s.assignment.begin(), s.assignment.end());
  s.session_timeout_ms = r.getSessionTimeoutMs();
  return s;
}

/// The zero-copy fetch stream of one RPC session, shared by the fetches that
/// read from it (loop thread only).
struct fetch_stream : kj::Refcounted {
  kj::Own<kj::AsyncIoStream> stream;
  uint64_t session = 0;
  bool broken = false;
};

}  // namespace

/// State of a consumer. The heartbeat runs on the connection's loop and
/// writes the group state under mu; everything else belongs to the (single)
/// user thread. loop_ lives on the loop thread and is created and destroyed
/// there.
struct consumer::impl : std::enable_shared_from_this<consumer::impl> {
  struct loop_state {
    class errors final : public kj::TaskSet::ErrorHandler {
     public:
      void taskFailed(kj::Exception&&) override {}  // heartbeats retry on their own
    } errors;
    kj::TaskSet tasks{errors};
    /// Fetch streams by leader address ("" = the bootstrap broker).
    std::map<std::string, kj::Own<fetch_stream>> streams;
    bool heartbeating = false;
  };

  impl(std::shared_ptr<connection> c, consumer_config cf)
      : conn(std::move(c)), cfg(std::move(cf)), adm(conn) {}

  std::shared_ptr<connection> conn;
  consumer_config cfg;
  admin adm;

  // Group state, shared with the heartbeat.
  mutable std::mutex mu;
  join_state group;
  uint64_t group_version = 0;  // bumped when generation/assignment change
  std::vector<std::string> topics;
  bool subscribed = false;
  bool closed = false;

  // User-thread state.
  uint64_t adopted_version = 0;
  std::vector<topic_partition> assignment;
  std::map<topic_partition, int64_t> positions;  // next offset to fetch
  std::map<topic_partition, int64_t> consumed;   // after the last returned message
  std::map<topic_partition, uint32_t> fetch_sizes;
  std::deque<buffered_view> buffered;
  steady::time_point last_auto_commit = steady::now();
  bool stream_failed = false;
  // Strict order mode: deliveries per (partition, offset) and paused partitions.
  std::map<std::pair<topic_partition, int64_t>, uint32_t> strict_deliveries;
  std::map<topic_partition, steady::time_point> paused_until;
  // Fetched messages past their amq-expires-at or their topic's ttl_ms,
  // dead-lettered by poll().
  std::vector<message> expired;
  // ttl_ms of the subscribed topics that have one (and of their retry
  // topics), from describe_topic at subscribe.
  std::map<std::string, int64_t> topic_ttl_ms;

  // Loop-thread state.
  kj::Own<loop_state> loop;

  // ---- group membership (loop thread) ----

  /// Records a join/heartbeat answer; a changed generation or assignment is
  /// picked up by the next poll().
  void adopt(const join_state& s) {
    std::lock_guard lk(mu);
    if (!s.member_id.empty()) group.member_id = s.member_id;
    if (s.session_timeout_ms > 0) group.session_timeout_ms = s.session_timeout_ms;
    if (s.generation != group.generation || s.assignment != group.assignment) {
      group.generation = s.generation;
      group.assignment = s.assignment;
      ++group_version;
    }
  }

  kj::Promise<void> join_on_loop(rpc::Broker::Client c) {
    auto req = c.joinGroupRequest();
    {
      std::lock_guard lk(mu);
      req.setGroup(cfg.group_id);
      req.setMemberId(group.member_id);
      auto ts = req.initTopics(static_cast<unsigned>(topics.size()));
      for (unsigned i = 0; i < topics.size(); ++i) ts.set(i, topics[i]);
    }
    req.setClientId(cfg.connection.client_id);
    req.setSessionTimeoutMs(cfg.session_timeout_ms);
    req.setStrategy(cfg.strategy);
    std::weak_ptr<impl> weak = shared_from_this();
    return req.send().then([weak](auto&& resp) {
      auto self = weak.lock();
      if (!self) return;
      auto err = detail::error_from_rpc(resp.getError());
      if (err) {
        if (err.is(errc::unknown_member)) {
          std::lock_guard lk(self->mu);
          self->group.member_id.clear();
        }
        if (detail::is_not_coordinator(err)) {
          self->conn->impl().router().forget_coordinator(self->cfg.group_id);
        }
        return;
      }
      self->adopt(from_rpc(resp.getResult()));
    });
  }

  kj::Promise<void> heartbeat_once() {
    std::string member;
    int32_t gen = 0;
    {
      std::lock_guard lk(mu);
      if (!subscribed || closed) return kj::READY_NOW;
      member = group.member_id;
      gen = group.generation;
    }
    auto& ci = conn->impl();
    std::weak_ptr<impl> weak = shared_from_this();
    auto p = ci.router()
                 .coordinator_client(cfg.group_id)
                 .then([weak, member, gen](rpc::Broker::Client c) -> kj::Promise<void> {
                   auto self = weak.lock();
                   if (!self) return kj::READY_NOW;
                   if (member.empty()) return self->join_on_loop(c);
                   auto req = c.heartbeatRequest();
                   req.setGroup(self->cfg.group_id);
                   req.setMemberId(member);
                   req.setGeneration(gen);
                   return req.send().then([weak, c](auto&& resp) mutable -> kj::Promise<void> {
                     auto self = weak.lock();
                     if (!self) return kj::READY_NOW;
                     auto err = detail::error_from_rpc(resp.getError());
                     if (!err) {
                       self->adopt(from_rpc(resp.getResult()));
                       return kj::READY_NOW;
                     }
                     if (err.is(errc::unknown_member) || err.is(errc::unknown_group)) {
                       {
                         std::lock_guard lk(self->mu);
                         self->group.member_id.clear();
                       }
                       return self->join_on_loop(c);
                     }
                     if (err.is(errc::stale_generation) || err.is(errc::rebalance_in_progress)) {
                       return self->join_on_loop(c);
                     }
                     if (detail::is_not_coordinator(err)) {
                       self->conn->impl().router().forget_coordinator(self->cfg.group_id);
                     }
                     return kj::READY_NOW;
                   });
                 });
    // Connection trouble: find the coordinator again at the next beat.
    return ci.with_timeout<void>(kj::mv(p), ci.request_timeout()).catch_([weak](kj::Exception&&) {
      if (auto self = weak.lock())
        self->conn->impl().router().forget_coordinator(self->cfg.group_id);
    });
  }

  kj::Promise<void> heartbeat_loop() {
    uint32_t session;
    {
      std::lock_guard lk(mu);
      session = group.session_timeout_ms > 0 ? group.session_timeout_ms : cfg.session_timeout_ms;
    }
    auto interval = std::max<uint32_t>(session / 3, 10);
    std::weak_ptr<impl> weak = shared_from_this();
    return conn->impl()
        .timer()
        .afterDelay(interval * kj::MILLISECONDS)
        .then([weak]() -> kj::Promise<void> {
          auto self = weak.lock();
          if (!self) return kj::READY_NOW;
          return self->heartbeat_once();
        })
        .then([weak]() -> kj::Promise<void> {
          auto self = weak.lock();
          if (!self) return kj::READY_NOW;
          return self->heartbeat_loop();
        });
  }

  void start_heartbeat() {
    conn->impl().post([this] {
      if (!loop) loop = kj::heap<loop_state>();
      if (loop->heartbeating) return;
      loop->heartbeating = true;
      loop->tasks.add(heartbeat_loop());
    });
  }

  // ---- fetch (request built on the loop) ----

  /// Opens the session's fetch stream if needed: openStream, connect to the
  /// stream port, send the token. Fails when the broker has no stream.
  kj::Promise<kj::Own<fetch_stream>> ensure_stream(rpc::Broker::Client c,
                                                   const std::string& address) {
    auto& ci = conn->impl();
    if (!loop) loop = kj::heap<loop_state>();
    auto key = ci.resolve(address);
    uint64_t session = ci.session_id_at(address);
    auto& slot = loop->streams[key];
    if (slot && !slot->broken && slot->session == session) return kj::addRef(*slot);
    slot = nullptr;
    std::string host = ci.host_of(address);
    uint16_t default_port = key.empty() ? conn->broker_info().stream_port : 0;
    return c.openStreamRequest().send().then(
        [this, &ci, session, host, default_port, key](auto&& resp) {
          auto err = detail::error_from_rpc(resp.getError());
          if (err) KJ_FAIL_REQUIRE("actormq: openStream refused", err.to_string());
          auto token = resp.getToken();
          auto tok = kj::heapArray<kj::byte>(token.begin(), token.size());
          uint16_t port = resp.getPort() != 0 ? resp.getPort() : default_port;
          KJ_REQUIRE(port != 0, "actormq: broker has no fetch stream port");
          return ci.io()
              .provider->getNetwork()
              .parseAddress(kj::StringPtr(host.c_str()), port)
              .then([](kj::Own<kj::NetworkAddress> addr) {
                auto p = addr->connect();
                return p.attach(kj::mv(addr));
              })
              .then([tok = kj::mv(tok)](kj::Own<kj::AsyncIoStream> s) mutable {
                auto w = s->write(tok.begin(), tok.size());
                return w.attach(kj::mv(tok)).then([s = kj::mv(s)]() mutable { return kj::mv(s); });
              })
              .then([this, session, key](kj::Own<kj::AsyncIoStream> s) {
                auto fs = kj::refcounted<fetch_stream>();
                fs->stream = kj::mv(s);
                fs->session = session;
                if (!loop) loop = kj::heap<loop_state>();
                loop->streams[key] = kj::addRef(*fs);
                return kj::mv(fs);
              });
        });
  }

  static kj::Promise<std::vector<fetched>> read_stream_bytes(kj::Own<fetch_stream> fs,
                                                             std::vector<fetched> out,
                                                             std::vector<uint64_t> sizes,
                                                             size_t i) {
    while (i < out.size() && sizes[i] == 0) ++i;
    if (i == out.size()) return kj::mv(out);
    auto& dst = out[i].bytes;
    dst.resize(sizes[i]);
    auto* buf = dst.data();
    auto n = sizes[i];
    auto& stream = *fs->stream;
    return stream.read(buf, n, n).then(
        [fs = kj::mv(fs), out = kj::mv(out), sizes = kj::mv(sizes), i](size_t) mutable {
          return read_stream_bytes(kj::mv(fs), kj::mv(out), kj::mv(sizes), i + 1);
        });
  }

  template <typename Response>
  static std::vector<fetched> copy_results(Response& resp, std::vector<uint64_t>* stream_sizes) {
    std::vector<fetched> out;
    for (auto r : resp.getResults()) {
      fetched f;
      f.tp = {r.getTopic(), r.getPartition()};
      f.err = detail::error_from_rpc(r.getError());
      if (f.err) f.hint = detail::hint_from_rpc(r.getError());
      f.high_watermark = r.getHighWatermark();
      f.log_start_offset = r.getLogStartOffset();
      auto rec = r.getRecords();
      f.bytes.assign(reinterpret_cast<const char*>(rec.begin()), rec.size());
      if (stream_sizes) stream_sizes->push_back(r.getStreamBytes());
      out.push_back(std::move(f));
    }
    return out;
  }

  static void fill_request(rpc::Broker::FetchParams::Builder req,
                           const std::vector<fetch_request>& reqs, uint32_t wait_ms,
                           uint32_t min_bytes, bool use_stream) {
    auto list = req.initPartitions(static_cast<unsigned>(reqs.size()));
    for (unsigned i = 0; i < reqs.size(); ++i) {
      list[i].setTopic(reqs[i].tp.topic);
      list[i].setPartition(reqs[i].tp.partition);
      list[i].setOffset(reqs[i].offset);
      list[i].setMaxBytes(reqs[i].max_bytes);
    }
    req.setMaxWaitMs(wait_ms);
    req.setMinBytes(min_bytes);
    req.setUseStream(use_stream);
  }

  detail::cluster_router& router() { return conn->impl().router(); }

  /// One fetch per partition leader (in parallel when there are several),
  /// results merged. Partitions without a known leader wait for the next
  /// poll (metadata is asked for again); a leader that fails gives its
  /// partitions that error.
  result<std::vector<fetched>> fetch(const std::vector<fetch_request>& reqs, uint32_t wait_ms) {
    auto max_age = ms(cfg.metadata_max_age_ms);
    bool want_metadata = false;
    for (const auto& r : reqs) router().track(r.tp.topic);
    std::map<std::string, std::vector<fetch_request>> by_leader;
    for (int round = 0; round < 2; ++round) {
      if (want_metadata || router().refresh_due(max_age)) {
        (void)router().refresh(max_age, want_metadata);
      }
      by_leader.clear();
      want_metadata = false;
      using st = detail::partition_route::status;
      for (const auto& r : reqs) {
        auto rt = router().route(r.tp);
        if (rt.st == st::leader) {
          by_leader[rt.address].push_back(r);
        } else if (rt.st == st::unknown_topic || rt.st == st::unknown_partition) {
          by_leader[""].push_back(r);  // the bootstrap broker's answer says why
        } else {
          want_metadata = true;
        }
      }
      if (!want_metadata) break;
    }
    if (by_leader.empty()) {
      return result<std::vector<fetched>>(errc::broker_unreachable,
                                          "no leader known for the assigned partitions");
    }
    if (by_leader.size() == 1) {
      auto& [address, part] = *by_leader.begin();
      auto r = fetch_from(address, part, wait_ms);
      if (!r && detail::is_connection_error(r.err())) {
        for (const auto& f : part) router().invalidate(f.tp.topic);
      }
      return r;
    }
    std::vector<
        std::pair<const std::vector<fetch_request>*, std::future<result<std::vector<fetched>>>>>
        calls;
    for (auto& [address, part] : by_leader) {
      calls.emplace_back(&part, std::async(std::launch::async, [this, &address, &part, wait_ms] {
        return fetch_from(address, part, wait_ms);
      }));
    }
    std::vector<fetched> out;
    for (auto& [part, fut] : calls) {
      auto r = fut.get();
      if (r) {
        for (auto& f : *r) out.push_back(std::move(f));
        continue;
      }
      for (const auto& f : *part) {
        if (detail::is_connection_error(r.err())) router().invalidate(f.tp.topic);
        out.push_back(fetched{f.tp, r.err(), {}, -1, -1, {}});
      }
    }
    return out;
  }

  /// One fetch from the broker at address ("" = bootstrap).
  result<std::vector<fetched>> fetch_from(const std::string& address,
                                          const std::vector<fetch_request>& reqs,
                                          uint32_t wait_ms) {
    auto timeout = ms(wait_ms) + ms(conn->config().request_timeout_ms);
    uint32_t min_bytes = cfg.fetch_min_bytes;
    // The broker binds the stream socket when it has read the token, which
    // may be after our first stream fetch arrives: retry that one briefly.
    for (int attempt = 0; cfg.use_fetch_stream && !stream_failed && attempt < 50; ++attempt) {
      auto r = conn->impl().call_sync_at<std::vector<fetched>>(
          address,
          [this, address, reqs, wait_ms, min_bytes](rpc::Broker::Client& c) {
            return ensure_stream(c, address)
                .then([c, reqs, wait_ms, min_bytes](kj::Own<fetch_stream> fs) mutable {
                  auto req = c.fetchRequest();
                  fill_request(req, reqs, wait_ms, min_bytes, true);
                  return req.send().then([fs = kj::mv(fs)](auto&& resp) mutable {
                    std::vector<uint64_t> sizes;
                    auto out = copy_results(resp, &sizes);
                    auto* raw = fs.get();
                    return read_stream_bytes(kj::mv(fs), kj::mv(out), kj::mv(sizes), 0)
                        .catch_([raw](kj::Exception&& e) -> std::vector<fetched> {
                          raw->broken = true;  // out of step with the replies now
                          kj::throwFatalException(kj::mv(e));
                        });
                  });
                });
          },
          timeout);
      if (r || !r.err().is(errc::protocol_error)) return r;
      if (r.err().message.find("no fetch stream is attached") != std::string::npos) {
        std::this_thread::sleep_for(ms(20));
        continue;
      }
      // The broker refused the stream (off, or not supported): copy instead.
      stream_failed = true;
    }
    return conn->impl().call_sync_at<std::vector<fetched>>(
        address,
        [reqs, wait_ms, min_bytes](rpc::Broker::Client& c) {
          auto req = c.fetchRequest();
          fill_request(req, reqs, wait_ms, min_bytes, false);
          return req.send().then([](auto&& resp) { return copy_results(resp, nullptr); });
        },
        timeout);
  }

  // ---- user thread ----

  result<void> join_sync() {
    error last;
    for (int attempt = 0; attempt < 20; ++attempt) {
      auto coordinator = router().coordinator(cfg.group_id);
      if (!coordinator) {
        last = coordinator.err();
        if (!is_retriable(last.value())) return last;
        std::this_thread::sleep_for(ms(100));
        continue;
      }
      auto r = conn->impl().call_sync_at<std::pair<join_state, error>>(
          *coordinator, [self = shared_from_this()](rpc::Broker::Client& c) {
            auto req = c.joinGroupRequest();
            {
              std::lock_guard lk(self->mu);
              req.setGroup(self->cfg.group_id);
              req.setMemberId(self->group.member_id);
              auto ts = req.initTopics(static_cast<unsigned>(self->topics.size()));
              for (unsigned i = 0; i < self->topics.size(); ++i) ts.set(i, self->topics[i]);
            }
            req.setClientId(self->cfg.connection.client_id);
            req.setSessionTimeoutMs(self->cfg.session_timeout_ms);
            req.setStrategy(self->cfg.strategy);
            return req.send().then([](auto&& resp) {
              auto err = detail::error_from_rpc(resp.getError());
              return std::make_pair(err ? join_state{} : from_rpc(resp.getResult()), err);
            });
          });
      if (!r) {
        last = r.err();
      } else if (r->second) {
        last = r->second;
        if (last.is(errc::unknown_member)) {
          std::lock_guard lk(mu);
          group.member_id.clear();
        }
      } else {
        adopt(r->first);
        return {};
      }
      bool moved = detail::is_not_coordinator(last) || detail::is_connection_error(last);
      if (moved) router().forget_coordinator(cfg.group_id);
      if (!moved && !last.is(errc::rebalance_in_progress) && !last.is(errc::unknown_member) &&
          !is_retriable(last.value())) {
        return last;
      }
      std::this_thread::sleep_for(ms(100));
    }
    return last;
  }

  /// Takes over the latest assignment and finds a start offset for every
  /// partition that has none: committed offset, else auto_offset_reset.
  error adopt_assignment() {
    std::vector<topic_partition> next;
    uint64_t version;
    {
      std::lock_guard lk(mu);
      version = group_version;
      if (version != adopted_version) next = group.assignment;
    }
    if (version != adopted_version) {
      std::set<topic_partition> keep(next.begin(), next.end());
      for (auto it = positions.begin(); it != positions.end();) {
        it = keep.count(it->first) ? std::next(it) : positions.erase(it);
      }
      for (auto it = consumed.begin(); it != consumed.end();) {
        it = keep.count(it->first) ? std::next(it) : consumed.erase(it);
      }
      std::erase_if(buffered, [&keep](const buffered_view& b) {
        return keep.count(topic_partition{b.owner->topic, b.v.partition}) == 0;
      });
      assignment = std::move(next);
      adopted_version = version;
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
    size_t n = std::min(buffered.size(), std::max<size_t>(cfg.max_poll_records, 1));
    std::vector<message_view> views;
    views.reserve(n);
    std::vector<message_batch::owner> owners;
    const fetched_buffer* last = nullptr;  // one buffer per partition fetch
    int64_t* consumed_at = nullptr;
    for (size_t i = 0; i < n; ++i) {
      auto& b = buffered.front();
      if (b.owner.get() != last) {
        last = b.owner.get();
        owners.push_back(b.owner);
        consumed_at = &consumed[topic_partition{b.owner->topic, b.v.partition}];
      }
      *consumed_at = b.v.offset + 1;
      views.push_back(std::move(b.v));
      buffered.pop_front();
    }
    return message_batch(std::move(views), std::move(owners));
  }

  /// Decodes one partition's fetched batches into buffered, advancing its
  /// position. Returns an error for a corrupt batch.
  error decode(fetched& f) {
    auto it = positions.find(f.tp);
    if (it == positions.end()) return {};  // revoked meanwhile
    int64_t& pos = it->second;
    auto owner = std::make_shared<fetched_buffer>(fetched_buffer{f.tp.topic, std::move(f.bytes)});
    std::string_view topic = owner->topic;
    auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(owner->bytes.data()),
                                          owner->bytes.size());
    // Expiry inputs once per fetch, not per message.
    auto now =
        std::chrono::duration_cast<ms>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::optional<int64_t> ttl;
    if (auto t = topic_ttl_ms.find(f.tp.topic); t != topic_ttl_ms.end()) ttl = t->second;
    error bad;
    size_t used = storage::for_each_batch(bytes, [&](const storage::batch_header& h,
                                                     std::span<const uint8_t> batch) {
      if (bad) return;
      if (cfg.check_crcs) {
        auto v = storage::validate_batch(batch, batch.size(), storage::validation::header_and_crc);
        if (!v) {
          bad = error(errc::protocol_error, "corrupt batch at offset " +
                                                std::to_string(h.base_offset()) + " of " +
                                                f.tp.topic + "-" + std::to_string(f.tp.partition) +
                                                ": " + v.error().message());
          return;
        }
      }
      if (h.next_offset()() <= pos) return;
      if (!h.is_control()) {
        auto st = storage::for_each_record(batch, [&](const storage::record_view& r) {
          if (r.record_offset() < pos) return;
          message_view m;
          m.topic = topic;
          m.partition = f.tp.partition;
          m.offset = r.record_offset();
          m.timestamp_ms = r.timestamp();
          m.key = r.key;
          m.value = r.value;
          if (!r.headers.empty()) {
            m.headers.reserve(r.headers.size());
            for (const auto& hv : r.headers) m.headers.push_back({hv.key, hv.value});
          }
          if (is_expired(m, now, ttl)) {
            expired.push_back(m.to_message());
            return;
          }
          buffered.push_back({std::move(m), owner});
        });
        if (!st) {
          bad = error(errc::protocol_error,
                      "undecodable batch at offset " + std::to_string(h.base_offset()));
          return;
        }
      }
      pos = h.next_offset()();
    });
    if (!bad && used == 0 && !owner->bytes.empty()) {
      // Not even one whole batch fit: ask for more next time.
      auto& size = fetch_sizes[f.tp];
      if (size == 0) size = cfg.fetch_max_bytes_per_partition;
      size = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{size} * 2, uint64_t{256} << 20));
    }
    return bad;
  }

  result<message_batch> poll(ms timeout) {
    {
      std::lock_guard lk(mu);
      if (closed) return result<message_batch>(errc::closed, "consumer closed");
      if (!subscribed) return result<message_batch>(errc::not_subscribed);
    }
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
      auto r = fetch(reqs, wait);
      if (!r) {
        last = r.err();
        if (!is_retriable(last.value())) return last;
        std::this_thread::sleep_for(std::clamp(left, ms(0), ms(100)));
        continue;
      }
      for (auto& f : *r) {
        if (f.err) {
          if (f.err.is(errc::offset_out_of_range)) {
            if (auto e = reset_offset(f.tp)) last = e;
          } else if (detail::is_not_leader(f.err)) {
            router().apply_leader_hint(f.tp, f.hint);  // fetched there next time
          } else {
            if (f.err.is(errc::unknown_topic) || f.err.is(errc::unknown_partition)) {
              router().invalidate(f.tp.topic);
            }
            last = f.err;
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

  static std::optional<int64_t> header_number(const message_view& m, std::string_view key) {
    std::optional<std::string_view> v;
    for (const auto& h : m.headers) {
      if (h.key == key) {
        v = h.value;
        break;
      }
    }
    if (!v) return std::nullopt;
    int64_t n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc{} || end != v->data() + v->size()) return std::nullopt;
    return n;
  }

  /// Past its amq-expires-at, or older than its topic's ttl_ms (by the
  /// origin's timestamp for a retry).
  /// ttl: the ttl_ms of m's topic, if it has one. now: ms since the epoch.
  bool is_expired(const message_view& m, int64_t now, std::optional<int64_t> ttl) const {
    if (!cfg.dead_letter_expired) return false;
    if (m.headers.empty()) return ttl && m.timestamp_ms + *ttl <= now;
    if (auto at = header_number(m, retry_header::expires_at); at && *at <= now) return true;
    if (!ttl) return false;
    auto born = header_number(m, retry_header::original_timestamp).value_or(m.timestamp_ms);
    return born + *ttl <= now;
  }

  struct nack_record {
    topic_partition tp;
    int64_t offset = 0;
    bool reject = false;
    std::string reason;
    std::string error;
    uint32_t deliveries = 0;
  };

  result<void> send_nack(const std::vector<nack_record>& recs) {
    std::string member;
    int32_t gen;
    {
      std::lock_guard lk(mu);
      if (closed) return error(errc::closed, "consumer closed");
      member = group.member_id;
      gen = group.generation;
    }
    auto group_id = cfg.group_id;
    auto coordinator = router().coordinator(group_id);
    if (!coordinator) return coordinator.err();
    auto r = conn->impl().call_sync_at<detail::status_reply>(
        *coordinator,
        [recs, member, gen, group_id](rpc::Broker::Client& c) {
          auto req = c.nackRequest();
          req.setGroup(group_id);
          req.setMemberId(member);
          req.setGeneration(gen);
          auto list = req.initRecords(static_cast<unsigned>(recs.size()));
          for (unsigned i = 0; i < recs.size(); ++i) {
            list[i].setTopic(recs[i].tp.topic);
            list[i].setPartition(recs[i].tp.partition);
            list[i].setOffset(recs[i].offset);
            list[i].setReject(recs[i].reject);
            list[i].setReason(recs[i].reason);
            list[i].setError(recs[i].error);
            list[i].setDeliveries(recs[i].deliveries);
          }
          return req.send().then([](auto&& resp) {
            return detail::status_reply{detail::error_from_rpc(resp.getError())};
          });
        },
        ms(60000));
    auto err = r ? r->err : r.err();
    if (detail::is_not_coordinator(err) || detail::is_connection_error(err)) {
      router().forget_coordinator(group_id);
    }
    if (err) return err;
    return {};
  }

  /// Dead-letters the expired messages decode() set aside. On failure the
  /// partitions concerned are fetched again from the first of them, so
  /// nothing is committed past an expired message that is not in its DLQ.
  error dead_letter_expired() {
    if (expired.empty()) return {};
    std::vector<nack_record> recs;
    for (const auto& m : expired) {
      recs.push_back({{m.topic, m.partition}, m.offset, false, "ttl_expired", "expired", 0});
    }
    auto r = send_nack(recs);
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
        std::erase_if(buffered, [&](const buffered_view& b) {
          return b.v.topic == tp.topic && b.v.partition == tp.partition && b.v.offset >= off;
        });
      }
    }
    expired.clear();
    return e;
  }

  result<void> nack(const message& m, const std::string& text, bool reject) {
    topic_partition tp{m.topic, m.partition};
    if (reject) return send_nack({{tp, m.offset, true, "", text, 0}});
    if (!cfg.strict_order) return send_nack({{tp, m.offset, false, "", text, 0}});
    auto key = std::make_pair(tp, m.offset);
    auto deliveries = ++strict_deliveries[key];
    if (deliveries > cfg.strict_max_retries) {
      strict_deliveries.erase(key);
      return send_nack({{tp, m.offset, false, "max_retries", text, deliveries}});
    }
    // Fetch m again once its backoff has passed; nothing after it before.
    if (!positions.count(tp)) return error(errc::not_assigned, "partition no longer assigned");
    positions[tp] = m.offset;
    consumed[tp] = m.offset;
    std::erase_if(buffered, [&tp](const buffered_view& b) {
      return b.v.topic == tp.topic && b.v.partition == tp.partition;
    });
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

  template <typename Done>
  void commit_call(const std::vector<topic_partition_offset>& offsets, Done done) {
    std::string member;
    int32_t gen;
    {
      std::lock_guard lk(mu);
      member = group.member_id;
      gen = group.generation;
    }
    auto group_id = cfg.group_id;
    auto coordinator = router().coordinator(group_id);
    if (!coordinator) {
      done(result<detail::status_reply>(coordinator.err()));
      return;
    }
    std::weak_ptr<impl> weak = shared_from_this();
    auto forget_if_moved = [weak, group_id,
                            done = std::move(done)](result<detail::status_reply> r) mutable {
      auto err = r ? r->err : r.err();
      if (detail::is_not_coordinator(err) || detail::is_connection_error(err)) {
        if (auto self = weak.lock()) self->router().forget_coordinator(group_id);
      }
      done(std::move(r));
    };
    conn->impl().call_at<detail::status_reply>(
        *coordinator,
        [offsets, member, gen, group_id](rpc::Broker::Client& c) {
          auto req = c.commitOffsetsRequest();
          req.setGroup(group_id);
          req.setMemberId(member);
          req.setGeneration(gen);
          auto list = req.initOffsets(static_cast<unsigned>(offsets.size()));
          for (unsigned i = 0; i < offsets.size(); ++i) {
            list[i].setTopic(offsets[i].topic);
            list[i].setPartition(offsets[i].partition);
            list[i].setOffset(offsets[i].offset);
          }
          return req.send().then([](auto&& resp) {
            return detail::status_reply{detail::error_from_rpc(resp.getError())};
          });
        },
        std::function<void(result<detail::status_reply>)>(std::move(forget_if_moved)));
  }

  result<void> commit(const std::vector<topic_partition_offset>& offsets) {
    if (offsets.empty()) return {};
    auto prom = std::make_shared<std::promise<result<void>>>();
    auto fut = prom->get_future();
    commit_call(offsets, [prom](result<detail::status_reply> r) {
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
      // The broker creates a retry topic on the first nack too; creating it
      // here lets the group assign it from the start.
      topic_config tc;
      tc.partitions = static_cast<uint32_t>(info->partitions.size());
      if (auto r = impl_->adm.create_topic(rt, tc); !r && !r.err().is(errc::topic_exists)) {
        return r.err();
      }
      if (std::find(all.begin(), all.end(), rt) == all.end()) all.push_back(rt);
    }
  }
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->closed) return error(errc::closed, "consumer closed");
    impl_->topics = all;
    impl_->topic_ttl_ms = std::move(ttls);
    impl_->subscribed = true;
  }
  if (auto r = impl_->join_sync(); !r) {
    std::lock_guard lk(impl_->mu);
    impl_->subscribed = false;
    return r;
  }
  impl_->start_heartbeat();
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
  impl_->commit_call(offsets, [prom](result<detail::status_reply> r) {
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
  std::erase_if(impl_->buffered, [&tp](const buffered_view& b) {
    return b.v.topic == tp.topic && b.v.partition == tp.partition;
  });
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
  std::lock_guard lk(impl_->mu);
  return impl_->group.generation;
}

std::string consumer::member_id() const {
  std::lock_guard lk(impl_->mu);
  return impl_->group.member_id;
}

bool consumer::fetch_stream_active() const {
  return impl_->cfg.use_fetch_stream && !impl_->stream_failed;
}

result<void> consumer::close() {
  std::string member;
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->closed) return {};
    impl_->closed = true;
    member = impl_->group.member_id;
  }
  auto* i = impl_.get();
  impl_->conn->impl().post([i] { i->loop = nullptr; });
  if (member.empty()) return {};
  auto group_id = impl_->cfg.group_id;
  auto coordinator = impl_->router().coordinator(group_id);
  if (!coordinator) return coordinator.err();
  auto r = impl_->conn->impl().call_sync_at<detail::status_reply>(
      *coordinator, [group_id, member](rpc::Broker::Client& c) {
        auto req = c.leaveGroupRequest();
        req.setGroup(group_id);
        req.setMemberId(member);
        return req.send().then([](auto&& resp) {
          return detail::status_reply{detail::error_from_rpc(resp.getError())};
        });
      });
  if (!r) return r.err();
  if (r->err) return r->err;
  return {};
}

}  // namespace actormq::client
