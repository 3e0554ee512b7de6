#include "storage/schedule_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>
#include <unordered_set>

#include "storage/crc32c.h"
#include "storage/errc.h"
#include "storage/logger.h"
#include "storage/record_batch.h"  // load_le / store_le

namespace actormq::storage {

namespace L = schedule_layout;

namespace {

constexpr std::string_view extension = ".sched";
constexpr size_t name_digits = 20;
// Records read per pread while reading a bucket file.
constexpr size_t load_chunk_records = 4096;

struct entry_key {
  uint8_t kind;
  uint64_t id;
  bool operator==(const entry_key&) const = default;
};
struct entry_key_hash {
  size_t operator()(const entry_key& k) const noexcept {
    return std::hash<uint64_t>{}(k.id * 0x9e3779b97f4a7c15ull ^ k.kind);
  }
};

struct parsed_record {
  schedule_record_type type;
  schedule_entry e;
};

std::array<uint8_t, L::header_size> encode_header(timestamp_ms start,
                                                  std::chrono::milliseconds width) {
  std::array<uint8_t, L::header_size> h{};
  store_le<uint32_t>(h.data(), L::magic);
  store_le<uint16_t>(h.data() + 4, L::version);
  store_le<uint16_t>(h.data() + 6, static_cast<uint16_t>(L::record_size));
  store_le<int64_t>(h.data() + 8, start());
  store_le<int64_t>(h.data() + 16, width.count());
  store_le<uint32_t>(h.data() + L::header_crc, crc32c(h.data(), L::header_crc));
  return h;
}

bool record_crc_ok(const uint8_t* r) {
  return load_le<uint32_t>(r) == crc32c(r + 4, L::record_size - 4);
}

void encode_record(uint8_t* r, schedule_record_type type, timestamp_ms due, uint8_t kind,
                   uint64_t id) {
  std::fill(r, r + L::record_size, uint8_t{0});
  r[L::record_type] = static_cast<uint8_t>(type);
  r[L::record_kind] = kind;
  store_le<int64_t>(r + L::record_due, due());
  store_le<uint64_t>(r + L::record_id, id);
  store_le<uint32_t>(r, crc32c(r + 4, L::record_size - 4));
}

// Parses whole records; counts and skips those with a bad CRC or type.
void parse_records(std::span<const uint8_t> bytes, std::vector<parsed_record>& out,
                   uint64_t& corrupt) {
  for (size_t pos = 0; pos + L::record_size <= bytes.size(); pos += L::record_size) {
    const uint8_t* r = bytes.data() + pos;
    const uint8_t type = r[L::record_type];
    if (!record_crc_ok(r) || type < 1 || type > 3) {
      ++corrupt;
      continue;
    }
    out.push_back({static_cast<schedule_record_type>(type),
                   {timestamp_ms(load_le<int64_t>(r + L::record_due)), r[L::record_kind],
                    load_le<uint64_t>(r + L::record_id)}});
  }
}

// Reads bytes [header, end) of a bucket file a chunk at a time and calls
// fn(chunk) with each chunk (whole records: chunks are record-aligned).
template <typename Fn>
status read_chunks(file_handle& f, uint64_t end, Fn&& fn) {
  std::vector<uint8_t> chunk(load_chunk_records * L::record_size);
  for (uint64_t pos = L::header_size; pos < end;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), end - pos));
    if (auto st = f.read_at(file_position(pos), {chunk.data(), n}); !st) return st;
    fn(std::span<const uint8_t>(chunk.data(), n));
    pos += n;
  }
  return {};
}

