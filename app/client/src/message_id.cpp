#include "actormq/client/message_id.h"

#include <cstring>

namespace actormq::client {

namespace {
void put_be(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
uint64_t get_be(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}
int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

message_id::message_id(uint64_t prefix, uint64_t counter) {
  put_be(bytes_.data(), prefix);
  put_be(bytes_.data() + 8, counter);
}

std::optional<message_id> message_id::from_header(std::string_view value) {
  if (value.size() != size) return std::nullopt;
  std::array<uint8_t, size> b{};
  std::memcpy(b.data(), value.data(), size);
  return message_id(b);
}

std::optional<message_id> message_id::parse(std::string_view hex) {
  if (hex.size() != 2 * size) return std::nullopt;
  std::array<uint8_t, size> b{};
  for (size_t i = 0; i < size; ++i) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    b[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return message_id(b);
}

std::string message_id::to_string() const {
  if (empty()) return {};
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(2 * size, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = digits[bytes_[i] >> 4];
    out[2 * i + 1] = digits[bytes_[i] & 0xf];
  }
  return out;
}

uint64_t message_id::prefix() const {
  return get_be(bytes_.data());
}

uint64_t message_id::counter() const {
  return get_be(bytes_.data() + 8);
}

}  // namespace actormq::client
