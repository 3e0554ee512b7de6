#pragma once
// The FLUSHER actor: a detached actor (its own thread) that runs fdatasync
// for partitions, so a ~0.2 ms+ sync never stalls a scheduler worker. One
// sync covers every batch a partition wrote before asking: group commit.

#include <caf/all.hpp>

#include <memory>

#include "actors/atoms.h"
#include "storage/file_handle.h"

namespace actormq {

struct sync_job {
  std::shared_ptr<storage::file_handle> file;
  int64_t up_to = 0;               ///< offset the sync makes durable, echoed back
  caf::strong_actor_ptr reply_to;  ///< receives (flushed_atom, up_to, error)
};

/// Handles (flush_atom, sync_job): syncs the file and sends
/// (flushed_atom, up_to, error) to job.reply_to.
caf::actor spawn_flusher(caf::actor_system& sys, size_t index = 0);

}  // namespace actormq

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::sync_job)
