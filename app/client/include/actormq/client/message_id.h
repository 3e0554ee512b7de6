#pragma once
// message_id: the unique id every message carries (issue 17).
//
// The producer assigns it when a record is sent: 8 random bytes drawn once
// per producer instance, then a per-instance counter (8 bytes, big endian),
// so ids from one producer sort in send order and two producers collide
// only if their 64-bit random prefixes do. It travels in the record as the
// header "amq-id" (16 raw bytes, docs/storage-format.md), so it is the
// same for every copy of the message: a producer retry resends the same
// bytes, and retries, dead letters, re-drives, delayed delivery,
// transactions and backlog diversion copy the header. A record written
// without one (by an older client, or before the upgrade) has an empty id.
//
// Written as 32 lowercase hex digits (to_string, parse).

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace actormq::client {

class message_id {
 public:
  static constexpr size_t size = 16;
  /// The record header that carries the id.
  static constexpr std::string_view header_key = "amq-id";

  /// The empty id (all zero): a record without one.
  message_id() = default;
  explicit message_id(const std::array<uint8_t, size>& bytes) : bytes_(bytes) {}
  /// From a random prefix and a counter.
  message_id(uint64_t prefix, uint64_t counter);

  /// The id in a header value: exactly 16 bytes, else nullopt. Inline: it
  /// runs once a fetched record.
  static std::optional<message_id> from_header(std::string_view value) {
    if (value.size() != size) return std::nullopt;
    message_id id;
    std::memcpy(id.bytes_.data(), value.data(), size);
    return id;
  }
  /// 32 hex digits (either case); nullopt otherwise.
  static std::optional<message_id> parse(std::string_view hex);

  bool empty() const {  // two loads, not a call to memcmp: it runs once a fetched record
    uint64_t a = 0, b = 0;
    std::memcpy(&a, bytes_.data(), 8);
    std::memcpy(&b, bytes_.data() + 8, 8);
    return (a | b) == 0;
  }
  /// 32 lowercase hex digits ("" for the empty id).
  std::string to_string() const;
  /// The 16 bytes as the header stores them.
  std::string_view bytes() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  uint64_t prefix() const;
  uint64_t counter() const;

  auto operator<=>(const message_id&) const = default;

 private:
  std::array<uint8_t, size> bytes_{};
};

}  // namespace actormq::client

template <>
struct std::hash<actormq::client::message_id> {
  size_t operator()(const actormq::client::message_id& id) const noexcept {
    // The prefix is random and the counter distinct: mixing the two halves
    // is enough.
    return std::hash<uint64_t>()(id.prefix() ^ (id.counter() * 0x9e3779b97f4a7c15ULL));
  }
};
