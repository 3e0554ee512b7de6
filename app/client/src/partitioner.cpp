#include "actormq/client/partitioner.h"

namespace actormq::client {

// Port of Kafka's Utils.murmur2(byte[]): Java int arithmetic (wrapping), bytes
// sign-extended where Java does (`data[i] & 0xff` masks them in the blocks;
// the tail uses `& 0xff` too), >>> = logical shift on the unsigned value.
int32_t murmur2(std::string_view key) noexcept {
  const auto* data = reinterpret_cast<const uint8_t*>(key.data());
  const uint32_t length = static_cast<uint32_t>(key.size());
  const uint32_t seed = 0x9747b28c;
  const uint32_t m = 0x5bd1e995;
  const int r = 24;

  uint32_t h = seed ^ length;
  const uint32_t length4 = length / 4;
  for (uint32_t i = 0; i < length4; i++) {
    const uint32_t i4 = i * 4;
    uint32_t k = (data[i4 + 0] & 0xffu) + ((data[i4 + 1] & 0xffu) << 8) +
                 ((data[i4 + 2] & 0xffu) << 16) + ((data[i4 + 3] & 0xffu) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  switch (length % 4) {
    case 3:
      h ^= (data[(length & ~3u) + 2] & 0xffu) << 16;
      [[fallthrough]];
    case 2:
      h ^= (data[(length & ~3u) + 1] & 0xffu) << 8;
      [[fallthrough]];
    case 1:
      h ^= (data[length & ~3u] & 0xffu);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

}  // namespace actormq::client
