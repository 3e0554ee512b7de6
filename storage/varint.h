#pragma once
// Zig-zag variable-length integers (protobuf / Kafka style) used inside records.
// Each byte holds 7 bits, least significant group first; the high bit says
// another byte follows. Signed values are zig-zag mapped first so that small
// negative numbers stay short: 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3 ...

#include <cstddef>
#include <cstdint>
#include <string>

namespace actormq::storage::varint {

constexpr size_t max_bytes = 10;

inline uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t unzigzag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

/// Number of bytes encode(v) writes.
inline size_t size(int64_t v) {
  uint64_t u = zigzag(v);
  size_t n = 1;
  while (u >= 0x80) {
    u >>= 7;
    ++n;
  }
  return n;
}

/// Writes v at out (which must have room for size(v) bytes); returns bytes written.
inline size_t encode(int64_t v, uint8_t* out) {
  uint64_t u = zigzag(v);
  size_t n = 0;
  while (u >= 0x80) {
    out[n++] = static_cast<uint8_t>(u | 0x80);
    u >>= 7;
  }
  out[n++] = static_cast<uint8_t>(u);
  return n;
}

inline void append(std::string& out, int64_t v) {
  uint8_t buf[max_bytes];
  out.append(reinterpret_cast<const char*>(buf), encode(v, buf));
}

/// Decodes one varint at p and moves p past it. False (p then undefined)
/// when the bytes end early (p at or past end included: callers rely on it)
/// or the value is longer than 10 bytes. Most varints of a record are one
/// byte: that path is first.
[[gnu::always_inline]] inline bool decode(const uint8_t*& p, const uint8_t* end, int64_t& v) {
  if (p < end && *p < 0x80) {
    v = unzigzag(*p++);
    return true;
  }
  uint64_t u = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (p >= end) return false;
    uint8_t b = *p++;
    u |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      v = unzigzag(u);
      return true;
    }
  }
  return false;
}

}  // namespace actormq::storage::varint
