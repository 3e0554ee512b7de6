#include "actormq/client/connection.h"

#include <capnp/message.h>
#include <kj/debug.h>

#include <algorithm>
#include <cstdio>

#include "connection_impl.h"

namespace actormq::client {

namespace detail {

errc errc_from_rpc(rpc::ErrorCode c) {
  switch (c) {
    case rpc::ErrorCode::NONE:
      return errc::success;
#define ACTORMQ_CLIENT_ERRC_FROM_RPC(name, number, snake_name, upper_name, text, retriable) \
  case rpc::ErrorCode::upper_name:                                                          \
    return errc::snake_name;
      ACTORMQ_ERROR_CODES(ACTORMQ_CLIENT_ERRC_FROM_RPC)
#undef ACTORMQ_CLIENT_ERRC_FROM_RPC
  }
  // A code from a newer broker than this client.
  return errc::protocol_error;
}

error error_from_rpc(rpc::Error::Reader e) {
  if (e.getCode() == rpc::ErrorCode::NONE) return {};
  return error(errc_from_rpc(e.getCode()), std::string(e.getMessage().cStr()));
}

error error_from_exception(const kj::Exception& e) {
  std::string desc(e.getDescription().cStr());
  if (desc.find(timeout_marker) != std::string::npos) {
    return error(errc::request_timeout, "no answer from the broker in time");
  }
  constexpr std::string_view unreachable = "actormq: broker unreachable at ";
  if (auto at = desc.find(unreachable); at != std::string::npos) {
    // "actormq: broker unreachable at HOST:PORT: why" -> "HOST:PORT (why)"
    auto rest = desc.substr(at + unreachable.size());
    auto colon = rest.find(": ");
    if (colon != std::string::npos)
      rest = rest.substr(0, colon) + " (" + rest.substr(colon + 2) + ")";
    return error(errc::broker_unreachable, rest);
  }
  if (e.getType() == kj::Exception::Type::DISCONNECTED) return error(errc::disconnected, desc);
  if (e.getType() == kj::Exception::Type::OVERLOADED) return error(errc::busy, desc);
  return error(errc::protocol_error, desc);
}

void connection_impl::task_errors::taskFailed(kj::Exception&& e) {
  // Tasks handle their own errors; reaching here means a bug in a callback.
  std::fprintf(stderr, "actormq client: background task failed: %s\n", e.getDescription().cStr());
}

connection_impl::connection_impl(connection_config cfg) : cfg_(std::move(cfg)) {
  cfg_.max_message_bytes = std::max<size_t>(cfg_.max_message_bytes, size_t{64} << 20);
}

connection_impl::~connection_impl() {
  stop();
}

result<void> connection_impl::start() {
  auto hp = parse_host_port(cfg_.broker);
  if (!hp) return hp.err();
  host_ = hp->first;
  port_ = hp->second;

  std::promise<void> ready;
  auto ready_fut = ready.get_future();
  thread_ = std::thread([self = shared_from_this(), &ready] { self->run(ready); });
  ready_fut.wait();

  auto info = call_sync<broker_info>(
      [](rpc::Broker::Client& c) {
        return c.infoRequest().send().then([](capnp::Response<rpc::Broker::InfoResults>&& r) {
          auto i = r.getInfo();
          broker_info out;
          out.version = i.getVersion();
          out.broker_id = i.getBrokerId();
          out.max_batch_bytes = i.getMaxBatchBytes();
          out.max_message_bytes = i.getMaxMessageBytes();
          out.stream_port = i.getStreamPort();
          return out;
        });
      },
      std::chrono::milliseconds(cfg_.connect_timeout_ms + cfg_.request_timeout_ms));
  if (!info) {
    auto e = info.err();
    stop();
    if (e.is(errc::disconnected) || e.is(errc::request_timeout)) {
      return error(errc::broker_unreachable, cfg_.broker + " (" + e.to_string() + ")");
    }
    return e;
  }
  info_ = *info;
  return {};
}

void connection_impl::run(std::promise<void>& ready) {
  auto io = kj::setupAsyncIo();
  io_ = &io;
  loop_thread_id_ = std::this_thread::get_id();
  executor_ = &kj::getCurrentThreadExecutor();
  tasks_ = kj::heap<kj::TaskSet>(task_errors_);
  auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
  stop_fulfiller_ = kj::mv(paf.fulfiller);
  {
    std::unique_lock lk(run_mu_);
    running_ = true;
  }
  ready.set_value();
  paf.promise.wait(io.waitScope);
  // Tear down on this thread: tasks first (they hold callbacks), then the
  // session. Callbacks of cancelled requests are dropped here; waiting users
  // are bounded by their own timeouts.
  tasks_ = nullptr;
  connecting_ = nullptr;
  session_ = nullptr;
  io_ = nullptr;
}

void connection_impl::stop() {
  {
    std::unique_lock lk(run_mu_);
    if (!running_) {
      if (thread_.joinable()) thread_.join();
      return;
    }
    running_ = false;
  }
  stop_fulfiller_->fulfill();
  if (on_loop_thread()) {
    // Last owner released from a callback: the loop ends after this turn.
    thread_.detach();
    return;
  }
  if (thread_.joinable()) thread_.join();
}

bool connection_impl::post(const std::function<void()>& fn) {
  if (on_loop_thread()) {
    if (io_ == nullptr) return false;
    fn();
    return true;
  }
  std::shared_lock lk(run_mu_);
  if (!running_) return false;
  executor_->executeSync([&fn] { fn(); });
  return true;
}

void connection_impl::add_task(kj::Promise<void> p) {
  tasks_->add(kj::mv(p));
}

kj::Promise<rpc::Broker::Client> connection_impl::broker() {
  KJ_IF_MAYBE (s, session_) {
    return (*s)->broker;
  }
  if (connecting_ == nullptr) {
    connecting_ = connect_now()
                      .then([this]() { connecting_ = nullptr; },
                            [this](kj::Exception&& e) {
                              connecting_ = nullptr;
                              kj::throwFatalException(kj::mv(e));
                            })
                      .fork();
  }
  KJ_IF_MAYBE (c, connecting_) {
    return c->addBranch().then([this]() -> rpc::Broker::Client {
      KJ_IF_MAYBE (s, session_) {
        return (*s)->broker;
      }
      KJ_FAIL_REQUIRE("actormq: broker unreachable: session lost right after connecting");
    });
  }
  KJ_UNREACHABLE;
}

kj::Promise<void> connection_impl::connect_now() {
  auto where = cfg_.broker;
  auto p = io_->provider->getNetwork()
               .parseAddress(kj::StringPtr(host_.c_str()), port_)
               .then([](kj::Own<kj::NetworkAddress> addr) {
                 auto conn = addr->connect();
                 return conn.attach(kj::mv(addr));
               })
               .then([this](kj::Own<kj::AsyncIoStream> stream) {
                 capnp::ReaderOptions opts;
                 opts.traversalLimitInWords = cfg_.max_message_bytes / sizeof(capnp::word);
                 auto s = kj::heap<session>();
                 s->stream = kj::mv(stream);
                 s->network = kj::heap<capnp::TwoPartyVatNetwork>(
                     *s->stream, capnp::rpc::twoparty::Side::CLIENT, opts);
                 s->rpc = kj::heap<capnp::RpcSystem<capnp::rpc::twoparty::VatId>>(
                     capnp::makeRpcClient(*s->network));
                 capnp::word scratch[4];
                 memset(scratch, 0, sizeof(scratch));
                 capnp::MallocMessageBuilder msg(scratch);
                 auto vat = msg.getRoot<capnp::rpc::twoparty::VatId>();
                 vat.setSide(capnp::rpc::twoparty::Side::SERVER);
                 s->broker = s->rpc->bootstrap(vat).castAs<rpc::Broker>();
                 uint64_t id = ++session_id_;
                 add_task(s->network->onDisconnect().then(
                     [this, id] { drop_session(id); },
                     [this, id](kj::Exception&&) { drop_session(id); }));
                 session_ = kj::mv(s);
               });
  return with_timeout<void>(kj::mv(p), std::chrono::milliseconds(cfg_.connect_timeout_ms))
      .catch_([where](kj::Exception&& e) -> kj::Promise<void> {
        return kj::Exception(
            kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__,
            kj::str("actormq: broker unreachable at ", where.c_str(), ": ", e.getDescription()));
      });
}

void connection_impl::drop_session(uint64_t id) {
  if (id != session_id_) return;
  KJ_IF_MAYBE (s, session_) {
    // Destroy on a later turn: we may be inside one of the session's callbacks.
    auto old = kj::mv(*s);
    session_ = nullptr;
    add_task(kj::evalLater([old = kj::mv(old)]() mutable { old = nullptr; }));
  }
}

}  // namespace detail

result<std::shared_ptr<connection>> connection::connect(const connection_config& cfg) {
  auto impl = std::make_shared<detail::connection_impl>(cfg);
  if (auto r = impl->start(); !r) return r.err();
  return std::shared_ptr<connection>(new connection(std::move(impl)));
}

connection::connection(std::shared_ptr<detail::connection_impl> impl) : impl_(std::move(impl)) {}

connection::~connection() {
  impl_->stop();
}

const broker_info& connection::broker_info() const {
  return impl_->info();
}
const connection_config& connection::config() const {
  return impl_->config();
}

}  // namespace actormq::client
