#pragma once
// idempotent_processor: processes each message once per message id, the
// consumer-side half of at-least-once delivery. A group redelivers what
// was processed but not committed (a crash between the two, a rebalance),
// and a producer may send a message twice (a delayed send retried): the
// copies share the message id (message_id.h), so the processor runs the
// handler for the first and skips the others.
//
//   client::file_processed_store::open("orders.ids") -> store
//   client::idempotent_processor proc(*store);
//   for (auto& m : consumer.poll(...)) proc.process(m, handle_order);
//   consumer.commit_sync();
//
// process() asks store.seen(id), runs the handler, then store.mark(id). The
// guarantee is as strong as the store: with a store in the same database
// transaction as the handler's change, exactly once; with the file store,
// once unless the crash falls between the handler and mark(). A message
// without an id (written by an older client) is always handled.
//
// Not thread-safe (one consumer thread).

#include <cstdint>
#include <functional>

#include "actormq/client/processed_store.h"
#include "actormq/client/result.h"
#include "actormq/client/types.h"

namespace actormq::client {

class idempotent_processor {
 public:
  enum class outcome {
    processed,  ///< the handler ran and the id is marked
    skipped,    ///< the id was processed before: the handler did not run
  };
  using handler = std::function<result<void>(const message&)>;

  explicit idempotent_processor(processed_store& store) : store_(store) {}

  /// Runs fn(m) unless m's id was processed. A failing handler (or store)
  /// leaves the id unmarked and returns its error: do not commit past m.
  result<outcome> process(const message& m, const handler& fn);

  uint64_t processed() const { return processed_; }
  uint64_t skipped() const { return skipped_; }
  /// Messages handled without an id to key on.
  uint64_t without_id() const { return without_id_; }

 private:
  processed_store& store_;
  uint64_t processed_ = 0;
  uint64_t skipped_ = 0;
  uint64_t without_id_ = 0;
};

}  // namespace actormq::client
