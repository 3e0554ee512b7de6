#include "storage/segment.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "storage/errc.h"
#include "storage/header_reader.h"
#include "storage/logger.h"

namespace actormq::storage {

namespace L = batch_layout;

result<std::string> copy_bytes(const read_slice& slice) {
  std::string out(slice.length, '\0');
  if (slice.length == 0) return out;
  if (auto st =
          slice.file->read_at(slice.position, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
      !st) {
    return st.error();
  }
  return out;
}

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
  next_ = h.next_offset();
}

namespace {

// Why h, read at pos, cannot be the batch expected there; empty when it can.
// Batches of a segment are contiguous (each starts at the offset after the
// previous one), which also catches a corrupt base_offset, the one field the
// CRC does not cover.
std::string header_problem(const batch_header& h, offset expect, uint64_t pos) {
  if (h.batch_length < static_cast<int32_t>(L::header_size - L::length_prefix)) {
    return fmt::format("bad batch length {} at position {}", h.batch_length, pos);
  }
  if (h.magic != L::current_magic) {
    return fmt::format("bad magic {} at position {}", h.magic, pos);
  }
  if (h.record_count < 1 || h.last_offset_delta != h.record_count - 1) {
    return fmt::format("bad record count {} (last offset delta {}) at position {}", h.record_count,
                       h.last_offset_delta, pos);
  }
  if (h.base_offset != expect) {
    return fmt::format("batch base offset {} where {} was expected at position {}", h.base_offset(),
                       expect(), pos);
  }
  return {};
}

}  // namespace

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
  while (pos < size_) {
    if (size_ - pos < L::header_size) {
      out.problem = fmt::format("torn batch header ({} bytes) at position {}", size_ - pos, pos);
      break;
    }
    buf.resize(L::header_size);
    if (auto st = file_->read_at(file_position(pos), buf); !st) return st.error();
    batch_header h = decode_header(buf);
    out.problem = header_problem(h, next_, pos);
    if (out.problem.empty() && h.size_bytes() > max_batch_bytes) {
      out.problem = fmt::format("bad batch length {} at position {}", h.batch_length, pos);
    }
    if (!out.problem.empty()) break;
    if (h.size_bytes() > size_ - pos) {
      out.problem = fmt::format("torn batch: {} of {} bytes at position {}", size_ - pos,
                                h.size_bytes(), pos);
      break;
    }
    if (check_crc) {
      buf.resize(h.size_bytes());
      if (auto st = file_->read_at(file_position(pos), buf); !st) return st.error();
      if (compute_crc(buf) != h.crc) {
        out.problem =
            fmt::format("CRC mismatch in batch at offset {} position {}", h.base_offset(), pos);
        break;
      }
    }
    if (pos == 0) created_ = std::min(created_, h.first_timestamp);
    index_batch(h, file_position(pos));
    pos += h.size_bytes();
    ++out.batches;
  }
  out.valid_bytes = pos;
  out.next_offset = next_;
  verified_ = check_crc ? pos : 0;
  bad_at_.reset();
  if (!out.problem.empty()) {
    out.first_bad_offset = next_;
    // Best effort, for the report: how far the offsets in the dropped bytes
    // went, following headers that still chain.
    offset expect = next_;
    while (size_ - pos >= L::header_size) {
      buf.resize(L::header_size);
      if (auto st = file_->read_at(file_position(pos), buf); !st) break;
      batch_header h = decode_header(buf);
      if (h.base_offset != expect || h.record_count < 1 ||
          h.last_offset_delta != h.record_count - 1) {
        break;
      }
      out.dropped_until = h.next_offset();
      if (!header_problem(h, expect, pos).empty() || h.size_bytes() > size_ - pos) break;
      expect = h.next_offset();
      pos += h.size_bytes();
    }
  }
  return out;
}

