#pragma once
// Committed offsets as records of the internal topic __consumer_offsets
// (docs/storage-format.md, "Coordinator state"). The topic's partitions are
// ordinary replicated record-batch logs; a group's commits go to partition
// state_partition_of(group, count), whose leader coordinates the group and
// rebuilds the group's offsets from that log when it takes over.
//
// A commit of one (group, topic, partition) is one record, key and value as
// below (integers little-endian). A record with a null value (tombstone)
// forgets the key. Replay applies the records in log order: the last one of
// a key wins.
//
// key:
//  offset size field        meaning
//  ------ ---- ------------ -------------------------------------------
//     0    1   version      1
//     1    1   kind         1 = committed offset
//     2    2   group_len    uint16, then group_len bytes of group name
//     .    2   topic_len    uint16, then topic_len bytes of topic name
//     .    4   partition    int32, >= 0
// value (kind 1):
//     0    1   version      1
//     1    8   offset       int64, >= 0: the next offset the group consumes
//     9    8   commit_time  int64, ms since the epoch
//    17    4   meta_len     uint32, then meta_len bytes of metadata
//
// Decoding is strict: an unknown version or kind, a field past the end or
// bytes left over yields nullopt, and the loader skips that record with a
// warning (a newer broker's record kind is not an error).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/record_batch_builder.h"

namespace actormq::group {

/// Name of the internal topic holding every group's committed offsets.
inline constexpr const char* offsets_topic = "__consumer_offsets";

struct offset_key {
  std::string group;
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const offset_key&) const = default;
};

struct offset_value {
  int64_t offset = 0;
  int64_t commit_time_ms = 0;
  std::string metadata;
  bool operator==(const offset_value&) const = default;
};

std::string encode_offset_key(const offset_key& k);
std::string encode_offset_value(const offset_value& v);
std::optional<offset_key> decode_offset_key(std::string_view bytes);
std::optional<offset_value> decode_offset_value(std::string_view bytes);

/// Adds the record of one committed offset to a batch (the one way every
/// writer of __consumer_offsets builds them).
void add_offset_record(storage::record_batch_builder& batch, const offset_key& k,
                       const offset_value& v, storage::timestamp_ms now);

/// The partition of __consumer_offsets that holds group's state: FNV-1a
/// (32 bit) of the name modulo count (count > 0). Stable across releases:
/// changing it would move every group's state.
uint32_t state_partition_of(std::string_view group, uint32_t count);

}  // namespace actormq::group
