#pragma once
// byte_buffer: a fetched partition's batch bytes. Unlike std::string, sizing
// it for a read leaves the bytes as they are (no zero fill before the
// socket overwrites them: a pass over every fetched byte saved).
//
// Plain C++; moved, not copied.

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace actormq::client::detail {

class byte_buffer {
 public:
  byte_buffer() = default;
  byte_buffer(byte_buffer&&) noexcept = default;
  byte_buffer& operator=(byte_buffer&&) noexcept = default;
  byte_buffer(const byte_buffer&) = delete;
  byte_buffer& operator=(const byte_buffer&) = delete;

  /// n bytes of unspecified value, to be written through data().
  char* resize_for_overwrite(size_t n) {
    data_.reset(n ? new char[n] : nullptr);
    size_ = n;
    return data_.get();
  }
  /// A copy of bytes.
  void assign(std::string_view bytes) {
    char* to = resize_for_overwrite(bytes.size());
    if (!bytes.empty()) std::memcpy(to, bytes.data(), bytes.size());
  }

  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
};

}  // namespace actormq::client::detail
