#include "app/broker/http_thread.h"

#include <kj/async-io.h>
#include <kj/debug.h>

#include <future>
#include <string>

namespace actormq::broker {

namespace {

/// What the thread reports once it serves, or why it cannot.
struct started {
  uint16_t port = 0;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop;
  std::string error;  ///< empty: serving
};

}  // namespace

http_thread::http_thread(http_server::settings s) {
  std::promise<started> ready;
  auto got = ready.get_future();
  thread_ = std::thread([s = std::move(s), &ready]() mutable {
    auto io = kj::setupAsyncIo();
    auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
    kj::Own<http_server> server;
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() {
                   server = kj::heap<http_server>(io, std::move(s));
                   uint16_t port = server->listen();
                   server->serve();
                   ready.set_value({port, kj::mv(paf.fulfiller), {}});
                 })) {
      ready.set_value({0, {}, e->getDescription().cStr()});
      return;
    }
    // `ready` is gone once the constructor returned: not touched again.
    paf.promise.wait(io.waitScope);
    server = nullptr;  // closes the listener and the connections on this loop
  });
  auto st = got.get();
  if (!st.error.empty()) {
    thread_.join();
    // The listener's own words, as when the port was bound on the RPC loop.
    kj::throwFatalException(kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                                          kj::heapString(st.error.c_str())));
  }
  port_ = st.port;
  stop_ = kj::mv(st.stop);
}

http_thread::~http_thread() {
  if (stop_) {
    stop_->fulfill();
    stop_ = nullptr;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace actormq::broker
