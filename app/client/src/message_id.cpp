#include "actormq/client/message_id.h"

#include <bit>
#include <cstring>

#include "storage/hex.h"

namespace actormq::client {

namespace {
// Big-endian, so that ids sort as their numbers; one store, not eight (a
// producer makes one id a record).
void put_be(uint8_t* p, uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  std::memcpy(p, &v, sizeof v);
}
uint64_t get_be(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}
}  // namespace

message_id::message_id(uint64_t prefix, uint64_t counter) {
  put_be(bytes_.data(), prefix);
  put_be(bytes_.data() + 8, counter);
}

std::optional<message_id> message_id::parse(std::string_view hex) {
  if (hex.size() != 2 * size) return std::nullopt;
  auto bytes = storage::from_hex(hex);
  if (!bytes) return std::nullopt;
  return from_header(*bytes);
}

std::string message_id::to_string() const {
  if (empty()) return {};
  return storage::to_hex(bytes());
}

uint64_t message_id::prefix() const {
  return get_be(bytes_.data());
}

uint64_t message_id::counter() const {
  return get_be(bytes_.data() + 8);
}

}  // namespace actormq::client