std::optional<int64_t> parse_file_name(const std::filesystem::path& p) {
  if (p.extension() != extension) return std::nullopt;
  const std::string stem = p.stem().string();
  if (stem.size() != name_digits) return std::nullopt;
  int64_t v = 0;
  for (char c : stem) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

std::string schedule_store::file_name(timestamp_ms bucket_start) {
  return fmt::format("{:020}{}", bucket_start(), extension);
}

schedule_store::schedule_store(std::filesystem::path dir, schedule_store_config cfg)
    : dir_(std::move(dir)), cfg_(cfg), width_(cfg.bucket_width) {}

result<std::unique_ptr<schedule_store>> schedule_store::open(const std::filesystem::path& dir,
                                                             schedule_store_config cfg,
                                                             recovery_report* report) {
  if (cfg.bucket_width.count() < 1 || cfg.max_open_files < 1) return errc::invalid_argument;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return from_errno(ec.value());
  std::unique_ptr<schedule_store> s(new schedule_store(dir, cfg));
  recovery_report local;
  if (auto st = s->recover(report ? *report : local); !st) return st.error();
  return s;
}

schedule_store::~schedule_store() {
  for (timestamp_ms start : dirty_) {
    auto it = buckets_.find(start);
    if (it == buckets_.end()) continue;
    if (auto st = write_buffered(start, it->second); !st) {
      logger().error("schedule store: losing {} buffered bytes of {}: {}",
                     it->second.buffered.size(), file_name(start), st.error().message());
    }
  }
}

status schedule_store::recover(recovery_report& report) {
  std::vector<std::pair<int64_t, std::filesystem::path>> files;
  std::error_code ec;
  for (const auto& de : std::filesystem::directory_iterator(dir_, ec)) {
    if (!de.is_regular_file()) continue;
    if (auto start = parse_file_name(de.path())) files.emplace_back(*start, de.path());
  }
  if (ec) return from_errno(ec.value());
  std::sort(files.begin(), files.end());

  bool width_from_disk = false;
  for (const auto& [start, path] : files) {
    auto f = file_handle::open(path, false);
    if (!f) return f.error();
    auto size = (*f)->size();
    if (!size) return size.error();

    if (*size < L::header_size) {
      // Created but its header never made it: nothing was lost.
      f->reset();
      std::filesystem::remove(path, ec);
      if (ec) return from_errno(ec.value());
      dir_dirty_ = true;
      report_event(report, "schedule store",
                   {recovery_event::kind::removed_stray_file, path, *size, offset(-1), offset(-1),
                    "shorter than a bucket header"});
      continue;
    }

    std::array<uint8_t, L::header_size> h{};
    if (auto st = (*f)->read_at(file_position(0), h); !st) return st;
    std::string problem;
    const int64_t width = load_le<int64_t>(h.data() + 16);
    if (load_le<uint32_t>(h.data() + L::header_crc) != crc32c(h.data(), L::header_crc)) {
      problem = "header CRC mismatch";
    } else if (load_le<uint32_t>(h.data()) != L::magic ||
               load_le<uint16_t>(h.data() + 4) != L::version ||
               load_le<uint16_t>(h.data() + 6) != L::record_size) {
      problem = "unknown magic, version or record size";
    } else if (load_le<int64_t>(h.data() + 8) != start) {
      problem = "header bucket start differs from the file name";
    } else if (width < 1 || start % width != 0) {
      problem = "bad bucket width";
    } else if (!width_from_disk) {
      if (width != width_.count()) {
        logger().warn(
            "schedule store: {} holds buckets of {} ms; keeping that instead of the "
            "configured {} ms",
            dir_.string(), width, width_.count());
      }
      width_ = std::chrono::milliseconds(width);
      width_from_disk = true;
    } else if (width != width_.count()) {
      problem =
          fmt::format("bucket width {} ms differs from the store's {} ms", width, width_.count());
    }
    if (!problem.empty()) {
      f->reset();
      const auto qdir = dir_ / "quarantine";
      std::filesystem::create_directories(qdir, ec);
      if (!ec) std::filesystem::rename(path, qdir / path.filename(), ec);
      if (ec) return from_errno(ec.value());
      dir_dirty_ = true;
      report_event(report, "schedule store",
                   {recovery_event::kind::quarantined_segment, path, *size, offset(-1), offset(-1),
                    problem});
      continue;
    }

    // The file ends after the last whole record whose CRC matches.
    uint64_t end = L::header_size + (*size - L::header_size) / L::record_size * L::record_size;
    while (end > L::header_size) {
      std::array<uint8_t, L::record_size> r{};
      if (auto st = (*f)->read_at(file_position(end - L::record_size), r); !st) return st;
      if (record_crc_ok(r.data())) break;
      end -= L::record_size;
    }
    if (end < *size) {
      if (auto st = (*f)->truncate(end); !st) return st;
      // Reported once the bytes are gone, before the sync (as framed_records::cut_tail).
      report_event(report, "schedule store",
                   {recovery_event::kind::truncated_tail, path, *size - end, offset(-1), offset(-1),
                    fmt::format("cut at byte {}", end)});
      if (auto st = (*f)->datasync(); !st) return st;
    }
    bucket& b = buckets_[timestamp_ms(start)];
    b.file_bytes = end;
    // The lowest entry id, for lowest_entry_id(): one sequential read.
    std::vector<parsed_record> records;
    uint64_t corrupt = 0;  // counted and logged by load_bucket
    auto st = read_chunks(**f, end, [&](std::span<const uint8_t> chunk) {
      records.clear();
      parse_records(chunk, records, corrupt);
      for (const auto& r : records) {
        if (r.type == schedule_record_type::entry) {
          b.min_entry_id = std::min(b.min_entry_id, r.e.id);
        }
      }
    });
    if (!st) return st;
  }
  if (dir_dirty_) {
    if (auto st = sync_directory(dir_); !st) return st;
    dir_dirty_ = false;
  }
  return {};
}

std::optional<uint64_t> schedule_store::lowest_entry_id() const {
  uint64_t lowest = UINT64_MAX;
  for (const auto& [start, b] : buckets_) lowest = std::min(lowest, b.min_entry_id);
  if (lowest == UINT64_MAX) return std::nullopt;
  return lowest;
}

timestamp_ms schedule_store::bucket_of(timestamp_ms due) const {
  const int64_t w = width_.count();
  const int64_t d = std::max<int64_t>(due(), 0);
  return timestamp_ms(d / w * w);
}

status schedule_store::add(const schedule_entry& e) {
  return append(schedule_record_type::entry, e.due, e.kind, e.id);
}

status schedule_store::cancel(const schedule_entry& e) {
  if (buckets_.count(bucket_of(e.due)) == 0) return {};  // nothing to cancel
  return append(schedule_record_type::cancel, e.due, e.kind, e.id);
}

status schedule_store::mark_delivered(timestamp_ms through) {
  if (buckets_.count(bucket_of(through)) == 0) return {};
  return append(schedule_record_type::delivered, through, 0, 0);
}

status schedule_store::append(schedule_record_type type, timestamp_ms due, uint8_t kind,
                              uint64_t id) {
  if (due() < 0) return errc::invalid_argument;
  const timestamp_ms start = bucket_of(due);
  auto [it, created] = buckets_.try_emplace(start);
  bucket& b = it->second;
  if (created) {
    const auto h = encode_header(start, width_);
    b.buffered.assign(h.begin(), h.end());
  }
  const size_t at = b.buffered.size();
  b.buffered.resize(at + L::record_size);
  encode_record(b.buffered.data() + at, type, due, kind, id);
  if (type == schedule_record_type::entry) b.min_entry_id = std::min(b.min_entry_id, id);
  dirty_.insert(start);
  if (b.buffered.size() >= cfg_.write_buffer_bytes) return write_buffered(start, b);
  return {};
}

result<file_handle*> schedule_store::ensure_open(timestamp_ms start, bucket& b) {
  if (b.file) {
    lru_.erase(b.last_use);
    b.last_use = ++use_clock_;
    lru_.emplace(b.last_use, start);
    return b.file.get();
  }
  while (open_files_ >= cfg_.max_open_files && !lru_.empty()) {
    const timestamp_ms victim = lru_.begin()->second;
    if (auto st = close_file(buckets_.at(victim)); !st) return st.error();
  }
  const bool create = b.file_bytes == 0;
  auto f = file_handle::open(path_of(start), create);
  if (!f) return f.error();
  if (create) {
    // A stale file of a bucket removed earlier may still be there.
    if (auto st = (*f)->truncate(0); !st) return st.error();
    dir_dirty_ = true;
  }
  b.file = std::move(*f);
  ++open_files_;
  b.last_use = ++use_clock_;
  lru_.emplace(b.last_use, start);
  return b.file.get();
}

status schedule_store::close_file(bucket& b) {
  if (!b.file) return {};
  if (b.unsynced) {
    // flush() promises a sync of everything written since the last one.
    if (auto st = b.file->datasync(); !st) return st;
    b.unsynced = false;
  }
  lru_.erase(b.last_use);
  b.file.reset();
  --open_files_;
  return {};
}

status schedule_store::write_buffered(timestamp_ms start, bucket& b) {
  if (b.buffered.empty()) return {};
  auto f = ensure_open(start, b);
  if (!f) return f.error();
  if (auto st = (*f)->write_at(file_position(b.file_bytes), b.buffered); !st) {
    // Best effort: leave the file at its last record boundary.
    (void)(*f)->truncate(b.file_bytes);
    return st;
  }
  b.file_bytes += b.buffered.size();
  // Release the capacity: thousands of buckets must not each keep a buffer.
  std::vector<uint8_t>().swap(b.buffered);
  b.unsynced = true;
  return {};
}

status schedule_store::flush() {
  for (timestamp_ms start : dirty_) {
    bucket& b = buckets_.at(start);
    if (auto st = write_buffered(start, b); !st) return st;
    if (b.unsynced && b.file) {
      if (auto st = b.file->datasync(); !st) return st;
      b.unsynced = false;
    }
  }
  dirty_.clear();
  if (dir_dirty_) {
    if (auto st = sync_directory(dir_); !st) return st;
    dir_dirty_ = false;
  }
  return {};
}

result<loaded_bucket> schedule_store::load_bucket(timestamp_ms start) {
  loaded_bucket out;
  out.start = start;
  auto it = buckets_.find(start);
  if (it == buckets_.end()) return out;
  bucket& b = it->second;

  std::vector<parsed_record> records;
  if (b.file_bytes > L::header_size) {
    auto f = ensure_open(start, b);
    if (!f) return f.error();
    records.reserve((b.file_bytes - L::header_size) / L::record_size);
    auto st = read_chunks(**f, b.file_bytes, [&](std::span<const uint8_t> chunk) {
      parse_records(chunk, records, out.corrupt_records);
    });
    if (!st) return st.error();
  }
  // A bucket not yet written starts its buffer with the file header.
  const size_t skip = b.file_bytes == 0 ? L::header_size : 0;
  if (b.buffered.size() > skip) {
    parse_records(std::span<const uint8_t>(b.buffered).subspan(skip), records, out.corrupt_records);
  }
  // An entry whose due time lies outside the bucket cannot have been added
  // here (found by the storage_files fuzzer): it is corrupt too.
  out.corrupt_records += std::erase_if(records, [&](const parsed_record& r) {
    return r.type == schedule_record_type::entry && bucket_of(r.e.due) != start;
  });
  if (out.corrupt_records > 0) {
    logger().warn(
        "schedule store: skipped {} records with a bad CRC or a due time outside the bucket in {}",
        out.corrupt_records, file_name(start));
  }

  // A cancel or delivered record applies to the records before it: walk
  // backwards, carrying the greatest delivered mark and the cancelled keys.
  int64_t delivered_through = std::numeric_limits<int64_t>::min();
  std::unordered_set<entry_key, entry_key_hash> cancelled;
  for (auto r = records.rbegin(); r != records.rend(); ++r) {
    switch (r->type) {
      case schedule_record_type::delivered:
        delivered_through = std::max(delivered_through, r->e.due());
        break;
      case schedule_record_type::cancel:
        cancelled.insert({r->e.kind, r->e.id});
        break;
      case schedule_record_type::entry:
        if (r->e.due() > delivered_through && cancelled.count({r->e.kind, r->e.id}) == 0) {
          out.entries.push_back(r->e);
        }
        break;
    }
  }
  std::reverse(out.entries.begin(), out.entries.end());
  return out;
}

status schedule_store::remove_bucket(timestamp_ms start) {
  auto it = buckets_.find(start);
  if (it == buckets_.end()) return {};
  bucket& b = it->second;
  if (b.file) {
    lru_.erase(b.last_use);
    b.file.reset();
    --open_files_;
  }
  if (b.file_bytes > 0) {
    std::error_code ec;
    std::filesystem::remove(path_of(start), ec);
    if (ec) return from_errno(ec.value());
    dir_dirty_ = true;
  }
  dirty_.erase(start);
  buckets_.erase(it);
  return {};
}

std::vector<timestamp_ms> schedule_store::buckets() const {
  std::vector<timestamp_ms> out;
  out.reserve(buckets_.size());
  for (const auto& [start, b] : buckets_) out.push_back(start);
  return out;
}

std::optional<timestamp_ms> schedule_store::next_bucket(timestamp_ms t) const {
  auto it = buckets_.lower_bound(t);
  if (it == buckets_.end()) return std::nullopt;
  return it->first;
}

uint64_t schedule_store::record_count() const {
  uint64_t n = 0;
  for (const auto& [start, b] : buckets_) {
    const uint64_t file_records =
        b.file_bytes > L::header_size ? (b.file_bytes - L::header_size) / L::record_size : 0;
    const size_t skip = b.file_bytes == 0 ? L::header_size : 0;
    const uint64_t buffered_records =
        b.buffered.size() > skip ? (b.buffered.size() - skip) / L::record_size : 0;
    n += file_records + buffered_records;
  }
  return n;
}

size_t schedule_store::buffered_bytes() const {
  size_t n = 0;
  for (timestamp_ms start : dirty_) n += buckets_.at(start).buffered.size();
  return n;
}

}  // namespace actormq::storage
