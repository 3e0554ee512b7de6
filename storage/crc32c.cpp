#include "storage/crc32c.h"

#include <isa-l/crc.h>

#include <climits>

namespace actormq::storage {

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size) noexcept {
  // ISA-L's crc32_iscsi takes and returns the register without the final xor.
  uint32_t reg = ~crc;
  auto* p = static_cast<unsigned char*>(const_cast<void*>(data));
  while (size > 0) {
    int chunk = size > static_cast<size_t>(INT_MAX) ? INT_MAX : static_cast<int>(size);
    reg = crc32_iscsi(p, chunk, reg);
    p += chunk;
    size -= static_cast<size_t>(chunk);
  }
  return ~reg;
}

uint32_t crc32c(const void* data, size_t size) noexcept {
  return crc32c_extend(0, data, size);
}

}  // namespace actormq::storage
