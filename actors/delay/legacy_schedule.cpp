#include "actors/delay/legacy_schedule.h"

#include <algorithm>
#include <system_error>

#include "actors/logger.h"
#include "storage/log_config.h"

namespace actormq::delay {

storage::result<std::unique_ptr<legacy_schedule>> legacy_schedule::open(
    const std::filesystem::path& dir, std::chrono::milliseconds width, size_t max_chunk) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir / "schedule", ec))
    return std::unique_ptr<legacy_schedule>();
  std::unique_ptr<legacy_schedule> l(new legacy_schedule());
  l->dir_ = dir;
  l->max_chunk_ = std::max<size_t>(max_chunk, 1);
  storage::log_config lc;
  lc.retention_ms = -1;  // read only: nothing is collected while moving
  lc.retention_bytes = -1;
  lc.flush = storage::flush_policy::never();
  lc.validate_records = false;
  lc.max_batch_bytes = 64u << 20;
  storage::recovery_report report;
  auto log = storage::log::open(dir / "log", lc, &report);
  if (!log) return log.error();
  l->log_ = std::move(*log);
  storage::schedule_store_config sc;
  sc.bucket_width = width;
  auto store = storage::schedule_store::open(dir / "schedule", sc, &report);
  if (!store) return store.error();
  l->store_ = std::move(*store);
  return l;
}

storage::status legacy_schedule::load_next_bucket() {
  bucket_.reset();
  entries_.clear();
  chunk_begin_ = chunk_end_ = 0;
  while (auto next = store_->next_bucket(storage::timestamp_ms(0))) {
    auto b = store_->load_bucket(*next);
    if (!b) return b.error();
    if (b->entries.empty()) {
      // Every entry of it was delivered before the upgrade.
      if (auto st = store_->remove_bucket(*next); !st) return st;
      continue;
    }
    bucket_ = *next;
    entries_ = std::move(b->entries);
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const auto& a, const auto& b) { return a.due < b.due; });
    return {};
  }
  return {};
}

storage::result<std::vector<schedule_envelope>> legacy_schedule::next_chunk() {
  while (true) {
    if (!bucket_ || chunk_begin_ >= entries_.size()) {
      if (auto st = load_next_bucket(); !st) return st.error();
      if (!bucket_) return std::vector<schedule_envelope>{};
    }
    auto out = read_chunk();
    if (!out.empty()) return out;
    // Every envelope of this chunk is unreadable: nothing to move.
    if (auto st = done(); !st) return st.error();
  }
}

std::vector<schedule_envelope> legacy_schedule::read_chunk() {
  // Up to max_chunk entries, cut where the due time changes (so "delivered
  // through its due" covers exactly the chunk), or a whole run of equal
  // due times when it is longer.
  size_t end = std::min(entries_.size(), chunk_begin_ + max_chunk_);
  if (end < entries_.size()) {
    size_t cut = end;
    while (cut > chunk_begin_ + 1 && entries_[cut].due == entries_[cut - 1].due) --cut;
    if (entries_[cut].due == entries_[cut - 1].due) {
      while (end < entries_.size() && entries_[end].due == entries_[end - 1].due) ++end;
    } else {
      end = cut;
    }
  }
  chunk_end_ = end;
  std::vector<schedule_envelope> out;
  out.reserve(end - chunk_begin_);
  chunk_lost_ = 0;
  for (size_t i = chunk_begin_; i < end; ++i) {
    const auto& e = entries_[i];
    auto slice = log_->read(storage::offset(static_cast<int64_t>(e.id)), 1);
    auto bytes = slice ? storage::copy_bytes(*slice) : storage::result<std::string>(slice.error());
    std::optional<schedule_envelope> env;
    if (bytes && !bytes->empty()) {
      auto d = schedule_envelope::decode(
          {reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()});
      if (d) env = std::move(*d);
    }
    if (!env) {
      ++chunk_lost_;
      actor_log().error(
          "delay-schedule: the previous release's delayed message at {} (due {}) is unreadable "
          "({}); not moved",
          e.id, e.due(), bytes ? "no such envelope" : bytes.error().message());
      continue;
    }
    out.push_back(std::move(*env));
  }
  chunk_moved_ = out.size();
  return out;
}

storage::status legacy_schedule::done() {
  if (!bucket_ || chunk_end_ <= chunk_begin_) return {};
  moved_ += chunk_moved_;
  lost_ += chunk_lost_;
  chunk_moved_ = chunk_lost_ = 0;
  const auto through = entries_[chunk_end_ - 1].due;
  chunk_begin_ = chunk_end_;
  storage::status st = chunk_begin_ >= entries_.size() ? store_->remove_bucket(*bucket_)
                                                       : store_->mark_delivered(through);
  if (!st) return st;
  return store_->flush();
}

storage::status legacy_schedule::finish() {
  if (auto st = store_->flush(); !st) return st;
  store_.reset();
  if (auto st = log_->close(); !st) return st;
  log_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (ec) return {ec, "remove " + dir_.string()};
  return {};
}

}  // namespace actormq::delay
