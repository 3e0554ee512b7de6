#pragma once
// result<T>: a value or an etcd::error, what every etcd client call resolves
// with. Like storage::result, but the error keeps a message (etcd's own text,
// the endpoint) beside the code, which a bare std::error_code cannot.

#include <cassert>
#include <utility>
#include <variant>

#include "app/etcd/etcd_error.h"

namespace actormq::etcd {

template <typename T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  result(error e) : v_(std::move(e)) { assert(std::get<1>(v_).code); }  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  /// The error; only valid when !has_value().
  const error& err() const { return std::get<1>(v_); }
  /// The error code, empty on success.
  std::error_code code() const { return has_value() ? std::error_code{} : std::get<1>(v_).code; }

 private:
  std::variant<T, error> v_;
};

}  // namespace actormq::etcd
