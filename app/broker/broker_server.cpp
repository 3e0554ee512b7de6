#include "app/broker/broker_server.h"

#include <capnp/rpc-twoparty.h>
#include <capnp/rpc.capnp.h>
#include <capnp/serialize-async.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "app/broker/flow_stream.h"
#include "app/broker/logger.h"
#include "app/kj_support/buffered_read_stream.h"
#include "app/kj_support/kj_inbox.h"

namespace actormq::broker {

namespace {
// A descriptor shortage is retried after this, doubling up to the cap; the
// cap bounds how long a client waits in the backlog once descriptors free.
constexpr std::chrono::milliseconds first_backoff{20};
constexpr std::chrono::milliseconds max_backoff{500};

// Reads and drops what s sends until it hangs up.
kj::Promise<void> drain(kj::AsyncIoStream& s, kj::Array<kj::byte>& buf) {
  return s.tryRead(buf.begin(), 1, buf.size()).then([&s, &buf](size_t n) -> kj::Promise<void> {
    if (n == 0) return kj::READY_NOW;
    return drain(s, buf);
  });
}
}  // namespace

struct broker_server::connection {
  std::shared_ptr<connection_flow> flow;
  flow_stream stream;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
  std::string peer;
  connection_flow::clock::time_point accepted = connection_flow::clock::now();
  /// Removes it from live_ once the client hangs up (destroyed first).
  kj::Promise<void> watch = nullptr;

  connection(kj::Own<kj::AsyncIoStream> s, std::shared_ptr<connection_flow> f,
             capnp::Capability::Client bootstrap, capnp::ReaderOptions opts, std::string p)
      : flow(std::move(f)),
        // One read(2) for the pieces of the messages that came together.
        stream(kj::heap<kj_support::buffered_read_stream>(kj::mv(s)), flow),
        network(stream, capnp::rpc::twoparty::Side::SERVER, opts),
        rpc(capnp::makeRpcServer(network, kj::mv(bootstrap))),
        peer(std::move(p)) {}
};

broker_server::broker_server(kj::AsyncIoContext& io, service_context ctx)
    : io_(io), ctx_(std::move(ctx)), tasks_(*this) {
  ctx_.streams = &streams_;
  ctx_.timer = &io_.provider->getTimer();
  // Room for the largest batch plus framing, on both directions of the call.
  uint64_t words = std::max<uint64_t>(64ull << 20, ctx_.config->max_batch_bytes * 2) / 8;
  reader_options_.traversalLimitInWords = words;
  auto paf = kj::newPromiseAndFulfiller<std::string>();
  failed_fulfiller_ = kj::mv(paf.fulfiller);
  failed_promise_ = kj::mv(paf.promise);
  // Created on this (the KJ) thread, as the inbox's fulfillers must be.
  ctx_.inbox = std::make_shared<kj_inbox>([](std::string_view what) {
    broker_log().error("kj inbox: a posted function failed: {}", what);
  });
  tasks_.add(ctx_.inbox->run());
  if (ctx_.config->idle_timeout_ms > 0) tasks_.add(idle_sweep());
}

broker_server::~broker_server() {
  ctx_.inbox->close();
}

void broker_server::taskFailed(kj::Exception&& e) {
  // Per-connection tasks only: the accept loops never reject (see
  // accept_loop), and one connection's end concerns nobody else.
  broker_log().debug("connection task ended: {}", e.getDescription().cStr());
}

kj::Promise<std::string> broker_server::failed() {
  KJ_IF_MAYBE (p, failed_promise_) {
    auto out = kj::mv(*p);
    failed_promise_ = nullptr;
    return out;
  }
  return kj::NEVER_DONE;
}

void broker_server::fail(std::string why) {
  broker_log().error("{}", why);
  if (failed_fulfiller_->isWaiting()) failed_fulfiller_->fulfill(kj::mv(why));
}

uint16_t broker_server::listen(const std::string& host, uint16_t port, int32_t stream_port) {
  rpc_.socket = kj::heap<tcp_listener>(io_, host, port);
  // Clients see this broker as the address it really bound.
  ctx_.broker_id = fmt::format("{}:{}", host, rpc_.socket->port());
  if (stream_port >= 0) {
    stream_.socket = kj::heap<tcp_listener>(io_, host, static_cast<uint16_t>(stream_port));
    stream_.stream = true;
    ctx_.stream_port = stream_.socket->port();
  }
  return rpc_.socket->port();
}

void broker_server::serve() {
  for (auto* slot : {&rpc_, &stream_}) {
    if (!slot->socket) continue;
    // accept_loop handles every accept error itself; anything else that
    // escapes is a bug that must not leave a broker that looks alive.
    tasks_.add(accept_loop(*slot).catch_([this, slot](kj::Exception&& e) {
      fail(fmt::format("{} listener stopped: {}", slot->name, e.getDescription().cStr()));
    }));
  }
}

kj::Promise<void> broker_server::accept_loop(listener_slot& slot) {
  return slot.socket->accept().then([this, &slot](accepted_connection c) -> kj::Promise<void> {
    if (c.error != 0) return on_accept_error(slot, c.error);
    slot.backoff = std::chrono::milliseconds(0);
    auto peer = c.peer;
    // Whatever goes wrong while setting up one connection is that
    // connection's failure; the loop goes on to the next.
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() {
                   if (slot.stream) {
                     tasks_.add(bind_stream(kj::mv(c)));
                   } else {
                     serve_rpc(kj::mv(c));
                   }
                 })) {
      broker_log().warn("{} connection from {} dropped: {}", slot.name, peer,
                        e->getDescription().cStr());
    }
    // accept4 answers at once while the backlog holds connections: every
    // 16 a turn through the timer lets the event loop poll the sockets, so
    // a flood of connections does not hold up the requests of others.
    if (++slot.accepted_in_a_row % 16 == 0) {
      return io_.provider->getTimer().afterDelay(0 * kj::MILLISECONDS).then([this, &slot]() {
        return accept_loop(slot);
      });
    }
    return accept_loop(slot);
  });
}

