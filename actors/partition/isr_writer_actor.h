#pragma once
// The ISR WRITER interface: how a leading PARTITION actor asks the control
// plane to change its in-sync set. The broker implements it on its KJ thread
// (app/broker/cluster/replica_manager) as an etcd txn that succeeds only if
// the partition's state is still the one the leader knows (same mod
// revision, same leader and epoch); a shrink or expand takes effect only
// once that write committed (docs/replication.md).

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "actors/atoms.h"

namespace actormq {

using isr_writer_actor = caf::typed_actor<
    /// topic, partition, the leader's epoch, the new in-sync set, the mod
    /// revision of the state it replaces. Replies with the new state's mod
    /// revision; stale_leader_epoch when the state changed meanwhile (the
    /// leader waits for the new state), cluster_unavailable when etcd did
    /// not answer.
    caf::replies_to<alter_isr_atom, std::string, uint32_t, int32_t, std::vector<int32_t>,
                    int64_t>::with<int64_t>>;

}  // namespace actormq
