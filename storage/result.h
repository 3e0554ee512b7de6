#pragma once
// result<T>: a value or a std::error_code, the return type of fallible storage
// calls (a small stand-in for C++23 std::expected). An error may carry a
// detail text for people (which file, which line, expected vs got); the code
// is what callers branch on, the detail is what they log.

#include <cassert>
#include <memory>
#include <string>
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
  /// An error with a detail text (see detail()).
  result(std::error_code ec, std::string detail)
      : v_(ec), detail_(std::make_shared<const std::string>(std::move(detail))) {
    assert(ec);
  }

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
  /// The detail text of an error; empty when there is none.
  const std::string& detail() const { return detail_ ? *detail_ : empty_detail(); }
  /// "<detail>: <code message>", or the code message alone.
  std::string message() const {
    return detail().empty() ? error().message() : detail() + ": " + error().message();
  }

 private:
  static const std::string& empty_detail() {
    static const std::string empty;
    return empty;
  }
  std::variant<T, std::error_code> v_;
  std::shared_ptr<const std::string> detail_;  // shared: results are copied
};

/// result<void>: success or an error code.
template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(std::error_code ec) : ec_(ec) {}  // NOLINT
  template <typename E, typename = std::enable_if_t<std::is_error_code_enum_v<E>>>
  result(E e) : ec_(e) {}  // NOLINT
  /// An error with a detail text (see detail()).
  result(std::error_code ec, std::string detail)
      : ec_(ec), detail_(std::make_shared<const std::string>(std::move(detail))) {
    assert(ec);
  }
  bool has_value() const { return !ec_; }
  explicit operator bool() const { return has_value(); }
  std::error_code error() const { return ec_; }
  const std::string& detail() const { return detail_ ? *detail_ : empty_detail(); }
  std::string message() const {
    return detail().empty() ? ec_.message() : detail() + ": " + ec_.message();
  }

 private:
  static const std::string& empty_detail() {
    static const std::string empty;
    return empty;
  }
  std::error_code ec_;
  std::shared_ptr<const std::string> detail_;
};

using status = result<void>;

}  // namespace actormq::storage
