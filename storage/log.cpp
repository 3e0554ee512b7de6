#include "storage/log.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <limits>
#include <map>
#include <vector>

#include "storage/errc.h"
#include "storage/file_handle.h"
#include "storage/logger.h"
#include "storage/offset_checkpoint.h"

namespace actormq::storage {

namespace fs = std::filesystem;

timestamp_ms system_now() {
  using namespace std::chrono;
  return timestamp_ms(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

namespace {
constexpr const char* clean_marker = ".clean_shutdown";
constexpr const char* log_start_file = "log_start";
constexpr const char* recovery_point_file = "recovery-point";
/// The largest batch the format can describe (batch_length is an int32).
constexpr size_t max_stored_batch_bytes =
    batch_layout::length_prefix + static_cast<size_t>(std::numeric_limits<int32_t>::max());

// Parses "<20 digits>.<ext>"; returns the base offset.
std::optional<int64_t> parse_segment_name(const std::string& name, std::string_view ext) {
  if (name.size() != 21 + ext.size() || name.compare(21, ext.size(), ext) != 0 || name[20] != '.') {
    return std::nullopt;
  }
  int64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

// Cuts a segment's bytes from the first bad batch a scan met and reports it.
status cut_bad_tail(segment& s, const segment_scan& scan, recovery_report& report) {
  uint64_t dropped = scan.file_bytes - scan.valid_bytes;
  if (auto st = s.truncate_bytes(scan.valid_bytes); !st) return st;
  report_event(report, "log",
               {recovery_event::kind::truncated_tail, s.path(), dropped, scan.first_bad_offset,
                scan.dropped_until, scan.problem});
  return {};
}

/// Moves a segment aside for an operator, reporting [its base, until).
status quarantine(segment& s, const fs::path& qdir, uint64_t bytes, offset until, std::string why,
                  recovery_report& report) {
  if (auto st = s.quarantine(qdir); !st) return st;
  report_event(report, "log",
               {recovery_event::kind::quarantined_segment, s.path(), bytes, s.base_offset(), until,
                std::move(why)});
  return {};
}
}  // namespace

log::log(fs::path dir, log_config cfg)
    : dir_(std::move(dir)),
      cfg_(std::move(cfg)),
      point_(std::make_shared<recovery_point>(dir_ / recovery_point_file)) {
  if (!cfg_.clock) cfg_.clock = system_now;
}

log::~log() {
  if (!closed_) (void)close();
}

result<std::unique_ptr<log>> log::open(const fs::path& dir, log_config cfg,
                                       recovery_report* report) {
  if (cfg.segment_bytes == 0 || cfg.segment_bytes >= (1ull << 32) || cfg.max_batch_bytes == 0 ||
      cfg.index_interval_bytes == 0) {
    return errc::invalid_argument;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    logger().error("create {}: {}", dir.string(), ec.message());
    return from_errno(ec.value());
  }
  std::unique_ptr<log> l(new log(dir, std::move(cfg)));
  recovery_report local;
  if (auto st = l->recover(report ? *report : local); !st) {
    l->closed_ = true;
    return st.error();
  }
  return l;
}

status log::recover(recovery_report& report) {
  std::error_code ec;
  auto marker = dir_ / clean_marker;
  report.clean_shutdown = fs::exists(marker, ec);
  std::map<int64_t, bool> bases;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    if (!entry.is_regular_file()) continue;
    auto name = entry.path().filename().string();
    if (auto b = parse_segment_name(name, "log")) {
      bases[*b] = true;
    } else if (name.ends_with(".tmp") || name.ends_with(".index") || name.ends_with(".timeindex")) {
      // Orphan indexes (no .log) and temp files are dropped below.
      bool orphan = name.ends_with(".tmp");
      if (!orphan) {
        auto log_name = name.substr(0, 20) + ".log";
        orphan = !fs::exists(dir_ / log_name);
      }
      if (orphan) {
        fs::remove(entry.path(), ec);
        report_event(report, "log",
                     {recovery_event::kind::removed_stray_file, entry.path(), 0, offset(-1),
                      offset(-1), "orphan or temporary file"});
      }
    }
  }
  if (ec) {
    logger().error("list {}: {}", dir_.string(), ec.message());
    return from_errno(ec.value());
  }
  // The marker describes the previous close only; remove it so a crash of
  // this incarnation is seen as unclean.
  if (report.clean_shutdown) {
    fs::remove(marker, ec);
    if (auto st = sync_directory(dir_); !st) return st;
  }

  // Closed segments ending at or below the recovery point were synced; the
  // others were not, and a power loss may have left holes in them. A log
  // without the file comes from before it, when every roll synced.
  bool rewrite_point = true;
  offset synced_below = offset::max();
  if (auto rp = point_->load(); !rp) {
    logger().warn("recovery: {}; every closed segment is CRC-checked", rp.message());
    synced_below = offset(0);
  } else if (*rp) {
    synced_below = **rp;
    report.recovery_point = synced_below;
    rewrite_point = false;
  }

  const auto qdir = dir_ / "quarantine";
  std::vector<int64_t> order;
  for (auto& [b, _] : bases) order.push_back(b);
  offset expect_at_least(0);
  bool active_crc_checked = false;  // the last segment kept was scanned with its CRC
  for (size_t i = 0; i < order.size(); ++i) {
    bool tail = i + 1 == order.size();
    auto seg = segment::open(dir_, offset(order[i]), cfg_.index_interval_bytes, now());
    if (!seg) return seg.error();
    auto& s = *seg;
    // A closed segment no sync covered is checked like the tail.
    bool unsynced = !tail && !report.clean_shutdown && offset(order[i + 1]) > synced_below;
    bool check_crc = tail || unsynced;
    // Checked before trusting the index files too: an overlapping segment
    // would serve offsets twice.
    bool overlaps = s->base_offset() < expect_at_least;
    if (!tail && report.clean_shutdown && !overlaps) {
      if (s->load_indexes()) {
        expect_at_least = s->next_offset();
        segments_.push_back(std::move(s));
        continue;
      }
      report_event(report, "log",
                   {recovery_event::kind::rebuilt_index, s->index().path(), 0, offset(-1),
                    offset(-1), "index missing or inconsistent with the log"});
    }
    // Bounded by the format, not by max_batch_bytes: lowering that setting
    // must not turn batches already stored into corruption.
    auto scan = s->scan(check_crc, max_stored_batch_bytes);
    if (!scan) return scan.error();
    if (check_crc) ++report.crc_checked_segments;
    if (unsynced && !overlaps && !scan->problem.empty()) {
      // Lost with the page cache: nothing from the first bad batch on was
      // ever synced, in this segment or in any later one.
      if (auto st = cut_bad_tail(*s, *scan, report); !st) return st;
      if (auto st = s->flush(); !st) return st;
      expect_at_least = s->next_offset();
      segments_.push_back(std::move(s));
      active_crc_checked = true;
      for (size_t j = i + 1; j < order.size(); ++j) {
        auto later = segment::open(dir_, offset(order[j]), cfg_.index_interval_bytes, now());
        if (!later) return later.error();
        offset until = j + 1 < order.size() ? offset(order[j + 1]) : offset(-1);
        if (auto st =
                quarantine(**later, qdir, (*later)->size_bytes(), until,
                           "follows a closed segment cut where its unsynced part was lost", report);
            !st) {
          return st;
        }
      }
      break;
    }
    if (!tail && (!scan->problem.empty() || overlaps)) {
      std::string why = overlaps ? "segment overlaps the previous one" : scan->problem;
      if (auto st = quarantine(*s, qdir, scan->file_bytes, offset(order[i + 1]), why, report);
          !st) {
        return st;
      }
      continue;
    }
    if (tail && overlaps) {
      if (auto st = quarantine(*s, qdir, scan->file_bytes, offset(-1),
                               "segment overlaps the previous one", report);
          !st) {
        return st;
      }
      continue;
    }
    if (!scan->problem.empty()) {
      if (auto st = cut_bad_tail(*s, *scan, report); !st) return st;
    }
    if (auto st = s->flush(); !st) return st;  // persist rebuilt indexes
    expect_at_least = s->next_offset();
    segments_.push_back(std::move(s));
    active_crc_checked = tail;
  }
  if (!segments_.empty() && !active_crc_checked) {
    // The last segment was quarantined, so one trusted as closed (CRC not
    // checked) is the active one now. Appends go after its batches, so they
    // are checked here like a tail's: a bad batch in it would otherwise hide
    // every batch written after it (found by the log_recovery fuzzer).
    auto& s = segments_.back();
    auto scan = s->scan(/*check_crc=*/true, max_stored_batch_bytes);
    if (!scan) return scan.error();
    if (!scan->problem.empty()) {
      if (auto st = cut_bad_tail(*s, *scan, report); !st) return st;
    }
    if (auto st = s->flush(); !st) return st;
  }
  if (segments_.empty()) {
    auto s = segment::create(dir_, expect_at_least, cfg_.index_interval_bytes, now());
    if (!s) return s.error();
    segments_.push_back(std::move(*s));
    if (auto st = sync_directory(dir_); !st) return st;
  }
  if (auto floor = offset_checkpoint(dir_ / log_start_file).read(); !floor) {
    // As before the file had its own reader: an unreadable floor only makes
    // records below it readable again, so the log still opens.
    logger().warn("recovery: {}; log start floor ignored", floor.message());
  } else if (*floor) {
    start_floor_ = **floor;
  }
  if (start_floor_ > next_offset()) {
    // The tail holding the floor was lost (truncated); the log cannot start
    // past its end.
    logger().warn("recovery: log start floor {} is past the log end {} in {}; lowered",
                  start_floor_(), next_offset()(), dir_.string());
    start_floor_ = next_offset();
  }
  if (auto st = settle_recovery_point(rewrite_point, synced_below); !st) return st;
  flushed_ = next_offset();
  if (bases.empty()) {
    // Nothing was on disk: there was no previous run to shut down at all.
    logger().info("created log {} at offset {}", dir_.string(), next_offset()());
  } else {
    logger().info("opened log {}: offsets [{}, {}), {} segments, {} shutdown, {} read whole",
                  dir_.string(), log_start_offset()(), next_offset()(), segments_.size(),
                  report.clean_shutdown ? "clean" : "unclean", report.crc_checked_segments);
  }
  return {};
}

status log::settle_recovery_point(bool rewrite, offset synced_below) {
  const offset active_base = segments_.back()->base_offset();
  if (!rewrite && synced_below >= active_base) return {};
  // Closed segments past the point were read whole (CRC-checked) above, or
  // trusted after a clean close: a process crash leaves them in the page
  // cache, so they are synced before the point may cover them.
  for (size_t i = 0; i + 1 < segments_.size(); ++i) {
    if (segments_[i + 1]->base_offset() <= synced_below) continue;
    if (auto st = segments_[i]->file()->datasync(); !st) return st;
  }
  return point_->reset(active_base);
}

offset log::log_start_offset() const {
  for (const auto& s : segments_) {
    if (!s->empty()) return std::max(s->base_offset(), start_floor_);
  }
  return next_offset();
}

status log::advance_start(offset o) {
  if (closed_ || failed_) return errc::log_closed;
  o = std::min(o, next_offset());
  if (o <= log_start_offset()) return {};
  if (auto st = offset_checkpoint(dir_ / log_start_file).write(o); !st) return st;
  start_floor_ = o;
  return {};
}

uint64_t log::size_bytes() const {
  uint64_t n = 0;
  for (const auto& s : segments_) n += s->size_bytes();
  return n;
}

result<std::vector<std::pair<size_t, batch_header>>> log::validate_all(
    std::span<const uint8_t> batches, size_t max_batch_bytes) const {
  auto depth = cfg_.validate_records ? validation::full_records : validation::header_and_crc;
  std::vector<std::pair<size_t, batch_header>> parsed;
  size_t pos = 0;
  while (pos < batches.size()) {
    auto h = validate_batch(batches.subspan(pos), max_batch_bytes, depth);
    if (!h) return h.error();
    parsed.emplace_back(pos, *h);
    pos += h->size_bytes();
  }
  return parsed;
}

result<append_result> log::append(std::span<uint8_t> batches) {
  // Everything is validated before anything is written: all or nothing.
  auto v = validate(batches);
  if (!v) return v.error();
  return append(std::move(*v));
}

result<validated_batches> log::validate(std::span<uint8_t> batches) const {
  if (closed_ || failed_) return errc::log_closed;
  if (batches.empty()) return errc::invalid_batch;
  auto parsed = validate_all(batches, cfg_.max_batch_bytes);
  if (!parsed) return parsed.error();
  return validated_batches(batches, std::move(*parsed));
}

result<append_result> log::append(validated_batches v) {
  if (closed_ || failed_) return errc::log_closed;
  // The offsets continue the log whatever rolls happen on the way, so they
  // are assigned before anything is written.
  offset next = next_offset();
  for (auto& [at, h] : v.parsed_) {
    h.base_offset = next;
    set_base_offset(v.bytes_.subspan(at, h.size_bytes()), next);
    next = h.next_offset();
  }
  return write_batches(v.bytes_, v.parsed_);
}

result<append_result> log::append_replicated(std::span<const uint8_t> batches) {
  if (closed_ || failed_) return errc::log_closed;
  if (batches.empty()) return errc::invalid_batch;
  // The leader accepted these under its settings; a smaller max_batch_bytes
  // here must not stop replication for good, so only the format bounds them
  // (as in recovery).
  auto parsed = validate_all(batches, max_stored_batch_bytes);
  if (!parsed) return parsed.error();
  offset expect = next_offset();
  for (size_t i = 0; i < parsed->size(); ++i) {
    const auto& [at, h] = (*parsed)[i];
    if (h.base_offset != expect) {
      return {errc::offset_mismatch,
              fmt::format("{}: replicated batch {} (byte {}) has base offset {} where {} was "
                          "expected ({})",
                          dir_.string(), i, at, h.base_offset(), expect(),
                          h.base_offset < expect ? "overlap" : "gap")};
    }
    expect = h.next_offset();
  }
  return write_batches(batches, *parsed);
}

result<append_result> log::write_batches(
    std::span<const uint8_t> batches, const std::vector<std::pair<size_t, batch_header>>& parsed) {
  append_result out;
  out.base_offset = next_offset();
  // A write or roll failing half way (e.g. ENOSPC) takes back what this call
  // wrote, so that a refused append leaves no batch behind.
  const size_t segments_before = segments_.size();
  const uint64_t msgs_before = unflushed_msgs_;
  const timestamp_ms oldest_before = oldest_unflushed_;
  auto undo = [&](std::error_code ec) -> std::error_code {
    while (segments_.size() > segments_before) {
      (void)segments_.back()->remove();
      segments_.pop_back();
    }
    auto& s = *segments_.back();
    if (s.next_offset() > out.base_offset) {
      // The cut must reach the disk: the batches may already have been synced
      // (by the flusher, after the roll this call undoes), and a crash must
      // not bring them back.
      auto r = s.truncate_to(out.base_offset);
      if (!r || !s.file()->datasync()) failed_ = true;
    }
    flushed_ = std::min(flushed_, next_offset());
    unflushed_msgs_ = msgs_before;
    oldest_unflushed_ = oldest_before;
    return ec;
  };
  for (const auto& [at, h] : parsed) {
    auto* active = segments_.back().get();
    bool too_big = active->size_bytes() + h.size_bytes() > cfg_.segment_bytes;
    bool too_old =
        cfg_.segment_ms >= 0 && ms_between(active->created_at(), now()) >= cfg_.segment_ms;
    if (!active->empty() && (too_big || too_old)) {
      if (auto st = roll(); !st) return undo(st.error());
      active = segments_.back().get();
      ++out.rolled;
    }
    assert(h.base_offset == active->next_offset());
    if (auto st = active->append(batches.subspan(at, h.size_bytes()), h); !st) {
      return undo(st.error());
    }
    unflushed_msgs_ += static_cast<uint64_t>(h.record_count);
    if (oldest_unflushed_ < timestamp_ms(0)) oldest_unflushed_ = now();
    out.last_offset = h.last_offset();
    ++out.batches;
  }
  const auto& fp = cfg_.flush;
  bool due = (fp.every_messages > 0 && unflushed_msgs_ >= fp.every_messages) ||
             (fp.every_ms > 0 && now()() - oldest_unflushed_() >= fp.every_ms);
  if (due) {
    if (auto st = flush(); !st) return st.error();
    out.flushed = true;
  }
  return out;
}

result<read_slice> log::read(offset start, uint64_t max_bytes) const {
  if (start < log_start_offset() || start > next_offset()) return errc::offset_out_of_range;
  return read_below(start, max_bytes, next_offset());
}

result<read_slice> log::read(offset start, uint64_t max_bytes, offset end_limit) const {
  if (start < log_start_offset() || start > next_offset()) return errc::offset_out_of_range;
  return read_below(start, max_bytes, std::min(end_limit, next_offset()));
}

result<read_slice> log::read_below(offset start, uint64_t max_bytes, offset end) const {
  // The segment holding start: greatest base <= start. After a quarantine
  // there may be a gap; then the next segment serves the first offset after it.
  auto it = std::upper_bound(segments_.begin(), segments_.end(), start,
                             [](offset o, const auto& s) { return o < s->base_offset(); });
  if (it != segments_.begin()) --it;
  for (; it != segments_.end(); ++it) {
    auto from = std::max(start, (*it)->base_offset());
    // At or past end nothing can be read: neither here nor in later segments.
    if (from >= end) break;
    auto slice = (*it)->read(from, max_bytes, end);
    if (!slice) return slice;
    if (slice->length > 0) return slice;
    // Empty here: start lies in a gap (a quarantined segment) or the batch
    // holding start crosses end; the next segment's base tells which.
  }
  read_slice empty;
  empty.file = segments_.back()->file();
  empty.first_offset = empty.next_offset = start;
  return empty;
}

result<offset> log::offset_for_timestamp(timestamp_ms ts) const {
  for (const auto& s : segments_) {
    if (s->empty() || s->max_timestamp() < ts) continue;
    auto o = s->offset_for_timestamp(ts);
    if (!o) return o.error();
    if (*o) return std::max(**o, log_start_offset());
  }
  return next_offset();
}

status log::flush() {
  if (closed_ || failed_) return errc::log_closed;
  if (flushed_ == next_offset() && unflushed_msgs_ == 0) return {};
  // Closed segments not synced yet, then the active one. Index files are left
  // to roll and close: recovery rebuilds the active segment's indexes anyway,
  // and a failed index write (disk full) must not count as a failed sync.
  auto plan = sync_target();
  if (auto st = plan.run(); !st) {
    // After a failed fdatasync the page cache state is unknown (fsyncgate):
    // refuse further writes until the log is reopened and recovered.
    failed_ = true;
    return st;
  }
  mark_flushed(plan.ticket());
  return {};
}

sync_plan log::sync_target() const {
  sync_plan plan;
  // Segments are contiguous: the closed ones ending past flushed_ are those
  // no sync has covered, and they are the newest closed ones.
  size_t first = segments_.size() - 1;
  while (first > 0 && segments_[first - 1]->next_offset() > flushed_) --first;
  for (size_t i = first; i + 1 < segments_.size(); ++i) plan.files.push_back(segments_[i]->file());
  plan.closed = plan.files.size();
  plan.files.push_back(segments_.back()->file());
  plan.sync_directory = rolls_ != dir_synced_rolls_;
  if (plan.sync_directory) plan.directory = dir_;  // a path copy is an allocation
  plan.point = point_;
  plan.done = {next_offset(), point_->epoch(), rolls_};
  return plan;
}

void log::mark_flushed(const sync_ticket& t) {
  // A sync planned before a truncate cannot vouch for the offsets the
  // truncate freed: they may hold other batches by now.
  if (t.epoch != point_->epoch()) return;
  dir_synced_rolls_ = std::max(dir_synced_rolls_, t.rolls);
  flushed_ = std::max(flushed_, std::min(t.up_to, next_offset()));
  if (flushed_ >= next_offset()) {
    unflushed_msgs_ = 0;
    oldest_unflushed_ = timestamp_ms(-1);
  }
}

status log::maybe_flush() {
  if (cfg_.flush.every_ms <= 0 || unflushed_msgs_ == 0) return {};
  if (now()() - oldest_unflushed_() < cfg_.flush.every_ms) return {};
  return flush();
}

status log::roll() {
  if (closed_ || failed_) return errc::log_closed;
  if (segments_.back()->empty()) return {};
  return roll_at(next_offset());
}

status log::roll_at(offset base) {
  auto& active = *segments_.back();
  // No sync here: the owner's next sync covers the closed segment and the
  // new file's name (flush(), or sync_target() on the flusher), off the
  // append path. A rolled segment's index files are trusted after a clean
  // shutdown, so they are written now. Failing that (disk full) fails the
  // roll but not the log: the indexes are still in memory.
  if (auto st = active.flush_indexes(); !st) return st;
  auto s = segment::create(dir_, base, cfg_.index_interval_bytes, now());
  if (!s) return s.error();
  segments_.push_back(std::move(*s));
  ++rolls_;
  return {};
}

result<size_t> log::apply_retention() {
  if (closed_ || failed_) return errc::log_closed;
  size_t deleted = 0;
  auto t = now();
  auto expired = [&](const segment& s) {
    return cfg_.retention_ms >= 0 && !s.empty() &&
           ms_between(s.max_timestamp(), t) > cfg_.retention_ms;
  };
  // An expired active segment is rolled so it can go too.
  if (expired(*segments_.back())) {
    if (auto st = roll(); !st) return st.error();
  }
  uint64_t total = size_bytes();
  while (segments_.size() > 1) {
    auto& s = *segments_.front();
    bool over = cfg_.retention_bytes >= 0 && total > static_cast<uint64_t>(cfg_.retention_bytes);
    bool below_start = s.next_offset() <= start_floor_;
    if (!over && !below_start && !expired(s) && !s.empty()) break;
    logger().info("retention: deleting segment {} (offsets [{}, {}), {} bytes, {})",
                  s.path().string(), s.base_offset()(), s.next_offset()(), s.size_bytes(),
                  over          ? "size"
                  : below_start ? "below the log start"
                                : "age");
    total -= s.size_bytes();
    if (auto st = s.remove(); !st) return st.error();
    segments_.pop_front();
    ++deleted;
  }
  if (deleted > 0) {
    if (auto st = sync_directory(dir_); !st) return st.error();
  }
  return deleted;
}

status log::truncate(offset o) {
  if (closed_ || failed_) return errc::log_closed;
  if (o >= next_offset()) return {};
  // First: the offsets from o on will hold other batches, which no earlier
  // sync covered (a sync planned before this no longer raises the point).
  if (auto st = point_->lower(o); !st) return st;
  // Whole segments at or after o go; the one holding o is cut.
  while (segments_.size() > 1 && segments_.back()->base_offset() >= o) {
    if (auto st = segments_.back()->remove(); !st) return st;
    segments_.pop_back();
  }
  auto& s = *segments_.back();
  if (s.base_offset() >= o) {
    // Only segment left starts at/after o: empty it but keep its base.
    auto r = s.truncate_to(s.base_offset());
    if (!r) return r.error();
  } else {
    auto r = s.truncate_to(o);
    if (!r) return r.error();
  }
  flushed_ = std::min(flushed_, next_offset());
  start_floor_ = std::min(start_floor_, next_offset());
  // All that is left goes to disk: closed segments no sync covered yet, the
  // cut one, and the directory the removed segments leave.
  auto plan = sync_target();
  plan.sync_directory = true;
  plan.directory = dir_;
  if (auto st = plan.run(); !st) return st;
  mark_flushed(plan.ticket());
  return s.flush_indexes();
}

status log::truncate_fully_and_start_at(offset o) {
  if (closed_ || failed_) return errc::log_closed;
  if (o < offset(0))
    return status(make_error_code(errc::invalid_argument), "a log cannot start below 0");
  // The floor first: if the segments survive a crash, it is lowered to
  // their end on open; then the segments, newest first, then the new one.
  if (auto st = offset_checkpoint(dir_ / log_start_file).write(o); !st) return st;
  if (auto st = point_->lower(o); !st) return st;
  while (!segments_.empty()) {
    if (auto st = segments_.back()->remove(); !st) {
      failed_ = true;  // some segments are gone: only a reopen knows what is left
      return st;
    }
    segments_.pop_back();
  }
  auto s = segment::create(dir_, o, cfg_.index_interval_bytes, now());
  if (!s) {
    failed_ = true;
    return s.error();
  }
  segments_.push_back(std::move(*s));
  start_floor_ = o;
  flushed_ = o;
  unflushed_msgs_ = 0;
  oldest_unflushed_ = timestamp_ms(-1);
  if (auto st = sync_directory(dir_); !st) return st;
  dir_synced_rolls_ = rolls_;
  return {};
}

void log::abandon() {
  closed_ = true;
}

status log::close() {
  if (closed_) return errc::log_closed;
  closed_ = true;
  if (failed_) return errc::log_closed;
  // After a clean shutdown closed segments are trusted: every one is synced.
  if (auto st = sync_target().run(); !st) return st;
  if (auto st = segments_.back()->flush_indexes(); !st) return st;
  std::string marker = "clean\n";
  return write_file_atomic(dir_ / clean_marker,
                           {reinterpret_cast<const uint8_t*>(marker.data()), marker.size()});
}

}  // namespace actormq::storage
