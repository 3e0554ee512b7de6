#pragma once
// Distinct numeric types for the quantities the log deals in, so that a file
// position cannot be passed where an offset is due (Redpanda's named_type).

#include <compare>
#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>

namespace actormq::storage {

/// A value of type T that only converts explicitly; Tag makes each use distinct.
template <typename T, typename Tag>
class named_type {
 public:
  using value_type = T;
  constexpr named_type() = default;
  constexpr explicit named_type(T v) : value_(v) {}
  constexpr T operator()() const { return value_; }
  constexpr T value() const { return value_; }
  constexpr auto operator<=>(const named_type&) const = default;
  constexpr named_type& operator+=(T d) {
    value_ += d;
    return *this;
  }
  constexpr named_type operator+(T d) const { return named_type(value_ + d); }
  constexpr named_type operator-(T d) const { return named_type(value_ - d); }
  static constexpr named_type min() { return named_type(std::numeric_limits<T>::min()); }
  static constexpr named_type max() { return named_type(std::numeric_limits<T>::max()); }
  friend std::ostream& operator<<(std::ostream& os, const named_type& v) { return os << v.value_; }

 private:
  T value_{};
};

/// Absolute position of a record in a partition (Kafka's offset).
using offset = named_type<int64_t, struct offset_tag>;
/// Offset of a record relative to its segment's base offset (fits the index).
using relative_offset = named_type<uint32_t, struct relative_offset_tag>;
/// Byte position inside a segment's .log file.
using file_position = named_type<uint64_t, struct file_position_tag>;
/// Milliseconds since the Unix epoch.
using timestamp_ms = named_type<int64_t, struct timestamp_tag>;

/// Milliseconds from then to now, saturated to the int64 range: record
/// timestamps are the producer's and may be any value (found by the
/// log_recovery fuzzer: a segment created "at" -2^63 overflowed its age).
inline int64_t ms_between(timestamp_ms then, timestamp_ms now) {
  int64_t d = 0;
  if (__builtin_sub_overflow(now(), then(), &d)) {
    return now() > then() ? INT64_MAX : INT64_MIN;
  }
  return d;
}

}  // namespace actormq::storage

template <typename T, typename Tag>
struct std::hash<actormq::storage::named_type<T, Tag>> {
  size_t operator()(const actormq::storage::named_type<T, Tag>& v) const noexcept {
    return std::hash<T>{}(v.value());
  }
};
