#pragma once
// replay_partition: reads a partition of an internal topic from its log
// start to its log end (as it was when the replay began) and hands every
// record to a callback, on the calling actor. The log end, not the high
// watermark: a new leader's watermark can lag what the old leader
// acknowledged, and every record in a leader's log stays there. A coordinator calls it
// when it takes over a partition of its state topic, to rebuild its state
// from the log (docs/architecture.md, "Coordinator state").
//
// The reads are fetch requests to the PARTITION actor, one at a time, each
// bounded by the timeout; the batch bytes are read with pread on the
// calling actor's thread (page cache, no sync). Records of batches that do
// not parse end the replay with invalid_batch: the log was CRC-checked when
// it was opened, so this is a bug or a foreign writer, never a torn tail.

#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "actors/atoms.h"
#include "actors/errc.h"
#include "actors/partition/partition_actor.h"
#include "storage/record_batch.h"

namespace actormq {

struct replay_result {
  int64_t next_offset = 0;  ///< the offset after the last record read
  uint64_t records = 0;
  uint64_t bytes = 0;
};

/// Reads the whole batches of a fetch reply's slice (pread on the calling
/// thread) and calls fn for every record at or after `from`; returns the
/// offset after the slice, or what is wrong (storage_error, invalid_batch).
/// The one way coordinators read their state partitions.
caf::expected<int64_t> for_each_fetched(const fetch_reply& r, int64_t from,
                                        const std::function<void(const storage::record_view&)>& fn);

namespace detail {

struct replay_run {
  partition_actor partition;
  std::function<void(const storage::record_view&)> on_record;
  std::function<void(caf::expected<replay_result>)> done;
  caf::timespan timeout;
  int64_t end = 0;  ///< the log end when the replay began
  replay_result progress;
};

/// Applies the batches of one fetch; the error text when they do not parse.
std::optional<std::string> replay_slice(replay_run& run, const fetch_reply& r);

template <class Self>
void replay_step(Self* self, std::shared_ptr<replay_run> run) {
  if (run->progress.next_offset >= run->end) return run->done(run->progress);
  self->request(run->partition, run->timeout, fetch_atom::value,
                fetch_request{run->progress.next_offset, 1u << 20, true})
      .then(
          [self, run](fetch_reply& r) {
            if (r.slice.length == 0) return run->done(run->progress);  // truncated meanwhile
            if (auto why = replay_slice(*run, r)) {
              return run->done(make_error(errc::invalid_batch, *why));
            }
            replay_step(self, run);
          },
          [run](caf::error& e) { run->done(std::move(e)); });
}

}  // namespace detail

/// Replays partition into on_record, then calls done with where it ended
/// (or the first error: timeout, offset_out_of_range, invalid_batch,
/// storage_error).
template <class Self>
void replay_partition(Self* self, partition_actor partition,
                      std::function<void(const storage::record_view&)> on_record,
                      std::function<void(caf::expected<replay_result>)> done,
                      caf::timespan timeout = std::chrono::seconds(10)) {
  auto run = std::make_shared<detail::replay_run>();
  run->partition = std::move(partition);
  run->on_record = std::move(on_record);
  run->done = std::move(done);
  run->timeout = timeout;
  self->request(run->partition, timeout, offsets_atom::value)
      .then(
          [self, run](partition_offsets& o) {
            run->progress.next_offset = o.log_start_offset;
            run->end = o.log_end_offset;
            detail::replay_step(self, run);
          },
          [run](caf::error& e) { run->done(std::move(e)); });
}

}  // namespace actormq
