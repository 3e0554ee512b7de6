#include "app/broker/broker_server.h"

#include <arpa/inet.h>
#include <capnp/rpc-twoparty.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app/broker/kj_inbox.h"
#include "app/broker/logger.h"

namespace actormq::broker {

namespace {
std::string peer_of(kj::AsyncIoStream& s) {
  sockaddr_storage ss{};
  kj::uint len = sizeof(ss);
  s.getpeername(reinterpret_cast<sockaddr*>(&ss), &len);
  char buf[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf));
    port = ntohs(a->sin6_port);
  }
  return fmt::format("{}:{}", buf, port);
}
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
  // Created on this (the KJ) thread, as the inbox's fulfillers must be.
  ctx_.inbox = std::make_shared<kj_inbox>();
  tasks_.add(ctx_.inbox->run());
}

broker_server::~broker_server() {
  ctx_.inbox->close();
}

void broker_server::taskFailed(kj::Exception&& e) {
  broker_log().debug("connection task ended: {}", e.getDescription().cStr());
}

kj::Promise<uint16_t> broker_server::listen(const std::string& host, uint16_t port,
                                            int32_t stream_port) {
  auto& net = io_.provider->getNetwork();
  return net.parseAddress(host, port)
      .then([this](kj::Own<kj::NetworkAddress> addr) {
        rpc_listener_ = addr->listen();
        tasks_.add(accept_loop(*rpc_listener_));
        return rpc_listener_->getPort();
      })
      .then([this, &net, host, stream_port](uint16_t rpc_port) -> kj::Promise<uint16_t> {
        if (stream_port < 0) return rpc_port;
        return net.parseAddress(host, static_cast<uint16_t>(stream_port))
            .then([this, rpc_port](kj::Own<kj::NetworkAddress> addr) {
              stream_listener_ = addr->listen();
              ctx_.stream_port = static_cast<uint16_t>(stream_listener_->getPort());
              tasks_.add(stream_accept_loop(*stream_listener_));
              return rpc_port;
            });
      });
}

kj::Promise<void> broker_server::accept_loop(kj::ConnectionReceiver& listener) {
  return listener.accept().then([this, &listener](kj::Own<kj::AsyncIoStream> stream) {
    auto peer = peer_of(*stream);
    if (connections_ >= ctx_.config->max_connections) {
      broker_log().warn("refusing connection from {}: {} connections open (max_connections)", peer,
                        connections_);
    } else {
      capnp::Capability::Client bootstrap = kj::heap<rpc_service>(ctx_, peer);
      auto conn =
          kj::heap<connection>(kj::mv(stream), kj::mv(bootstrap), reader_options_, connections_);
      auto done = conn->network.onDisconnect();
      tasks_.add(done.attach(kj::mv(conn)));
    }
    return accept_loop(listener);
  });
}

kj::Promise<void> broker_server::stream_accept_loop(kj::ConnectionReceiver& listener) {
  return listener.accept().then([this, &listener](kj::Own<kj::AsyncIoStream> stream) {
    tasks_.add(bind_stream(kj::mv(stream)));
    return stream_accept_loop(listener);
  });
}

kj::Promise<void> broker_server::bind_stream(kj::Own<kj::AsyncIoStream> stream) {
  auto buf = kj::heapArray<kj::byte>(16);
  auto& s = *stream;
  auto read = s.read(buf.begin(), buf.size());
  return io_.provider->getTimer()
      .timeoutAfter(5 * kj::SECONDS, kj::mv(read))
      .then([this, stream = kj::mv(stream), buf = kj::mv(buf)]() mutable {
        std::string token(reinterpret_cast<const char*>(buf.begin()), buf.size());
        auto* service = streams_.find(token);
        int fd = -1;
        KJ_IF_MAYBE (f, stream->getFd()) {
          fd = ::dup(*f);
        }
        if (service == nullptr || fd < 0) {
          if (fd >= 0) ::close(fd);
          broker_log().warn("fetch stream from {} presented an unknown token; closed",
                            peer_of(*stream));
          return;
        }
        service->attach_stream(kj::heap<fetch_stream>(io_.unixEventPort, kj::mv(stream), fd));
      });
}

}  // namespace actormq::broker
