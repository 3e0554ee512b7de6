#pragma once
// processed_store: where an idempotent consumer (idempotent_processor.h)
// remembers the message ids it has processed. Three come with the library:
//
//   memory_processed_store  the last N ids of this process (a restart
//                           forgets them)
//   file_processed_store    the last N ids in an append-only file, synced
//                           before mark() returns (survives a crash)
//   your own                implement seen() and mark() over your database,
//                           and call the processor inside the transaction
//                           that holds the business change: the id and the
//                           change then commit together or not at all
//                           (app/examples/idempotent_sqlite.cpp)
//
// A store need not be thread-safe: one processor uses it from one thread.

#include "actormq/client/message_id.h"
#include "actormq/client/result.h"

namespace actormq::client {

class processed_store {
 public:
  virtual ~processed_store() = default;
  /// True when id was marked processed (and is still remembered).
  virtual result<bool> seen(const message_id& id) = 0;
  /// Remembers id as processed; durable as the store promises once it
  /// returns.
  virtual result<void> mark(const message_id& id) = 0;
};

}  // namespace actormq::client
