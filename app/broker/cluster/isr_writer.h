#pragma once
// isr_writer: the broker's implementation of the ISR WRITER interface
// (actors/partition/isr_writer_actor.h). A CAF actor that takes a leading
// partition's request, runs the etcd write on the KJ thread (through the
// kj_inbox the replica manager attaches), and answers the partition from
// its own thread once the txn is done (a response promise must be
// delivered by its actor, never from the KJ thread).
//
// Spawned before the topic registry (which hands it to every partition);
// until attach(), requests fail with cluster_unavailable.

#include <caf/all.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/partition/isr_writer_actor.h"
#include "app/broker/kj_handoff.h"

namespace actormq::broker {

/// One in-sync-set change a leader asks for.
struct isr_change {
  std::string topic;
  uint32_t partition = 0;
  int32_t leader_epoch = 0;
  std::vector<int32_t> isr;
  int64_t revision = 0;
};

/// KJ thread: writes the change; resolves with the new revision or the error.
using isr_write_fn = std::function<kj::Promise<caf::expected<int64_t>>(isr_change)>;

/// Shared between the actor (CAF threads) and the broker's KJ thread.
class isr_writer_binding {
 public:
  using done_fn = std::function<void(caf::expected<int64_t>)>;
  void attach(std::shared_ptr<kj_inbox> inbox, isr_write_fn write);
  void detach();
  /// Any thread: queues the write on the KJ thread; done(result) is called
  /// there. False when not attached.
  bool post(isr_change change, done_fn done);

 private:
  kj_handoff<isr_change, done_fn> handoff_;
};

/// The actor's interface plus its own completion message.
using isr_writer_impl_actor = isr_writer_actor::extend<
    /// From the KJ thread: the write with this id committed at a revision.
    caf::reacts_to<alter_isr_atom, uint64_t, int64_t>,
    /// From the KJ thread: the write with this id failed.
    caf::reacts_to<alter_isr_atom, uint64_t, caf::error>>;

isr_writer_actor spawn_isr_writer(caf::actor_system& sys,
                                  std::shared_ptr<isr_writer_binding> binding);

}  // namespace actormq::broker