status segment::load_indexes() {
  if (auto st = index_.load(size_ == 0 ? 1 : size_); !st) return st;
  if (auto st = time_index_.load(); !st) {
    index_.clear();
    return st;
  }
  auto unusable = [this](const std::string& why) -> status {
    logger().warn("segment {}: index files not usable: {}", path().string(), why);
    index_.clear();
    time_index_.clear();
    next_ = base_;
    max_ts_ = timestamp_ms(-1);
    force_index_ = true;
    bytes_since_index_ = 0;
    return errc::corrupt_segment;
  };
  next_ = base_;
  max_ts_ = timestamp_ms(-1);
  force_index_ = true;
  bytes_since_index_ = 0;
  if (size_ == 0) {
    if (!index_.entries().empty() || !time_index_.entries().empty()) {
      return unusable("entries for an empty segment");
    }
    return {};
  }
  // Copies: the walk below appends to the indexes.
  std::optional<offset_index::entry> last_entry;
  if (!index_.entries().empty()) last_entry = index_.entries().back();
  std::optional<time_index::entry> last_time;
  if (!time_index_.entries().empty()) last_time = time_index_.entries().back();
  const auto& idx = index_.entries();
  const auto& tidx = time_index_.entries();
  // The first batch is always indexed, in both indexes when its timestamp
  // is set.
  if (idx.empty() || idx.front().rel() != 0 || idx.front().pos() != 0) {
    return unusable("no offset index entry for the first batch");
  }
  auto first = header_at(file_position(0));
  if (!first) return first.error();
  if (!*first) return unusable("torn first batch header");
  if (auto why = header_problem(**first, base_, 0); !why.empty()) return unusable(why);
  if ((*first)->max_timestamp > max_ts_ &&
      (tidx.empty() || tidx.front().rel() != 0 || tidx.front().ts != (*first)->max_timestamp)) {
    return unusable("no time index entry for the first batch");
  }
  // Walk the headers from the last indexed batch to the end, indexing them as
  // append did: this checks the last entry, finds next_offset and completes
  // an index that misses its last entries.
  uint64_t pos = last_entry->pos();
  offset expect = base_ + int64_t{last_entry->rel()};
  if (last_time) max_ts_ = last_time->ts;
  force_index_ = false;
  header_reader headers(*file_, size_);
  while (pos < size_) {
    auto h = headers.at(pos);
    if (!h) return h.error();
    if (!*h) return unusable(fmt::format("torn batch header at position {}", pos));
    if (auto why = header_problem(**h, expect, pos); !why.empty()) return unusable(why);
    if ((*h)->size_bytes() > size_ - pos) {
      return unusable(fmt::format("batch at position {} passes the end of the file", pos));
    }
    index_batch(**h, file_position(pos));
    expect = (*h)->next_offset();
    pos += (*h)->size_bytes();
  }
  // The last time index entry names the batch that holds the segment's
  // greatest timestamp.
  if (last_time) {
    offset at = base_ + int64_t{last_time->rel()};
    if (at >= next_) return unusable("time index entry past the end of the segment");
    auto loc = locate(at);
    if (!loc) return loc.error();
    if (!*loc || (*loc)->second.base_offset != at ||
        (*loc)->second.max_timestamp != last_time->ts) {
      return unusable(fmt::format("time index entry {} at offset {} does not match its batch",
                                  last_time->ts(), at()));
    }
  }
  created_ = std::min(created_, (*first)->first_timestamp);
  return {};
}

status segment::append(std::span<const uint8_t> batch, const batch_header& h) {
  if (auto st = file_->write_at(file_position(size_), batch); !st) {
    // A failed write may have left a partial batch: cut it so the file stays valid.
    (void)file_->truncate(size_);
    return st;
  }
  index_batch(h, file_position(size_));
  if (verified_ == size_) verified_ += batch.size();  // the log validated it, CRC included
  size_ += batch.size();
  return {};
}

std::string segment::walk_problem(const batch_header& h, offset expect, uint64_t pos) const {
  auto why = header_problem(h, expect, pos);
  if (why.empty() && pos + h.size_bytes() > size_) {
    why = fmt::format("batch of {} bytes at position {} passes the end ({} bytes)", h.size_bytes(),
                      pos, size_);
  }
  return why;
}

void segment::report_corruption(const std::string& why) const {
  if (corruption_reported_) return;  // once per segment: readers retry
  corruption_reported_ = true;
  logger().error("segment {}: corrupt: {}; reads from there fail with corrupt_segment",
                 path().string(), why);
}

status segment::verify_through(uint64_t end) const {
  end = std::min(end, size_);
  std::vector<uint8_t> buf;
  while (!bad_at_ && verified_ < end) {
    if (size_ - verified_ < L::header_size) break;  // a walk stops there anyway
    buf.resize(L::header_size);
    if (auto st = file_->read_at(file_position(verified_), buf); !st) return st;
    const batch_header h = decode_header(buf);
    std::string why;
    if (h.batch_length < static_cast<int32_t>(L::header_size - L::length_prefix) ||
        h.size_bytes() > size_ - verified_) {
      why = fmt::format("bad batch length {} at position {}", h.batch_length, verified_);
    } else {
      buf.resize(h.size_bytes());
      if (auto st = file_->read_at(file_position(verified_), buf); !st) return st;
      if (compute_crc(buf) != h.crc) {
        why = fmt::format("CRC mismatch in batch at offset {} position {}", h.base_offset(),
                          verified_);
      }
    }
    if (!why.empty()) {
      bad_at_ = verified_;
      report_corruption(why);
      break;
    }
    verified_ += h.size_bytes();
  }
  return {};
}

