#include "app/broker/connection_flow.h"

#include "app/broker/rpc_metrics.h"

namespace actormq::broker {

connection_flow::connection_flow(uint32_t max_calls, uint64_t max_unwritten_bytes,
                                 rpc_metrics* metrics)
    : max_calls_(max_calls), max_unwritten_(max_unwritten_bytes), metrics_(metrics) {}

connection_flow::~connection_flow() {
  // Closed while paused: it no longer counts as paused.
  if (waiter_ != nullptr && metrics_ != nullptr) metrics_->connection_unpaused();
}

void connection_flow::call_started(uint64_t reserved) {
  ++calls_;
  unwritten_ += reserved;
  spoken_ = true;
  last_ = clock::now();
}

void connection_flow::call_ended(uint64_t reply_bytes, uint64_t reserved) {
  if (calls_ > 0) --calls_;
  unwritten_ = (reserved >= unwritten_ ? 0 : unwritten_ - reserved) + reply_bytes;
  last_ = clock::now();
  wake_if_readable();
}

void connection_flow::written(uint64_t bytes) {
  unwritten_ = bytes >= unwritten_ ? 0 : unwritten_ - bytes;
  wake_if_readable();
}

bool connection_flow::paused() const {
  return calls_ >= max_calls_ || unwritten_ >= max_unwritten_;
}

kj::Promise<void> connection_flow::readable() {
  if (!paused()) return kj::READY_NOW;
  ++pauses_;
  if (waiter_ == nullptr && metrics_ != nullptr) metrics_->connection_paused();
  auto paf = kj::newPromiseAndFulfiller<void>();
  waiter_ = kj::mv(paf.fulfiller);
  return kj::mv(paf.promise);
}

void connection_flow::wake_if_readable() {
  if (paused()) return;
  KJ_IF_MAYBE (w, waiter_) {
    (*w)->fulfill();
    waiter_ = nullptr;
    if (metrics_ != nullptr) metrics_->connection_unpaused();
  }
}

}  // namespace actormq::broker
