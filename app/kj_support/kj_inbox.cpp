#include "app/kj_support/kj_inbox.h"

#include <kj/debug.h>

#include <cstdio>
#include <string>

namespace actormq::kj_support {

kj_inbox::kj_inbox(error_reporter on_error) : on_error_(std::move(on_error)) {}

kj::Promise<void> kj_inbox::run() {
  auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
  {
    std::lock_guard lk(mu_);
    if (closed_) return kj::READY_NOW;
    wake_ = kj::mv(paf.fulfiller);
    armed_ = true;
    if (!queue_.empty()) {
      // Posted while the loop was draining: go round again at once.
      armed_ = false;
      wake_->fulfill();
    }
  }
  return paf.promise.then([self = shared_from_this()]() -> kj::Promise<void> {
    self->drain();
    return self->run();
  });
}

bool kj_inbox::post(std::function<void()> fn) {
  std::lock_guard lk(mu_);
  if (closed_) return false;
  queue_.push_back(std::move(fn));
  if (armed_) {
    armed_ = false;
    wake_->fulfill();
  }
  return true;
}

void kj_inbox::drain() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lk(mu_);
    batch.swap(queue_);
  }
  for (auto& fn : batch) {
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() { fn(); })) {
      std::string what = e->getDescription().cStr();
      if (on_error_) {
        on_error_(what);
      } else {
        std::fprintf(stderr, "kj inbox: a posted function failed: %s\n", what.c_str());
      }
    }
  }
}

void kj_inbox::close() {
  std::vector<std::function<void()>> dropped;
  std::lock_guard lk(mu_);
  closed_ = true;
  dropped.swap(queue_);
  if (armed_) {
    armed_ = false;
    wake_->fulfill();  // the loop wakes, finds the inbox closed and ends
  }
}

}  // namespace actormq::kj_support