kj::Promise<void> broker_server::on_accept_error(listener_slot& slot, int err) {
  switch (classify_accept_errno(err)) {
    case accept_failure::transient:
      broker_log().debug("{} accept: {} (that connection is dropped)", slot.name,
                         std::strerror(err));
      return accept_loop(slot);
    case accept_failure::overloaded: {
      slot.backoff =
          slot.backoff.count() == 0 ? first_backoff : std::min(slot.backoff * 2, max_backoff);
      if (auto held = slot.shortage_log.admit()) {
        broker_log().warn(
            "{} accept: {}; new clients wait while {} connections are open, retrying every "
            "{} ms ({} more such failures since the last warning)",
            slot.name, std::strerror(err), live_.size(), slot.backoff.count(), *held);
      }
      return io_.provider->getTimer()
          .afterDelay(slot.backoff.count() * kj::MILLISECONDS)
          .then([this, &slot]() { return accept_loop(slot); });
    }
    case accept_failure::fatal:
      break;
  }
  fail(fmt::format("{} listener cannot accept: {}", slot.name, std::strerror(err)));
  return kj::READY_NOW;
}

void broker_server::serve_rpc(accepted_connection c) {
  if (live_.size() >= ctx_.config->max_connections && !evict_one_idle()) {
    if (auto held = refused_log_.admit()) {
      broker_log().warn(
          "refusing connection from {}: {} connections open (max_connections), none idle for "
          "{} ms; {} more refused since the last warning",
          c.peer, live_.size(), ctx_.config->evict_idle_ms, *held);
    }
    tasks_.add(refuse(kj::mv(c.stream),
                      fmt::format("actormq: broker at its connection limit ({} connections, "
                                  "max_connections), none idle; try again later",
                                  live_.size())));
    return;
  }
  auto flow = std::make_shared<connection_flow>(ctx_.config->max_calls_per_connection,
                                                ctx_.config->max_unwritten_reply_bytes,
                                                ctx_.rpc_stats.get());
  capnp::Capability::Client bootstrap = kj::heap<rpc_service>(ctx_, c.peer, flow);
  auto conn = kj::heap<connection>(kj::mv(c.stream), kj::mv(flow), kj::mv(bootstrap),
                                   reader_options_, c.peer);
  const uint64_t id = next_connection_id_++;
  // (kj's then() keeps a reference to an lvalue function: each
  // continuation below holds its own copy.)
  auto gone = [this, id]() {
    // Not destroyed here, inside its own continuation: on the next turn.
    auto it = live_.find(id);
    if (it == live_.end()) return;
    auto own = kj::mv(it->second);
    live_.erase(it);
    tasks_.add(kj::evalLater([own = kj::mv(own)]() mutable { own = nullptr; }));
  };
  conn->watch = conn->network.onDisconnect()
                    .then([gone]() { gone(); }, [gone](kj::Exception&&) { gone(); })
                    .eagerlyEvaluate(nullptr);
  live_.emplace(id, kj::mv(conn));
}

void broker_server::close_connection(uint64_t id) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  auto own = kj::mv(it->second);
  live_.erase(it);
  own = nullptr;  // the socket closes now: its client sees the connection end
}

