#pragma once
// Key partitioning. Keys map to partitions exactly as in Kafka's default
// partitioner, so a topic migrated from Kafka keeps its key -> partition
// layout: partition = (murmur2(key) & 0x7fffffff) % partition_count, with
// Kafka's murmur2 (seed 0x9747b28c, 32-bit, little-endian 4-byte blocks).

#include <cstdint>
#include <string_view>

namespace actormq::client {

/// Kafka's org.apache.kafka.common.utils.Utils.murmur2, bit for bit.
int32_t murmur2(std::string_view key) noexcept;

/// The partition of a keyed record; partition_count must be > 0.
inline uint32_t partition_for_key(std::string_view key, uint32_t partition_count) noexcept {
  return static_cast<uint32_t>(murmur2(key) & 0x7fffffff) % partition_count;
}

}  // namespace actormq::client
