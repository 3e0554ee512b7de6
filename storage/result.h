#pragma once
// result<T>: a value or a std::error_code, the return type of fallible storage
// calls (a small stand-in for C++23 std::expected).

#include <cassert>
#include <system_error>
#include <utility>
#include <variant>

namespace actormq::storage {

template <typename T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  result(std::error_code ec) : v_(ec) { assert(ec); }  // NOLINT
  template <typename E, typename = std::enable_if_t<std::is_error_code_enum_v<E>>>
  result(E e) : result(std::error_code(e)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  std::error_code error() const { return has_value() ? std::error_code{} : std::get<1>(v_); }

 private:
  std::variant<T, std::error_code> v_;
};

/// result<void>: success or an error code.
template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(std::error_code ec) : ec_(ec) {}  // NOLINT
  template <typename E, typename = std::enable_if_t<std::is_error_code_enum_v<E>>>
  result(E e) : ec_(e) {}  // NOLINT
  bool has_value() const { return !ec_; }
  explicit operator bool() const { return has_value(); }
  std::error_code error() const { return ec_; }

 private:
  std::error_code ec_;
};

using status = result<void>;

}  // namespace actormq::storage
