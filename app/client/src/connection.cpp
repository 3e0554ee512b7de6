#include "actormq/client/connection.h"

#include <capnp/message.h>
#include <kj/debug.h>
#include <pthread.h>

#include <algorithm>
#include <cstdio>

#include "app/kj_support/buffered_read_stream.h"
#include "cluster_router.h"
#include "connection_impl.h"
#include "last_words_stream.h"

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

namespace {
std::vector<std::string> bootstrap_addresses(const std::string& broker) {
  auto list = parse_broker_list(broker);
  // A bad list fails in start(); until then keep it as written.
  return list ? std::move(*list) : std::vector<std::string>{broker};
}
}  // namespace

connection_impl::connection_impl(connection_config cfg)
    : cfg_(std::move(cfg)),
      bootstrap_(bootstrap_addresses(cfg_.broker)),
      router_(std::make_unique<cluster_router>(*this)) {
  cfg_.max_message_bytes = std::max<size_t>(cfg_.max_message_bytes, size_t{64} << 20);
}

connection_impl::~connection_impl() {
  stop();
}

result<void> connection_impl::start() {
  if (auto list = parse_broker_list(cfg_.broker); !list) return list.err();

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
  pthread_setname_np(pthread_self(), "amq-conn");  // top -H, perf: the connection's loop
  auto io = kj::setupAsyncIo();
  io_ = &io;
  loop_thread_id_ = std::this_thread::get_id();
  tasks_ = kj::heap<kj::TaskSet>(task_errors_);
  inbox_ = std::make_shared<kj_support::kj_inbox>([](std::string_view what) {
    std::fprintf(stderr, "actormq client: a posted function failed: %.*s\n",
                 static_cast<int>(what.size()), what.data());
  });
  tasks_->add(inbox_->run());
  auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
  stop_fulfiller_ = kj::mv(paf.fulfiller);
  {
    std::unique_lock lk(run_mu_);
    running_ = true;
  }
  ready.set_value();
  tasks_->add(reap_idle_loop());
  paf.promise.wait(io.waitScope);
  // Functions still queued are dropped unrun (post() returns false to a
  // waiting poster).
  inbox_->close();
  // Tear down on this thread: tasks first (they hold callbacks), then the
  // sessions. Callbacks of cancelled requests are dropped here; waiting
  // users are bounded by their own timeouts.
  tasks_ = nullptr;
  connecting_ = nullptr;
  session_ = nullptr;
  (void)nodes_.take_idle(std::chrono::steady_clock::time_point::max(),
                         std::chrono::milliseconds(0));
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
  // On the loop thread post_async() runs fn at once. Elsewhere the poster
  // waits for fn, so capturing it by reference is safe. When the loop stops
  // first, the inbox drops the function unrun: the last copy of `ran` goes
  // with it and the future reports a broken promise.
  auto ran = std::make_shared<std::promise<void>>();
  auto fut = ran->get_future();
  if (!post_async([&fn, ran] {
        fn();
        ran->set_value();
      })) {
    return false;
  }
  ran.reset();
  try {
    fut.get();
    return true;
  } catch (const std::future_error&) {
    return false;
  }
}

bool connection_impl::post_async(std::function<void()> fn) {
  if (on_loop_thread()) {
    if (io_ == nullptr) return false;
    fn();
    return true;
  }
  std::shared_lock lk(run_mu_);
  if (!running_) return false;
  return inbox_->post(std::move(fn));
}

void connection_impl::add_task(kj::Promise<void> p) {
  tasks_->add(kj::mv(p));
}

kj::Promise<rpc::Broker::Client> connection_impl::broker() {
  return bootstrap_session().then([](session_ref s) { return kj::mv(s.broker); });
}

kj::Promise<connection_impl::session_ref> connection_impl::bootstrap_session() {
  KJ_IF_MAYBE (s, session_) {
    return ref_of(**s);
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
    return c->addBranch().then([this]() -> session_ref {
      KJ_IF_MAYBE (s, session_) {
        return ref_of(**s);
      }
      KJ_FAIL_REQUIRE("actormq: broker unreachable: session lost right after connecting");
    });
  }
  KJ_UNREACHABLE;
}

