#include "fetcher.h"

#include <kj/debug.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "cluster_router.h"
#include "connection_impl.h"

namespace actormq::client::detail {

namespace {

using ms = std::chrono::milliseconds;

/// The zero-copy fetch stream of one RPC session, shared by the fetches that
/// read from it (loop thread only).
struct fetch_stream : kj::Refcounted {
  kj::Own<kj::AsyncIoStream> stream;
  uint64_t session = 0;
  /// Out of step with the replies: a fetch on it did not finish (an error, or
  /// a timeout that cancelled it). The next fetch opens a new stream, which
  /// retires this one on the broker.
  bool broken = false;
  /// The last read queued. Replies are read in the order they arrive, which
  /// is the order the broker queued their bytes; destroyed first (it uses
  /// stream).
  kj::ForkedPromise<void> reading = kj::Promise<void>(kj::READY_NOW).fork();
};

/// Marks its stream broken unless the fetch holding it finished: from the
/// request on, a fetch cut short may leave bytes on the stream that no one
/// reads, or a read waiting for bytes that never come.
struct stream_guard {
  explicit stream_guard(kj::Own<fetch_stream> s) : fs(kj::mv(s)) {}
  ~stream_guard() {
    if (!done) fs->broken = true;
  }
  KJ_DISALLOW_COPY(stream_guard);
  kj::Own<fetch_stream> fs;
  bool done = false;
};

/// In the message of an error that means the broker has no fetch stream for
/// us (off, or not supported): the copying path from then on.
constexpr const char* stream_refused = "actormq: fetch stream refused";
/// The stream broke or is not attached yet: a new stream, and the fetch
/// again, are worth trying.
bool is_stream_trouble(const std::string& message) {
  return message.find("fetch stream") != std::string::npos ||
         message.find("never opened a stream") != std::string::npos;
}

}  // namespace

struct fetcher::impl {
  /// Loop-thread state, created and destroyed there.
  struct loop_state {
    /// Fetch streams by leader address ("" = the bootstrap broker).
    std::map<std::string, kj::Own<fetch_stream>> streams;
  };

  impl(std::shared_ptr<connection> c, const consumer_config& cf) : conn(std::move(c)), cfg(cf) {}

  std::shared_ptr<connection> conn;
  consumer_config cfg;
  std::atomic<bool> stream_failed{false};
  kj::Own<loop_state> loop;

  /// A fetch from one broker in flight on a thread of its own. With several
  /// leaders a poll returns with the first answers and takes the others at
  /// a later poll, so an idle broker's long poll never holds back another
  /// broker's records (Kafka's consumer does the same).
  struct call {
    std::vector<fetch_request> part;
    std::optional<result<std::vector<fetched>>> res;  ///< guarded by calls_mu
  };
  std::mutex calls_mu;
  std::condition_variable calls_cv;
  std::vector<std::shared_ptr<call>> in_flight;  ///< the user thread's

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
          auto err = error_from_rpc(resp.getError());
          if (err) KJ_FAIL_REQUIRE(stream_refused, err.to_string());
          auto token = resp.getToken();
          auto tok = kj::heapArray<kj::byte>(token.begin(), token.size());
          uint16_t port = resp.getPort() != 0 ? resp.getPort() : default_port;
          KJ_REQUIRE(port != 0, stream_refused, "the broker has no fetch stream port");
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

  static kj::Promise<std::vector<fetched>> read_stream_bytes(kj::AsyncIoStream& stream,
                                                             std::vector<fetched> out,
                                                             std::vector<uint64_t> sizes,
                                                             size_t i) {
    while (i < out.size() && sizes[i] == 0) ++i;
    if (i == out.size()) return kj::mv(out);
    auto n = sizes[i];
    auto* buf = out[i].bytes.resize_for_overwrite(n);
    return stream.read(buf, n, n).then(
        [&stream, out = kj::mv(out), sizes = kj::mv(sizes), i, n](size_t got) mutable {
          // The buffer is not zero-filled: all of it must have come.
          KJ_REQUIRE(got == n, "actormq: the fetch stream ended early");
          return read_stream_bytes(stream, kj::mv(out), kj::mv(sizes), i + 1);
        });
  }

