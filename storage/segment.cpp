#include "storage/segment.h"

#include <fmt/format.h>

#include <vector>

#include "storage/errc.h"
#include "storage/logger.h"

namespace actormq::storage {

namespace L = batch_layout;

std::string segment::file_name(offset base, std::string_view ext) {
  return fmt::format("{:020}.{}", base(), ext);
}

segment::segment(std::shared_ptr<file_handle> f, offset base, size_t index_interval,
                 const std::filesystem::path& dir, timestamp_ms created)
    : file_(std::move(f)),
      base_(base),
      next_(base),
      index_interval_(index_interval),
      created_(created),
      index_(dir / file_name(base, "index")),
      time_index_(dir / file_name(base, "timeindex")) {}

result<std::unique_ptr<segment>> segment::create(const std::filesystem::path& dir, offset base,
                                                 size_t index_interval_bytes, timestamp_ms now) {
  auto f = file_handle::open(dir / file_name(base, "log"), true);
  if (!f) return f.error();
  if (auto st = (*f)->truncate(0); !st) return st.error();
  std::unique_ptr<segment> s(new segment(std::move(*f), base, index_interval_bytes, dir, now));
  s->index_.clear();
  s->time_index_.clear();
  if (auto st = s->index_.flush(); !st) return st.error();
  if (auto st = s->time_index_.flush(); !st) return st.error();
  return s;
}

result<std::unique_ptr<segment>> segment::open(const std::filesystem::path& dir, offset base,
                                               size_t index_interval_bytes, timestamp_ms now) {
  auto f = file_handle::open(dir / file_name(base, "log"), false);
  if (!f) return f.error();
  auto sz = (*f)->size();
  if (!sz) return sz.error();
  std::unique_ptr<segment> s(new segment(std::move(*f), base, index_interval_bytes, dir, now));
  s->size_ = *sz;
  return s;
}

result<std::optional<batch_header>> segment::header_at(file_position pos) const {
  if (pos() + L::header_size > size_) return std::optional<batch_header>{};
  uint8_t buf[L::header_size];
  if (auto st = file_->read_at(pos, buf); !st) return st.error();
  return std::optional<batch_header>(decode_header(buf));
}

void segment::index_batch(const batch_header& h, file_position pos) {
  auto rel = relative_offset(static_cast<uint32_t>(h.base_offset() - base_()));
  if (force_index_ || bytes_since_index_ >= index_interval_) {
    index_.add(rel, pos);
    bytes_since_index_ = 0;
    force_index_ = false;
  }
  bytes_since_index_ += h.size_bytes();
  if (h.max_timestamp > max_ts_) {
    max_ts_ = h.max_timestamp;
    time_index_.add(h.max_timestamp, rel);
  }
  if (pos() == 0) created_ = h.first_timestamp;
  next_ = h.next_offset();
}

result<segment_scan> segment::scan(bool check_crc, size_t max_batch_bytes) {
  segment_scan out;
  out.file_bytes = size_;
  index_.clear();
  time_index_.clear();
  force_index_ = true;
  bytes_since_index_ = 0;
  max_ts_ = timestamp_ms(-1);
  next_ = base_;
  std::vector<uint8_t> buf;
  uint64_t pos = 0;
  offset expect = base_;
  while (pos < size_) {
    if (size_ - pos < L::header_size) {
      out.problem = fmt::format("torn batch header ({} bytes) at position {}", size_ - pos, pos);
      break;
    }
    buf.resize(L::header_size);
    if (auto st = file_->read_at(file_position(pos), buf); !st) return st.error();
    batch_header h = decode_header(buf);
    out.first_bad_offset = h.base_offset;
    if (h.batch_length < static_cast<int32_t>(L::header_size - L::length_prefix) ||
        h.size_bytes() > max_batch_bytes) {
      out.problem = fmt::format("bad batch length {} at position {}", h.batch_length, pos);
      break;
    }
    if (h.base_offset < expect || h.last_offset_delta < 0 ||
        h.last_offset_delta != h.record_count - 1) {
      out.problem = fmt::format("non-monotonic offsets (batch base {}, expected >= {}) at position {}",
                                h.base_offset(), expect(), pos);
      break;
    }
    if (h.size_bytes() > size_ - pos) {
      out.problem = fmt::format("torn batch: {} of {} bytes at position {}", size_ - pos,
                                h.size_bytes(), pos);
      break;
    }
    if (check_crc) {
      buf.resize(h.size_bytes());
      if (auto st = file_->read_at(file_position(pos), buf); !st) return st.error();
      if (compute_crc(buf) != h.crc) {
        out.problem = fmt::format("CRC mismatch in batch at offset {} position {}", h.base_offset(), pos);
        break;
      }
    }
    index_batch(h, file_position(pos));
    expect = h.next_offset();
    pos += h.size_bytes();
    ++out.batches;
  }
  if (out.problem.empty()) out.first_bad_offset = offset(-1);
  out.valid_bytes = pos;
  out.next_offset = next_;
  return out;
}

status segment::load_indexes() {
  if (auto st = index_.load(size_ == 0 ? 1 : size_); !st) return st;
  if (auto st = time_index_.load(); !st) {
    index_.clear();
    return st;
  }
  // The index tells where the last indexed batch is; walk headers from there
  // to find the end offset (at most index_interval bytes of headers).
  uint64_t pos = 0;
  next_ = base_;
  if (!index_.entries().empty()) pos = index_.entries().back().pos();
  if (size_ > 0) {
    auto first = header_at(file_position(0));
    if (!first) return first.error();
    if (*first) created_ = (*first)->first_timestamp;
  }
  while (pos < size_) {
    auto h = header_at(file_position(pos));
    if (!h) return h.error();
    if (!*h || (*h)->batch_length <= 0 || (*h)->size_bytes() > size_ - pos) {
      return errc::corrupt_segment;
    }
    next_ = (*h)->next_offset();
    bytes_since_index_ += (*h)->size_bytes();
    pos += (*h)->size_bytes();
  }
  force_index_ = index_.entries().empty() && size_ == 0;
  if (!time_index_.entries().empty()) max_ts_ = time_index_.entries().back().ts;
  return {};
}

status segment::append(std::span<const uint8_t> batch, const batch_header& h) {
  if (auto st = file_->write_at(file_position(size_), batch); !st) {
    // A failed write may have left a partial batch: cut it so the file stays valid.
    (void)file_->truncate(size_);
    return st;
  }
  index_batch(h, file_position(size_));
  size_ += batch.size();
  return {};
}

result<std::optional<std::pair<file_position, batch_header>>> segment::locate(offset target) const {
  using found = std::optional<std::pair<file_position, batch_header>>;
  uint64_t pos = 0;
  if (target > base_) {
    uint64_t rel = static_cast<uint64_t>(target() - base_());
    if (rel > UINT32_MAX) rel = UINT32_MAX;
    if (auto e = index_.lookup(relative_offset(static_cast<uint32_t>(rel)))) pos = e->pos();
  }
  while (pos < size_) {
    auto h = header_at(file_position(pos));
    if (!h) return h.error();
    if (!*h) break;
    if ((*h)->last_offset() >= target) return found(std::pair{file_position(pos), **h});
    pos += (*h)->size_bytes();
  }
  return found{};
}

result<read_slice> segment::read(offset start, uint64_t max_bytes, offset end) const {
  read_slice out;
  out.file = file_;
  out.first_offset = out.next_offset = start;
  if (start >= next_ || start >= end) return out;
  auto first = locate(start);
  if (!first) return first.error();
  if (!*first) return out;
  auto [pos, h] = **first;
  out.position = pos;
  out.first_offset = h.base_offset;
  uint64_t p = pos();
  // Always include the first batch, even above max_bytes, so a consumer
  // makes progress past a large batch.
  while (true) {
    out.length += h.size_bytes();
    out.next_offset = h.next_offset();
    p += h.size_bytes();
    if (p >= size_ || out.next_offset >= end) break;
    auto nh = header_at(file_position(p));
    if (!nh) return nh.error();
    if (!*nh || out.length + (*nh)->size_bytes() > max_bytes || (*nh)->base_offset >= end) break;
    h = **nh;
  }
  return out;
}

result<std::optional<offset>> segment::offset_for_timestamp(timestamp_ms ts) const {
  uint64_t pos = 0;
  if (auto e = time_index_.lookup_before(ts)) {
    auto loc = locate(base_ + int64_t{e->rel()});
    if (!loc) return loc.error();
    if (*loc) pos = (*loc)->first();
  }
  while (pos < size_) {
    auto h = header_at(file_position(pos));
    if (!h) return h.error();
    if (!*h) break;
    if ((*h)->max_timestamp >= ts) return std::optional<offset>((*h)->base_offset);
    pos += (*h)->size_bytes();
  }
  return std::optional<offset>{};
}

result<offset> segment::truncate_to(offset o) {
  auto loc = locate(o);
  if (!loc) return loc.error();
  if (!*loc) return next_;
  auto [pos, h] = **loc;
  if (auto st = file_->truncate(pos()); !st) return st.error();
  size_ = pos();
  next_ = h.base_offset;
  uint32_t rel = static_cast<uint32_t>(h.base_offset() - base_());
  index_.truncate(relative_offset(rel));
  time_index_.truncate(relative_offset(rel));
  max_ts_ = time_index_.entries().empty() ? timestamp_ms(-1) : time_index_.entries().back().ts;
  bytes_since_index_ = index_.entries().empty() ? 0 : size_ - index_.entries().back().pos();
  force_index_ = index_.entries().empty();
  return next_;
}

status segment::truncate_bytes(uint64_t size) {
  if (auto st = file_->truncate(size); !st) return st;
  size_ = size;
  return {};
}

status segment::flush() {
  if (auto st = file_->datasync(); !st) return st;
  if (auto st = index_.flush(); !st) return st;
  return time_index_.flush();
}

status segment::remove() {
  std::error_code ec;
  std::filesystem::remove(file_->path(), ec);
  if (ec) return from_errno(ec.value());
  if (auto st = index_.remove_file(); !st) return st;
  return time_index_.remove_file();
}

status segment::quarantine(const std::filesystem::path& qdir) {
  std::error_code ec;
  std::filesystem::create_directories(qdir, ec);
  if (ec) return from_errno(ec.value());
  auto dir = file_->path().parent_path();
  for (const char* ext : {"log", "index", "timeindex"}) {
    auto from = dir / file_name(base_, ext);
    if (!std::filesystem::exists(from)) continue;
    std::filesystem::rename(from, qdir / file_name(base_, ext), ec);
    if (ec) return from_errno(ec.value());
  }
  return sync_directory(dir);
}

}  // namespace actormq::storage
