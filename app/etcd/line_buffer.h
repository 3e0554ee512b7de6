#pragma once
// line_buffer: splits a byte stream into '\n'-terminated lines. The watch
// stream carries one JSON object per line, but an HTTP chunk (and so a read)
// can end anywhere, mid-line or mid-UTF-8; bytes after the last '\n' wait
// for the next append.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace actormq::etcd {

class line_buffer {
 public:
  /// max_line bounds a line still waiting for its '\n' (see overflowed()).
  explicit line_buffer(size_t max_line = size_t{64} << 20) : max_line_(max_line) {}

  void append(std::string_view bytes) { buf_.append(bytes); }

  /// The next complete line without its '\n' (and without a '\r' before it),
  /// or nullopt until one is complete. Empty lines are skipped.
  std::optional<std::string> next_line();

  /// True when more than max_line bytes wait without a '\n': the peer is not
  /// sending lines.
  bool overflowed() const { return buf_.size() - start_ > max_line_; }
  /// Bytes received but not yet returned as a line.
  size_t pending() const { return buf_.size() - start_; }

 private:
  std::string buf_;
  size_t start_ = 0;  // first byte not yet returned
  size_t max_line_;
};

}  // namespace actormq::etcd