  /// One fetch on the stream: the request, then its bytes read after every
  /// read queued before them.
  static kj::Promise<std::vector<fetched>> fetch_on_stream(rpc::Broker::Client c,
                                                           kj::Own<fetch_stream> s,
                                                           const std::vector<fetch_request>& reqs,
                                                           uint32_t wait_ms, uint32_t min_bytes) {
    auto guard = kj::heap<stream_guard>(kj::mv(s));
    auto req = c.fetchRequest();
    fill_request(req, reqs, wait_ms, min_bytes, true);
    return req.send().then([guard = kj::mv(guard)](auto&& resp) mutable {
      std::vector<uint64_t> sizes;
      auto out = copy_results(resp, &sizes);
      fetch_stream* fs = guard->fs.get();
      auto got = std::make_shared<std::vector<fetched>>();
      auto read = fs->reading.addBranch()
                      .then([fs, out = kj::mv(out), sizes = kj::mv(sizes), got]() mutable {
                        KJ_REQUIRE(!fs->broken, "actormq: the fetch stream broke");
                        return read_stream_bytes(*fs->stream, kj::mv(out), kj::mv(sizes), 0)
                            .then([got](std::vector<fetched> v) { *got = kj::mv(v); });
                      })
                      .fork();
      // The next read waits for this one, whatever becomes of it (a failed
      // read breaks the stream, and the reads after it fail at once).
      fs->reading = read.addBranch().catch_([fs](kj::Exception&&) { fs->broken = true; }).fork();
      return read.addBranch().then([guard = kj::mv(guard), got]() mutable {
        guard->done = true;
        return kj::mv(*got);
      });
    });
  }

