#include "app/etcd/watch.h"

#include "app/etcd/watch_state.h"

namespace actormq::etcd {

void watch::cancel() {
  if (!state_) return;
  state_->canceled = true;
  if (state_->stop && state_->stop->isWaiting()) state_->stop->fulfill();
  state_.reset();
}

bool watch::active() const {
  return state_ && !state_->canceled && !state_->ended;
}

}  // namespace actormq::etcd
