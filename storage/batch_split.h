#pragma once
// Splits one record batch into batches of the records that share a key (a
// delayed produce whose records each carry their own due time becomes one
// batch per due time). Format knowledge only: no actors, no RPC.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "storage/result.h"

namespace actormq::storage {

/// One batch of the records whose key was `key`.
struct split_part {
  int64_t key = 0;
  std::string batch;  ///< storage format, base offset 0, unstamped
  int32_t records = 0;
};

/// The records of `batch` (whole and validated by the caller) grouped by
/// keys[i] for record i: one part per distinct key, parts in the order of
/// their first record, records in their order in the batch, each with its
/// key, value, timestamp and headers. Producer id, sequence and attributes
/// are not carried over (the parts are new, unstamped batches).
/// invalid_argument when keys has not one entry per record; invalid_batch
/// when a record does not parse.
result<std::vector<split_part>> split_batch(std::span<const uint8_t> batch,
                                            std::span<const int64_t> keys);

}  // namespace actormq::storage
