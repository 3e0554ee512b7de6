#pragma once
// kj_inbox: lets other threads hand work to a KJ event loop's thread without
// blocking. A mutex-protected queue of functions plus a cross-thread
// fulfiller the KJ loop waits on: post() (any thread) queues a function and
// fulfils the armed fulfiller, which wakes the loop (eventfd); run() (on
// the KJ thread) drains the queue, runs each function there, and re-arms
// with a new fulfiller. The fulfiller is always created on the KJ thread
// (kj::newPromiseAndCrossThreadFulfiller), as TOOLCHAIN.md requires:
// kj::Executor::executeAsync needs an event loop on the posting thread and
// executeSync blocks the poster until the loop has run the function (two
// thread wake-ups where this needs one).
//
// Used by the broker (CAF threads hand answers to its KJ thread) and by the
// client library (user threads hand requests to a connection's loop).
//
// Functions posted must not own KJ objects (they may be destroyed on the
// posting thread when the inbox is closed): capture plain data and
// weak_ptrs, and touch KJ objects only when running.
//
// Thread-safety: post() from any thread; run() and close() on the KJ thread.

#include <kj/async.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace actormq::kj_support {

class kj_inbox : public std::enable_shared_from_this<kj_inbox> {
 public:
  /// Told, on the KJ thread, when a posted function throws (the loop goes
  /// on with the next one).
  using error_reporter = std::function<void(std::string_view what)>;

  /// Without a reporter a failure goes to stderr.
  explicit kj_inbox(error_reporter on_error = {});
  kj_inbox(const kj_inbox&) = delete;
  kj_inbox& operator=(const kj_inbox&) = delete;

  /// KJ thread: runs posted functions until close(); keep the promise in a
  /// TaskSet of that thread.
  kj::Promise<void> run();
  /// Any thread: queues fn to run on the KJ thread, in the order posted.
  /// False (and fn dropped) once closed.
  bool post(std::function<void()> fn);
  /// KJ thread: stops the loop; queued functions are dropped unrun.
  void close();

 private:
  void drain();

  error_reporter on_error_;
  std::mutex mu_;
  std::vector<std::function<void()>> queue_;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> wake_;
  bool armed_ = false;  ///< wake_ is waited on and not yet fulfilled
  bool closed_ = false;
};

}  // namespace actormq::kj_support