void segment::forget_past_end() {
  verified_ = std::min(verified_, size_);
  if (bad_at_ && *bad_at_ >= size_) bad_at_.reset();
}

result<std::optional<std::pair<file_position, batch_header>>> segment::locate(offset target) const {
  header_reader headers(*file_, size_);
  return locate(target, headers);
}

result<std::optional<std::pair<file_position, batch_header>>> segment::locate(
    offset target, header_reader& headers) const {
  using found = std::optional<std::pair<file_position, batch_header>>;
  uint64_t pos = 0;
  std::optional<offset> indexed;  // the base offset the index promises at pos
  if (target > base_) {
    uint64_t rel = static_cast<uint64_t>(target() - base_());
    if (rel > UINT32_MAX) rel = UINT32_MAX;
    if (auto e = index_.lookup(relative_offset(static_cast<uint32_t>(rel)))) {
      pos = e->pos();
      indexed = base_ + int64_t{e->rel()};
    }
  }
  offset expect = indexed ? *indexed : base_;  // the base offset of the batch at pos
  while (pos < size_) {
    auto h = headers.at(pos);
    if (!h) return h.error();
    if (indexed) {
      // A wrong entry must not send a read into the middle of a batch: fall
      // back to walking from the start.
      if (!*h || (*h)->base_offset != *indexed) {
        logger().error(
            "segment {}: index entry for offset {} at position {} does not match the log",
            path().string(), (*indexed)(), pos);
        pos = 0;
        expect = base_;
        indexed.reset();
        continue;
      }
      indexed.reset();
    }
    if (!*h) break;
    // Headers are walked, not CRC-checked (a closed segment is trusted
    // after a clean shutdown): one that cannot be the next batch is
    // corruption, and nothing from it on is served.
    if (auto why = walk_problem(**h, expect, pos); !why.empty()) {
      report_corruption(why);
      return errc::corrupt_segment;
    }
    if ((*h)->last_offset() >= target) return found(std::pair{file_position(pos), **h});
    expect = (*h)->next_offset();
    pos += (*h)->size_bytes();
  }
  return found{};
}

result<read_slice> segment::read(offset start, uint64_t max_bytes, offset end) const {
  read_slice out;
  out.file = file_;
  out.first_offset = out.next_offset = start;
  if (start >= next_ || start >= end) return out;
  // One buffer for the walk from the index entry to start and on to
  // max_bytes.
  header_reader headers(*file_, size_,
                        static_cast<size_t>(std::min<uint64_t>(
                            header_reader::default_window,
                            std::max<uint64_t>(max_bytes, index_interval_) + L::header_size)));
  auto first = locate(start, headers);
  if (!first) return first.error();
  if (!*first) return out;
  auto [pos, h] = **first;
  // A batch is sent whole or not at all: one that crosses end (a high
  // watermark inside it) waits until end moves past it.
  if (h.last_offset() >= end) return out;
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
    auto nh = headers.at(p);
    if (!nh) return nh.error();
    if (!*nh) break;
    if (auto why = walk_problem(**nh, out.next_offset, p); !why.empty()) {
      report_corruption(why);  // the batches before it are served; a read from it fails
      break;
    }
    if (out.length + (*nh)->size_bytes() > max_bytes || (*nh)->last_offset() >= end) break;
    h = **nh;
  }
  // Nothing is served before its CRC was checked once (a closed segment's
  // first reads pay for it); a batch that fails ends what is served.
  const uint64_t slice_end = pos() + out.length;
  if (auto st = verify_through(slice_end); !st) return st.error();
  if (bad_at_ && *bad_at_ < slice_end) {
    if (*bad_at_ <= pos()) return errc::corrupt_segment;
    uint64_t q = pos();
    while (q < *bad_at_) {  // the batches before it, whose headers were walked above
      auto bh = headers.at(q);
      if (!bh) return bh.error();
      if (!*bh) return errc::corrupt_segment;
      out.next_offset = (*bh)->next_offset();
      q += (*bh)->size_bytes();
    }
    out.length = q - pos();
  }
  return out;
}

result<std::optional<offset>> segment::offset_for_timestamp(timestamp_ms ts) const {
  uint64_t pos = 0;
  header_reader headers(*file_, size_);
  if (auto e = time_index_.lookup_before(ts)) {
    auto loc = locate(base_ + int64_t{e->rel()}, headers);
    if (!loc) return loc.error();
    if (*loc) pos = (*loc)->first();
  }
  while (pos < size_) {
    auto h = headers.at(pos);
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
  forget_past_end();
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
  forget_past_end();
  return {};
}

status segment::flush() {
  if (auto st = file_->datasync(); !st) return st;
  return flush_indexes();
}

status segment::flush_indexes() {
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
