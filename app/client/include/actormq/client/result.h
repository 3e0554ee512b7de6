#pragma once
// error and result<T>: how every fallible client call reports failure.

#include <cassert>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "actormq/client/errc.h"

namespace actormq::client {

/// An error code plus a human-readable message (the broker's text when the
/// broker refused the request).
struct error {
  std::error_code code;
  std::string message;

  error() = default;
  error(std::error_code c, std::string msg = {}) : code(c), message(std::move(msg)) {}
  error(errc e, std::string msg = {}) : code(make_error_code(e)), message(std::move(msg)) {}

  explicit operator bool() const { return static_cast<bool>(code); }
  /// The client errc, or errc::internal for a code from another category.
  errc value() const {
    return code.category() == client_category() ? static_cast<errc>(code.value()) : errc::internal;
  }
  bool is(errc e) const { return code == make_error_code(e); }
  /// "unknown topic: no topic named 'x'" (code text, then message if any).
  std::string to_string() const {
    if (!code) return "success";
    return message.empty() ? code.message() : code.message() + ": " + message;
  }
};

/// A value or an error.
template <typename T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  result(error e) : v_(std::move(e)) { assert(std::get<1>(v_).code); }        // NOLINT
  result(errc e, std::string msg = {}) : result(error(e, std::move(msg))) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  /// The error; a default (success) error when has_value().
  error err() const { return has_value() ? error{} : std::get<1>(v_); }

 private:
  std::variant<T, error> v_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(error e) : e_(std::move(e)) {}                            // NOLINT
  result(errc e, std::string msg = {}) : e_(e, std::move(msg)) {}  // NOLINT
  bool has_value() const { return !e_.code; }
  explicit operator bool() const { return has_value(); }
  error err() const { return e_; }

 private:
  error e_;
};

}  // namespace actormq::client
