#pragma once
// CRC32C (Castagnoli), the checksum of record batches; computed with ISA-L's
// hardware-accelerated crc32_iscsi.

#include <cstddef>
#include <cstdint>

namespace actormq::storage {

/// Standard CRC32C of [data, data+size): crc32c("123456789") == 0xE3069283.
uint32_t crc32c(const void* data, size_t size) noexcept;

/// Continues a CRC32C: crc32c_extend(crc32c(a), b) == crc32c(a + b).
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size) noexcept;

}  // namespace actormq::storage
