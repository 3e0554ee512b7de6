#include "storage/header_reader.h"

#include <algorithm>

namespace actormq::storage {

namespace L = batch_layout;

header_reader::header_reader(const file_handle& file, uint64_t size, size_t window)
    : file_(file), size_(size), window_(std::max(window, L::header_size)) {}

result<std::optional<batch_header>> header_reader::at(uint64_t pos) {
  if (pos + L::header_size > size_) return std::optional<batch_header>{};
  bool inside = pos >= buf_pos_ && pos + L::header_size <= buf_pos_ + buf_len_;
  if (!inside) {
    if (reads_ > 0 && served_since_refill_ <= 1) header_only_ = true;
    size_t want = header_only_ ? L::header_size
                               : static_cast<size_t>(std::min<uint64_t>(window_, size_ - pos));
    if (buf_.size() < want) buf_.resize(want);
    if (auto st = file_.read_at(file_position(pos), {buf_.data(), want}); !st) {
      buf_len_ = 0;
      return st.error();
    }
    buf_pos_ = pos;
    buf_len_ = want;
    served_since_refill_ = 0;
    ++reads_;
  }
  ++served_since_refill_;
  return std::optional<batch_header>(
      decode_header({buf_.data() + (pos - buf_pos_), L::header_size}));
}

}  // namespace actormq::storage
