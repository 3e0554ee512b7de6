#include "actors/flush/flusher_actor.h"

#include "actors/errc.h"

namespace actormq {

namespace {
caf::behavior flusher(caf::event_based_actor*) {
  return {
      [](flush_atom, const sync_job& job) {
        auto st = job.file->datasync();
        caf::error err = st ? caf::error{} : from_storage(st.error(), "fdatasync " + job.file->path().string());
        caf::anon_send(caf::actor_cast<caf::actor>(job.reply_to), flushed_atom::value, job.up_to,
                       std::move(err));
      },
  };
}
}  // namespace

caf::actor spawn_flusher(caf::actor_system& sys) { return sys.spawn<caf::detached>(flusher); }

}  // namespace actormq