kj::Promise<kj::Own<connection_impl::session>> connection_impl::open_session(
    const std::string& address, std::function<void(uint64_t)> on_lost) {
  auto hp = parse_host_port(address);
  if (!hp) {
    return KJ_EXCEPTION(DISCONNECTED, kj::str("actormq: broker unreachable at ", address.c_str(),
                                              ": ", hp.err().to_string().c_str()));
  }
  auto p = io_->provider->getNetwork()
               .parseAddress(kj::StringPtr(hp->first.c_str()), hp->second)
               .then([](kj::Own<kj::NetworkAddress> addr) {
                 auto conn = addr->connect();
                 return conn.attach(kj::mv(addr));
               })
               .then([this, on_lost = std::move(on_lost)](kj::Own<kj::AsyncIoStream> stream) {
                 capnp::ReaderOptions opts;
                 opts.traversalLimitInWords = cfg_.max_message_bytes / sizeof(capnp::word);
                 auto s = kj::heap<session>();
                 // A broker's Abort wins over the reset that follows it.
                 // Reads buffered: one read(2) for the pieces of the replies
                 // that came together.
                 s->stream = kj::heap<last_words_stream>(
                     kj::heap<kj_support::buffered_read_stream>(kj::mv(stream)),
                     io_->provider->getTimer(), 1 * kj::SECONDS);
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
                 s->id = ++next_session_id_;
                 add_task(s->network->onDisconnect().then(
                     [on_lost, id = s->id] { on_lost(id); },
                     [on_lost, id = s->id](kj::Exception&&) { on_lost(id); }));
                 return kj::mv(s);
               });
  return with_timeout<kj::Own<session>>(kj::mv(p),
                                        std::chrono::milliseconds(cfg_.connect_timeout_ms))
      .catch_([address](kj::Exception&& e) -> kj::Promise<kj::Own<session>> {
        return kj::Exception(
            kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__,
            kj::str("actormq: broker unreachable at ", address.c_str(), ": ", e.getDescription()));
      });
}

kj::Promise<void> connection_impl::connect_now() {
  return connect_bootstrap(bootstrap_.size(), {});
}

kj::Promise<void> connection_impl::connect_bootstrap(size_t tries_left, std::string why) {
  if (tries_left == 0) {
    // "actormq: broker unreachable at A,B: why" (error_from_exception's form).
    return kj::Exception(kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__,
                         kj::str("actormq: broker unreachable at ", bootstrap_.to_string().c_str(),
                                 ": ", why.c_str()));
  }
  auto address = bootstrap_.current();
  return open_session(address, [this](uint64_t id) { drop_session(id); })
      .then(
          [this, address](kj::Own<session> s) -> kj::Promise<void> {
            session_id_ = s->id;
            session_address_ = address;
            session_ = kj::mv(s);
            return kj::READY_NOW;
          },
          [this, tries_left, address](kj::Exception&& e) -> kj::Promise<void> {
            std::string desc(e.getDescription().cStr());
            constexpr std::string_view prefix = "actormq: broker unreachable at ";
            if (desc.starts_with(prefix)) desc = desc.substr(prefix.size());
            if (bootstrap_.size() == 1) {
              desc = desc.substr(std::min(desc.size(), address.size() + 2));
            }
            bootstrap_.advance();
            return connect_bootstrap(tries_left - 1, desc);
          });
}

kj::Promise<rpc::Broker::Client> connection_impl::broker_at(const std::string& address) {
  return session_at(address).then([](session_ref s) { return kj::mv(s.broker); });
}

kj::Promise<connection_impl::session_ref> connection_impl::session_at(const std::string& address) {
  auto where = resolve(address);
  if (where.empty()) return bootstrap_session();
  auto now = std::chrono::steady_clock::now();
  auto* n = nodes_.find(where, now);
  if (n == nullptr) n = &nodes_.insert(where, kj::heap<node>(), now);
  KJ_IF_MAYBE (s, (*n)->s) {
    return ref_of(**s);
  }
  if ((*n)->connecting == nullptr) {
    auto on_lost = [this, where](uint64_t id) { drop_node(where, id); };
    (*n)->connecting = open_session(where, on_lost)
                           .then(
                               [this, where](kj::Own<session> s) {
                                 auto* cur = nodes_.find(where, std::chrono::steady_clock::now());
                                 if (cur == nullptr)
                                   return;  // closed meanwhile: the session goes too
                                 (*cur)->s = kj::mv(s);
                                 (*cur)->connecting = nullptr;
                               },
                               [this, where](kj::Exception&& e) {
                                 destroy_later(nodes_.erase(where));
                                 kj::throwFatalException(kj::mv(e));
                               })
                           .fork();
  }
  KJ_IF_MAYBE (c, (*n)->connecting) {
    return c->addBranch().then([this, where]() -> session_ref {
      auto* cur = nodes_.find(where, std::chrono::steady_clock::now());
      if (cur != nullptr) {
        KJ_IF_MAYBE (s, (*cur)->s) {
          return ref_of(**s);
        }
      }
      KJ_FAIL_REQUIRE("actormq: broker unreachable at", where.c_str(),
                      "session lost right after connecting");
    });
  }
  KJ_UNREACHABLE;
}

