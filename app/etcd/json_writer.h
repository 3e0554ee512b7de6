#pragma once
// json_writer: builds the small JSON request bodies the etcd gateway takes.
// Commas are placed by the writer; strings are escaped (the bodies we send
// only hold base64 and decimal digits, but a writer that cannot emit invalid
// JSON costs nothing). 64-bit numbers are written as JSON strings, as the
// gateway (protobuf's JSON mapping) expects for int64 fields.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace actormq::etcd {

class json_writer {
 public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  /// The name of the next member of the current object.
  json_writer& key(std::string_view name);
  json_writer& string(std::string_view s);
  /// A protobuf int64: written as a quoted decimal.
  json_writer& int64(int64_t v);
  json_writer& boolean(bool b);

  /// key(name).string(base64 of bytes)
  json_writer& bytes_member(std::string_view name, std::string_view bytes);
  json_writer& int64_member(std::string_view name, int64_t v) { return key(name).int64(v); }
  json_writer& string_member(std::string_view name, std::string_view s) {
    return key(name).string(s);
  }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void before_value();

  std::string out_;
  // One entry per open object/array: true until its first element is written.
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace actormq::etcd
