#pragma once
// A small streaming JSON writer for the inspector's state documents (no
// dependency: actors build one per inspection, every second under load).
// Commas and escaping are its job; nesting is the caller's (begin/end
// pairs). Non-finite doubles are written as null.
//
//   json_writer w;
//   w.begin_object().field("log_end", 42).key("isr").begin_array();
//   for (int b : isr) w.value(b);
//   w.end_array().end_object();
//   std::string text = w.take();

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace actormq {

class json_writer {
 public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  json_writer& key(std::string_view k);

  json_writer& value(std::string_view s);
  json_writer& value(const char* s) { return value(std::string_view{s}); }
  json_writer& value(const std::string& s) { return value(std::string_view{s}); }
  json_writer& value(bool b);
  json_writer& value(double d);
  json_writer& value(float d) { return value(static_cast<double>(d)); }
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  json_writer& value(T n) {
    separate();
    out_ += std::to_string(n);
    return *this;
  }
  json_writer& null();
  /// Text that already is one JSON value (another writer's output).
  json_writer& raw(std::string_view json);

  template <class T>
  json_writer& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

  /// The document so far; the writer is empty afterwards.
  std::string take();

  /// s with JSON string escapes, without the quotes.
  static void escape(std::string& out, std::string_view s);

 private:
  void separate();

  std::string out_;
  /// Per open object or array: whether it has a member yet.
  std::vector<bool> has_member_;
  bool after_key_ = false;
};

}  // namespace actormq
