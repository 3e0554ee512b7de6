#pragma once
// Little-endian field writer and bounds-checked reader for the bodies of the
// small checksummed record files (txn_log, offset_store). Plain helpers, no
// I/O.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/record_batch.h"  // load_le / store_le

namespace actormq::storage {

/// Appends fixed-width little-endian integers and raw bytes to a buffer.
class byte_writer {
 public:
  explicit byte_writer(std::vector<uint8_t>& out) : out_(out) {}
  template <typename T>
  void put(T v) {
    const size_t at = out_.size();
    out_.resize(at + sizeof(T));
    store_le<T>(out_.data() + at, v);
  }
  void put_bytes(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }

 private:
  std::vector<uint8_t>& out_;
};

/// Reads what byte_writer wrote; every get fails (false) past the end.
class byte_reader {
 public:
  explicit byte_reader(std::span<const uint8_t> in) : in_(in) {}
  template <typename T>
  bool get(T& v) {
    if (in_.size() - pos_ < sizeof(T)) return false;
    v = load_le<T>(in_.data() + pos_);
    pos_ += sizeof(T);
    return true;
  }
  bool get_bytes(size_t n, std::string& s) {
    if (in_.size() - pos_ < n) return false;
    s.assign(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool at_end() const { return pos_ == in_.size(); }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

}  // namespace actormq::storage