bool broker_server::evict_one_idle() {
  // First a connection that never sent a request (oldest first, at any
  // age: a flood of silent connections must not keep clients that work
  // out), else the one with nothing in flight for the longest, if that is
  // evict_idle_ms at least.
  using tp = connection_flow::clock::time_point;
  connection* silent = nullptr;
  connection* oldest = nullptr;
  uint64_t silent_id = 0, oldest_id = 0;
  for (auto& [id, own] : live_) {
    connection* conn = own.get();
    if (conn->flow->calls() > 0) continue;
    if (!conn->flow->spoken()) {
      if (silent == nullptr || conn->accepted < silent->accepted) {
        silent = conn;
        silent_id = id;
      }
    } else if (oldest == nullptr || conn->flow->idle_since() < oldest->flow->idle_since()) {
      oldest = conn;
      oldest_id = id;
    }
  }
  auto now = connection_flow::clock::now();
  connection* victim = silent;
  uint64_t victim_id = silent_id;
  tp since = silent ? silent->accepted : tp::max();
  if (victim == nullptr && oldest != nullptr &&
      now - oldest->flow->idle_since() >= std::chrono::milliseconds(ctx_.config->evict_idle_ms)) {
    victim = oldest;
    victim_id = oldest_id;
    since = oldest->flow->idle_since();
  }
  if (victim == nullptr) return false;
  if (auto held = evicted_log_.admit()) {
    broker_log().warn(
        "at max_connections ({}): closed the connection from {} ({}, idle for {} ms) for a new "
        "one; {} more since the last warning",
        ctx_.config->max_connections, victim->peer,
        victim->flow->spoken() ? "idle" : "never sent a request",
        std::chrono::duration_cast<std::chrono::milliseconds>(now - since).count(), *held);
  }
  if (ctx_.rpc_stats) ctx_.rpc_stats->connection_evicted();
  close_connection(victim_id);
  return true;
}

kj::Promise<void> broker_server::idle_sweep() {
  return io_.provider->getTimer().afterDelay(1 * kj::SECONDS).then([this]() {
    auto limit = std::chrono::milliseconds(ctx_.config->idle_timeout_ms);
    auto now = connection_flow::clock::now();
    std::vector<uint64_t> idle;
    for (auto& [id, conn] : live_) {
      auto since = conn->flow->idle_since();
      if (since == connection_flow::clock::time_point::max() || now - since < limit) continue;
      broker_log().debug("closing the connection from {}: idle for {} ms (idle_timeout_ms)",
                         conn->peer, limit.count());
      idle.push_back(id);
    }
    for (auto id : idle) {
      if (ctx_.rpc_stats) ctx_.rpc_stats->connection_idle_closed();
      close_connection(id);
    }
    return idle_sweep();
  });
}

kj::Promise<void> broker_server::refuse(kj::Own<kj::AsyncIoStream> stream, std::string reason) {
  if (ctx_.rpc_stats) ctx_.rpc_stats->connection_refused();
  auto message = kj::heap<capnp::MallocMessageBuilder>(64);
  auto abort = message->initRoot<capnp::rpc::Message>().initAbort();
  abort.setReason(reason);
  abort.setType(capnp::rpc::Exception::Type::OVERLOADED);
  auto& s = *stream;
  auto buf = kj::heapArray<kj::byte>(4096);
  auto& b = buf;
  // Written, then what the client sent is read until it hangs up, for at
  // most 500 ms and for at most 64 refused connections at once: closing
  // with unread bytes resets the connection, and a reset may drop the
  // Abort before the client reads it.
  const bool linger = refusing_ < 64;
  auto written = capnp::writeMessage(s, *message).then([&s, &b, linger]() -> kj::Promise<void> {
    s.shutdownWrite();
    if (!linger) return kj::READY_NOW;
    return drain(s, b);
  });
  ++refusing_;
  return io_.provider->getTimer()
      .timeoutAfter(500 * kj::MILLISECONDS, kj::mv(written))
      .attach(kj::mv(message), kj::mv(stream), kj::mv(buf), kj::defer([this] { --refusing_; }));
}

kj::Promise<void> broker_server::bind_stream(accepted_connection c) {
  auto buf = kj::heapArray<kj::byte>(16);
  auto& s = *c.stream;
  auto read = s.read(buf.begin(), buf.size());
  return io_.provider->getTimer()
      .timeoutAfter(5 * kj::SECONDS, kj::mv(read))
      .then([this, stream = kj::mv(c.stream), peer = kj::mv(c.peer), buf = kj::mv(buf)]() mutable {
        std::string token(reinterpret_cast<const char*>(buf.begin()), buf.size());
        auto* service = streams_.find(token);
        int fd = -1;
        KJ_IF_MAYBE (f, stream->getFd()) {
          fd = ::dup(*f);
        }
        if (service != nullptr && fd < 0) {
          if (auto held = stream_.shortage_log.admit()) {
            broker_log().warn(
                "fetch stream from {} closed: dup: {} ({} more since the last warning)", peer,
                std::strerror(errno), *held);
          }
          return;
        }
        if (service == nullptr) {
          if (fd >= 0) ::close(fd);
          if (auto held = unknown_token_log_.admit()) {
            broker_log().warn(
                "fetch stream from {} presented an unknown token; closed ({} more since the last "
                "warning)",
                peer, *held);
          }
          return;
        }
        service->attach_stream(kj::heap<fetch_stream>(io_.unixEventPort, kj::mv(stream), fd));
      });
}

}  // namespace actormq::broker
