#include "actors/flush/flusher_actor.h"

#include "actors/errc.h"

namespace actormq {

namespace {
// The index argument names the thread in logs; it also keeps CAF 0.17 from
// binding a null reference to an empty argument tuple (a UBSan finding).
caf::behavior flusher(caf::event_based_actor*, size_t /*index*/) {
  return {
      [](flush_atom, const sync_job& job) {
        auto st = job.file->datasync();
        caf::error err =
            st ? caf::error{} : from_storage(st.error(), "fdatasync " + job.file->path().string());
        caf::anon_send(caf::actor_cast<caf::actor>(job.reply_to), flushed_atom::value, job.up_to,
                       std::move(err));
      },
  };
}
}  // namespace

caf::actor spawn_flusher(caf::actor_system& sys, size_t index) {
  return sys.spawn<caf::detached>(flusher, index);
}

}  // namespace actormq