  template <typename Response>
  static std::vector<fetched> copy_results(Response& resp, std::vector<uint64_t>* stream_sizes) {
    std::vector<fetched> out;
    for (auto r : resp.getResults()) {
      fetched f;
      f.tp = {r.getTopic(), r.getPartition()};
      f.err = error_from_rpc(r.getError());
      if (f.err) f.hint = hint_from_rpc(r.getError());
      f.high_watermark = r.getHighWatermark();
      f.log_start_offset = r.getLogStartOffset();
      auto rec = r.getRecords();
      f.bytes.assign(std::string_view(reinterpret_cast<const char*>(rec.begin()), rec.size()));
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

  cluster_router& router() { return conn->impl().router(); }

  /// One fetch per partition leader (in parallel when there are several),
  /// results merged. Partitions without a known leader wait for the next
  /// poll (metadata is asked for again); a leader that fails gives its
  /// partitions that error.
  /// Moves the answers of finished calls into out (a failed call gives each
  /// of its partitions the error). Caller holds calls_mu.
  void harvest(std::vector<fetched>& out) {
    for (auto it = in_flight.begin(); it != in_flight.end();) {
      auto& c = **it;
      if (!c.res) {
        ++it;
        continue;
      }
      if (*c.res) {
        for (auto& f : **c.res) out.push_back(std::move(f));
      } else {
        const auto& err = c.res->err();
        for (const auto& f : c.part) {
          if (is_connection_error(err)) router().invalidate(f.tp.topic);
          out.push_back(fetched{f.tp, err, {}, -1, -1, {}, f.offset});
        }
      }
      it = in_flight.erase(it);
    }
  }

  result<std::vector<fetched>> fetch(const std::shared_ptr<impl>& self,
                                     const std::vector<fetch_request>& all, uint32_t wait_ms) {
    std::vector<fetched> out;
    std::vector<fetch_request> reqs;
    {
      std::lock_guard lk(calls_mu);
      harvest(out);
      if (!out.empty()) return out;
      // Partitions asked for by a call still in flight wait for its answer.
      std::set<topic_partition> asked;
      for (const auto& c : in_flight) {
        for (const auto& f : c->part) asked.insert(f.tp);
      }
      for (const auto& r : all) {
        if (!asked.count(r.tp)) reqs.push_back(r);
      }
    }
    auto max_age = ms(cfg.metadata_max_age_ms);
    bool want_metadata = false;
    for (const auto& r : reqs) router().track(r.tp.topic);
    std::map<std::string, std::vector<fetch_request>> by_leader;
    for (int round = 0; round < 2 && !reqs.empty(); ++round) {
      if (want_metadata || router().refresh_due(max_age)) {
        (void)router().refresh(max_age, want_metadata);
      }
      by_leader.clear();
      want_metadata = false;
      using st = partition_route::status;
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
    bool none_in_flight;
    {
      std::lock_guard lk(calls_mu);
      none_in_flight = in_flight.empty();
    }
    if (by_leader.empty() && none_in_flight) {
      return result<std::vector<fetched>>(errc::broker_unreachable,
                                          "no leader known for the assigned partitions");
    }
    if (by_leader.size() == 1 && none_in_flight) {
      auto& [address, part] = *by_leader.begin();
      auto r = fetch_from(address, part, wait_ms);
      if (!r && is_connection_error(r.err())) {
        for (const auto& f : part) router().invalidate(f.tp.topic);
      }
      return r;
    }
    for (auto& [address, part] : by_leader) {
      auto c = std::make_shared<call>();
      c->part = part;
      {
        std::lock_guard lk(calls_mu);
        in_flight.push_back(c);
      }
      std::thread([self, c, address = address, wait_ms] {
        auto r = self->fetch_from(address, c->part, wait_ms);
        std::lock_guard lk(self->calls_mu);
        c->res = std::move(r);
        self->calls_cv.notify_all();
      }).detach();
    }
    // Until the first answer; the others are taken by a later poll. Every
    // call ends by its wait plus the request timeout.
    auto until = std::chrono::steady_clock::now() + ms(wait_ms) +
                 ms(conn->config().request_timeout_ms) + ms(1000);
    std::unique_lock lk(calls_mu);
    calls_cv.wait_until(lk, until, [&] {
      for (const auto& c : in_flight) {
        if (c->res) return true;
      }
      return false;
    });
    harvest(out);
    return out;
  }

  /// One fetch from the broker at address ("" = bootstrap), each answer
  /// stamped with the offset it was asked from.
  result<std::vector<fetched>> fetch_from(const std::string& address,
                                          const std::vector<fetch_request>& reqs,
                                          uint32_t wait_ms) {
    auto r = fetch_raw(address, reqs, wait_ms);
    if (!r) return r;
    for (auto& f : *r) {
      for (const auto& q : reqs) {
        if (q.tp == f.tp) f.requested_offset = q.offset;
      }
    }
    return r;
  }

  result<std::vector<fetched>> fetch_raw(const std::string& address,
                                         const std::vector<fetch_request>& reqs, uint32_t wait_ms) {
    auto timeout = ms(wait_ms) + ms(conn->config().request_timeout_ms);
    uint32_t min_bytes = cfg.fetch_min_bytes;
    // The broker binds the stream socket when it has read the token, which
    // may be after our first stream fetch arrives, and a stream that broke is
    // replaced: retry such a fetch briefly, on a new stream.
    for (int attempt = 0; cfg.use_fetch_stream && !stream_failed && attempt < 50; ++attempt) {
      auto r = conn->impl().call_sync_at<std::vector<fetched>>(
          address,
          [this, address, reqs, wait_ms, min_bytes](rpc::Broker::Client& c) {
            return ensure_stream(c, address)
                .then([c, reqs, wait_ms, min_bytes](kj::Own<fetch_stream> fs) mutable {
                  return fetch_on_stream(c, kj::mv(fs), reqs, wait_ms, min_bytes);
                });
          },
          timeout);
      if (r || !r.err().is(errc::protocol_error)) return r;
      if (r.err().message.find(stream_refused) != std::string::npos) {
        stream_failed = true;  // off, or not supported: copy from now on
        break;
      }
      if (!is_stream_trouble(r.err().message)) return r;  // the fetch itself was refused
      std::this_thread::sleep_for(ms(20));
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
};

fetcher::fetcher(std::shared_ptr<connection> conn, const consumer_config& cfg)
    : impl_(std::make_shared<impl>(std::move(conn), cfg)) {}

result<std::vector<fetched>> fetcher::fetch(const std::vector<fetch_request>& reqs,
                                            uint32_t wait_ms) {
  return impl_->fetch(impl_, reqs, wait_ms);
}

fetcher::failure fetcher::route_failure(const fetched& f) {
  auto& router = impl_->conn->impl().router();
  if (f.err.is(errc::offset_out_of_range)) return failure::out_of_range;
  if (is_not_leader(f.err)) {
    router.apply_leader_hint(f.tp, f.hint);
    return failure::moved;
  }
  if (f.err.is(errc::unknown_topic) || f.err.is(errc::unknown_partition)) {
    router.invalidate(f.tp.topic);
  }
  return failure::failed;
}

bool fetcher::stream_active() const {
  return impl_->cfg.use_fetch_stream && !impl_->stream_failed;
}

void fetcher::close() {
  auto* i = impl_.get();
  impl_->conn->impl().post([i] { i->loop = nullptr; });
}

}  // namespace actormq::client::detail
