#include "storage/offset_index.h"

#include <algorithm>

#include "storage/errc.h"
#include "storage/file_handle.h"
#include "storage/record_batch.h"

namespace actormq::storage {

void offset_index::add(relative_offset rel, file_position pos) {
  if (!entries_.empty() && (rel <= entries_.back().rel || pos <= entries_.back().pos)) return;
  entries_.push_back({rel, pos});
}

std::optional<offset_index::entry> offset_index::lookup(relative_offset target) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), target,
                             [](relative_offset t, const entry& e) { return t < e.rel; });
  if (it == entries_.begin()) return std::nullopt;
  return *std::prev(it);
}

std::optional<offset_index::entry> offset_index::lookup_position(file_position target) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), target,
                             [](file_position t, const entry& e) { return t < e.pos; });
  if (it == entries_.begin()) return std::nullopt;
  return *std::prev(it);
}

void offset_index::truncate(relative_offset target) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), target,
                             [](const entry& e, relative_offset t) { return e.rel < t; });
  entries_.erase(it, entries_.end());
  if (entries_.size() < persisted_) rewrite_ = true;
}

void offset_index::clear() {
  entries_.clear();
  rewrite_ = true;
}

status offset_index::load(uint64_t max_position) {
  auto data = read_file(path_);
  if (!data) return data.error();
  entries_.clear();
  if (data->size() % entry_size != 0) return errc::corrupt_segment;
  auto* p = reinterpret_cast<const uint8_t*>(data->data());
  for (size_t i = 0; i < data->size(); i += entry_size) {
    entry e{relative_offset(load_le<uint32_t>(p + i)), file_position(load_le<uint32_t>(p + i + 4))};
    bool ordered = entries_.empty() || (e.rel > entries_.back().rel && e.pos > entries_.back().pos);
    if (!ordered || e.pos() >= max_position) {
      entries_.clear();
      return errc::corrupt_segment;
    }
    entries_.push_back(e);
  }
  persisted_ = entries_.size();
  rewrite_ = false;
  return {};
}

status offset_index::flush() {
  if (!rewrite_ && persisted_ == entries_.size()) return {};
  size_t from = rewrite_ ? 0 : persisted_;
  std::vector<uint8_t> buf((entries_.size() - from) * entry_size);
  for (size_t i = from; i < entries_.size(); ++i) {
    uint8_t* p = buf.data() + (i - from) * entry_size;
    store_le<uint32_t>(p, entries_[i].rel());
    store_le<uint32_t>(p + 4, static_cast<uint32_t>(entries_[i].pos()));
  }
  if (auto st = write_file_at(path_, file_position(from * entry_size), buf, rewrite_); !st) {
    return st;
  }
  persisted_ = entries_.size();
  rewrite_ = false;
  return {};
}

status offset_index::remove_file() {
  return storage::remove_file(path_);
}

}  // namespace actormq::storage