std::string connection_impl::resolve(const std::string& address) const {
  if (address.empty()) return {};
  auto it = aliases_.find(address);
  const auto& where = it == aliases_.end() ? address : it->second;
  // The bootstrap broker's own address shares the bootstrap session (also
  // while it reconnects: it starts again at the current list entry).
  if (session_ != nullptr ? where == session_address_ : where == bootstrap_.current()) return {};
  return where;
}

void connection_impl::add_alias(const std::string& advertised, const std::string& reached) {
  if (advertised.empty() || reached.empty() || advertised == reached) return;
  aliases_[advertised] = reached;
}

uint64_t connection_impl::session_id_at(const std::string& address) const {
  auto where = resolve(address);
  if (where.empty()) return session_id_;
  auto* n = nodes_.peek(where);
  if (n == nullptr) return 0;
  KJ_IF_MAYBE (s, (*n)->s) {
    return (*s)->id;
  }
  return 0;
}

std::string connection_impl::host_of(const std::string& address) const {
  auto where = resolve(address);
  auto hp = parse_host_port(where.empty() ? session_address_ : where);
  return hp ? hp->first : std::string();
}

void connection_impl::drop_session(uint64_t id) {
  if (id != session_id_) return;
  KJ_IF_MAYBE (s, session_) {
    // Destroy on a later turn: we may be inside one of the session's callbacks.
    auto old = kj::mv(*s);
    session_ = nullptr;
    session_address_.clear();
    // The bootstrap broker died: the next one in the list answers from now on.
    bootstrap_.advance();
    add_task(kj::evalLater([old = kj::mv(old)]() mutable { old = nullptr; }));
  }
}

void connection_impl::drop_node(const std::string& address, uint64_t id) {
  auto* n = nodes_.find(address, std::chrono::steady_clock::now());
  if (n == nullptr) return;
  KJ_IF_MAYBE (s, (*n)->s) {
    if ((*s)->id != id) return;
    destroy_later(nodes_.erase(address));
  }
}

void connection_impl::drop_stalled(uint64_t id) {
  if (id == 0) return;
  if (id == session_id_) {
    if (session_ != nullptr) ++sessions_closed_stalled_;
    drop_session(id);
    return;
  }
  auto address = nodes_.find_address([id](const kj::Own<node>& n) {
    KJ_IF_MAYBE (s, n->s) {
      return (*s)->id == id;
    }
    return false;
  });
  if (address) {
    ++sessions_closed_stalled_;
    drop_node(*address, id);
  }
}

connection_stats connection_impl::stats() const {
  connection_stats st;
  st.sessions_opened = next_session_id_;
  st.sessions_closed_stalled = sessions_closed_stalled_;
  auto add = [&st](const session& s) {
    st.pinned_buffers += s.pins->size();
    st.pinned_bytes += s.pins->bytes();
  };
  KJ_IF_MAYBE (s, session_) {
    add(**s);
  }
  nodes_.for_each([&add](const kj::Own<node>& n) {
    KJ_IF_MAYBE (s, n->s) {
      add(**s);
    }
  });
  return st;
}

void connection_impl::destroy_later(std::vector<kj::Own<node>> nodes) {
  if (nodes.empty()) return;
  auto held = kj::heap<std::vector<kj::Own<node>>>(std::move(nodes));
  add_task(kj::evalLater([held = kj::mv(held)]() mutable { held = nullptr; }));
}

kj::Promise<void> connection_impl::reap_idle_loop() {
  auto max_idle = std::chrono::milliseconds(std::max<uint32_t>(cfg_.connections_max_idle_ms, 1));
  auto period = std::clamp<int64_t>(max_idle.count() / 2, 10, 30000);
  return timer().afterDelay(period * kj::MILLISECONDS).then([this, max_idle]() {
    auto idle = nodes_.take_idle(std::chrono::steady_clock::now(), max_idle);
    // A session still connecting is not idle yet.
    destroy_later(std::move(idle));
    return reap_idle_loop();
  });
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
connection_stats connection::stats() const {
  connection_stats st;
  // Read on the loop thread, which owns the sessions.
  (void)impl_->post([this, &st] { st = impl_->stats(); });
  return st;
}

const connection_config& connection::config() const {
  return impl_->config();
}

}  // namespace actormq::client
