#include "app/broker/broker_server.h"

#include <capnp/rpc-twoparty.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstring>

#include "app/broker/kj_inbox.h"
#include "app/broker/logger.h"

namespace actormq::broker {

namespace {
// A descriptor shortage is retried after this, doubling up to the cap; the
// cap bounds how long a client waits in the backlog once descriptors free.
constexpr std::chrono::milliseconds first_backoff{20};
constexpr std::chrono::milliseconds max_backoff{500};
}  // namespace

struct broker_server::connection {
  kj::Own<kj::AsyncIoStream> stream;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
  uint32_t& counter;

  connection(kj::Own<kj::AsyncIoStream> s, capnp::Capability::Client bootstrap,
             capnp::ReaderOptions opts, uint32_t& count)
      : stream(kj::mv(s)),
        network(*stream, capnp::rpc::twoparty::Side::SERVER, opts),
        rpc(capnp::makeRpcServer(network, kj::mv(bootstrap))),
        counter(count) {
    ++counter;
  }
  ~connection() { --counter; }
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
  ctx_.inbox = std::make_shared<kj_inbox>();
  tasks_.add(ctx_.inbox->run());
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
            slot.name, std::strerror(err), connections_, slot.backoff.count(), *held);
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
  if (connections_ >= ctx_.config->max_connections) {
    if (auto held = refused_log_.admit()) {
      broker_log().warn(
          "refusing connection from {}: {} connections open (max_connections); {} more refused "
          "since the last warning",
          c.peer, connections_, *held);
    }
    return;  // dropping the stream closes it
  }
  capnp::Capability::Client bootstrap = kj::heap<rpc_service>(ctx_, c.peer);
  auto conn =
      kj::heap<connection>(kj::mv(c.stream), kj::mv(bootstrap), reader_options_, connections_);
  auto done = conn->network.onDisconnect();
  tasks_.add(done.attach(kj::mv(conn)));
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
