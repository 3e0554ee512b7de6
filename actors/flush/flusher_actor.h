#pragma once
// The FLUSHER actor: a detached actor (its own thread) that runs fdatasync
// for partitions, so a ~0.2 ms+ sync never stalls a scheduler worker. One
// sync covers every batch a partition wrote before asking: group commit. It
// also syncs the segments a roll closed (storage::sync_plan), which the log
// no longer does on the append path.

#include <caf/all.hpp>

#include <memory>

#include "actors/atoms.h"
#include "storage/sync_plan.h"

namespace actormq {

struct sync_job {
  storage::sync_plan plan;         ///< from storage::log::sync_target()
  caf::strong_actor_ptr reply_to;  ///< receives (flushed_atom, plan.up_to, error)
};

/// Handles (flush_atom, sync_job): runs the plan (closed segments, then the
/// active one) and sends (flushed_atom, plan.up_to, error) to job.reply_to.
caf::actor spawn_flusher(caf::actor_system& sys, size_t index = 0);

}  // namespace actormq

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::sync_job)
