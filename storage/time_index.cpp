#include "storage/time_index.h"

#include <algorithm>

#include "storage/errc.h"
#include "storage/file_handle.h"
#include "storage/record_batch.h"

namespace actormq::storage {

void time_index::add(timestamp_ms ts, relative_offset rel) {
  if (!entries_.empty() && (ts <= entries_.back().ts || rel <= entries_.back().rel)) return;
  entries_.push_back({ts, rel});
}

std::optional<time_index::entry> time_index::lookup_before(timestamp_ms target) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), target,
                             [](const entry& e, timestamp_ms t) { return e.ts < t; });
  if (it == entries_.begin()) return std::nullopt;
  return *std::prev(it);
}

void time_index::truncate(relative_offset target) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), target,
                             [](const entry& e, relative_offset t) { return e.rel < t; });
  entries_.erase(it, entries_.end());
  if (entries_.size() < persisted_) rewrite_ = true;
}

void time_index::clear() {
  entries_.clear();
  rewrite_ = true;
}

status time_index::load() {
  auto data = read_file(path_);
  if (!data) return data.error();
  entries_.clear();
  if (data->size() % entry_size != 0) return errc::corrupt_segment;
  auto* p = reinterpret_cast<const uint8_t*>(data->data());
  for (size_t i = 0; i < data->size(); i += entry_size) {
    entry e{timestamp_ms(load_le<int64_t>(p + i)), relative_offset(load_le<uint32_t>(p + i + 8))};
    if (!entries_.empty() && (e.ts <= entries_.back().ts || e.rel <= entries_.back().rel)) {
      entries_.clear();
      return errc::corrupt_segment;
    }
    entries_.push_back(e);
  }
  persisted_ = entries_.size();
  rewrite_ = false;
  return {};
}

status time_index::flush() {
  if (!rewrite_ && persisted_ == entries_.size()) return {};
  size_t from = rewrite_ ? 0 : persisted_;
  std::vector<uint8_t> buf((entries_.size() - from) * entry_size);
  for (size_t i = from; i < entries_.size(); ++i) {
    uint8_t* p = buf.data() + (i - from) * entry_size;
    store_le<int64_t>(p, entries_[i].ts());
    store_le<uint32_t>(p + 8, entries_[i].rel());
  }
  if (auto st = write_file_at(path_, file_position(from * entry_size), buf, rewrite_); !st) {
    return st;
  }
  persisted_ = entries_.size();
  rewrite_ = false;
  return {};
}

status time_index::remove_file() {
  return storage::remove_file(path_);
}

}  // namespace actormq::storage
