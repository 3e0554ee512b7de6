#include "storage/txn_log.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <limits>

#include "storage/byte_codec.h"
#include "storage/errc.h"
#include "storage/framed_records.h"
#include "storage/logger.h"

namespace actormq::storage {

namespace fs = std::filesystem;

namespace {

constexpr const char* file_name = "txn.log";
constexpr size_t header_bytes = framed_records::header_bytes;  // crc + body_length
constexpr uint8_t record_version = 1;
constexpr uint8_t type_half = 1;
constexpr uint8_t type_decision = 2;
constexpr uint8_t type_check = 3;
constexpr uint8_t type_applied = 4;
constexpr uint8_t type_id_floor = 5;
// version + type + time + id
constexpr size_t fixed_body_bytes = 1 + 1 + 8 + 8;
// group_length + topic_length + partition + deliver_at + delay + batch_length
constexpr size_t fixed_half_bytes = 2 + 2 + 4 + 8 + 8 + 4;
constexpr size_t decision_bytes = header_bytes + fixed_body_bytes + 1;
constexpr size_t check_bytes = header_bytes + fixed_body_bytes + 4 + 8;
constexpr size_t applied_bytes = header_bytes + fixed_body_bytes;
constexpr size_t max_name_bytes = std::numeric_limits<uint16_t>::max();

size_t half_bytes(const txn_half& h) {
  return header_bytes + fixed_body_bytes + fixed_half_bytes + h.group.size() + h.topic.size() +
         h.batch.size();
}

// Bytes this transaction takes in a snapshot.
size_t snapshot_bytes(const txn_record& r) {
  size_t n = half_bytes(r.half);
  if (r.checks > 0) n += check_bytes;
  if (r.decision != txn_decision::none) n += decision_bytes;
  if (r.applied) n += applied_bytes;
  return n;
}

template <typename Body>
void append_record(std::vector<uint8_t>& out, uint8_t type, timestamp_ms t, txn_id id,
                   Body&& body) {
  framed_records::append(out, [&](byte_writer& w) {
    w.put<uint8_t>(record_version);
    w.put<uint8_t>(type);
    w.put<int64_t>(t());
    w.put<uint64_t>(id());
    body(w);
  });
}

void append_half_record(std::vector<uint8_t>& out, txn_id id, const txn_half& h, timestamp_ms t) {
  append_record(out, type_half, t, id, [&](byte_writer& w) {
    w.put<uint16_t>(static_cast<uint16_t>(h.group.size()));
    w.put_bytes(h.group);
    w.put<uint16_t>(static_cast<uint16_t>(h.topic.size()));
    w.put_bytes(h.topic);
    w.put<uint32_t>(h.partition);
    w.put<int64_t>(h.deliver_at_ms);
    w.put<int64_t>(h.delay_ms);
    w.put<uint32_t>(static_cast<uint32_t>(h.batch.size()));
    w.put_bytes(h.batch);
  });
}

void append_decision_record(std::vector<uint8_t>& out, txn_id id, txn_decision d, timestamp_ms t) {
  append_record(out, type_decision, t, id,
                [&](byte_writer& w) { w.put<uint8_t>(static_cast<uint8_t>(d)); });
}

void append_check_record(std::vector<uint8_t>& out, txn_id id, uint32_t count, timestamp_ms next,
                         timestamp_ms t) {
  append_record(out, type_check, t, id, [&](byte_writer& w) {
    w.put<uint32_t>(count);
    w.put<int64_t>(next());
  });
}

void append_plain_record(std::vector<uint8_t>& out, uint8_t type, txn_id id, timestamp_ms t) {
  append_record(out, type, t, id, [](byte_writer&) {});
}

// Whether fd is still the file at path (same device and inode).
bool same_file(int fd, const fs::path& path) {
  struct stat a {};
  struct stat b {};
  if (::fstat(fd, &a) != 0 || ::stat(path.c_str(), &b) != 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

const char* to_string(txn_decision d) {
  switch (d) {
    case txn_decision::none:
      return "open";
    case txn_decision::commit:
      return "committed";
    case txn_decision::rollback:
      return "rolled_back";
    case txn_decision::unresolved:
      return "unresolved";
  }
  return "?";
}

struct txn_log::decoded {
  uint8_t type = 0;
  timestamp_ms time{0};
  txn_id id{0};
  txn_half half;
  txn_decision decision = txn_decision::none;
  uint32_t count = 0;
  timestamp_ms next{0};
};

bool txn_log::parse(std::span<const uint8_t> body, decoded& d) {
  byte_reader r(body);
  uint8_t version = 0;
  int64_t time = 0;
  uint64_t id = 0;
  if (!r.get(version) || version != record_version || !r.get(d.type) || !r.get(time) ||
      !r.get(id)) {
    return false;
  }
  d.time = timestamp_ms(time);
  d.id = txn_id(id);
  switch (d.type) {
    case type_half: {
      uint16_t gl = 0, tl = 0;
      uint32_t bl = 0;
      return r.get(gl) && gl > 0 && r.get_bytes(gl, d.half.group) && r.get(tl) && tl > 0 &&
             r.get_bytes(tl, d.half.topic) && r.get(d.half.partition) &&
             r.get(d.half.deliver_at_ms) && r.get(d.half.delay_ms) && r.get(bl) &&
             r.get_bytes(bl, d.half.batch) && r.at_end();
    }
    case type_decision: {
      uint8_t v = 0;
      if (!r.get(v) || v < 1 || v > 3 || !r.at_end()) return false;
      d.decision = static_cast<txn_decision>(v);
      return true;
    }
    case type_check: {
      int64_t next = 0;
      if (!r.get(d.count) || !r.get(next) || !r.at_end()) return false;
      d.next = timestamp_ms(next);
      return true;
    }
    case type_applied:
    case type_id_floor:
      return r.at_end();
    default:
      return false;
  }
}

txn_log::txn_log(fs::path path, txn_log_config cfg) : path_(std::move(path)), cfg_(cfg) {}

txn_log::~txn_log() {
  if (!closed_) (void)close();
}

result<std::unique_ptr<txn_log>> txn_log::open(const fs::path& dir, txn_log_config cfg,
                                               recovery_report* report) {
  if (!(cfg.compaction_ratio > 1.0)) return errc::invalid_argument;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return ec;
  std::unique_ptr<txn_log> l(new txn_log(dir / file_name, cfg));
  recovery_report local;
  if (auto st = l->recover(report ? *report : local); !st) {
    l->closed_ = true;  // nothing to flush into a file whose recovery failed
    return st.error();
  }
  logger().info("txn log: opened {} ({} transactions, {} unfinished, {} bytes, next id {})",
                l->path_.string(), l->records_.size(), l->unfinished_, l->file_size_,
                l->next_id_());
  return l;
}

status txn_log::recover(recovery_report& report) {
  std::vector<uint8_t> bytes;
  auto f = framed_records::open_for_recovery(path_, "txn log", report, bytes);
  if (!f) return f.error();
  file_ = std::move(*f);
  const size_t max_body = cfg_.max_batch_bytes + 2 * max_name_bytes + 1024;
  auto walked = framed_records::walk(bytes, fixed_body_bytes, max_body,
                                     [this](std::span<const uint8_t> body, size_t) {
                                       decoded d;
                                       if (!parse(body, d)) return false;
                                       apply(d);
                                       return true;
                                     });
  if (auto st = framed_records::cut_tail(*file_, walked, bytes.size(), "txn log", report); !st) {
    return st;
  }
  file_size_ = walked.valid_bytes;
  return {};
}

void txn_log::apply(decoded& d) {
  if (d.type == type_id_floor) {
    next_id_ = std::max(next_id_, d.id);
    return;
  }
  if (d.type == type_half) {
    next_id_ = std::max(next_id_, txn_id(d.id() + 1));
    if (records_.count(d.id)) return;  // a duplicate id cannot be written; ignore
    txn_record r;
    r.id = d.id;
    r.half = std::move(d.half);
    r.created = d.time;
    records_.emplace(d.id, std::move(r));
    ++unfinished_;
    return;
  }
  auto it = records_.find(d.id);
  if (it == records_.end()) return;
  auto& r = it->second;
  if (r.finished()) return;
  switch (d.type) {
    case type_decision:
      if (r.decision != txn_decision::none) return;  // the first decision wins
      r.decision = d.decision;
      r.decided = d.time;
      break;
    case type_check:
      r.checks = d.count;
      r.next_check = d.next;
      break;
    case type_applied:
      if (r.decision == txn_decision::none) return;
      r.applied = true;
      break;
  }
  if (r.finished()) finish(r);
}

void txn_log::finish(txn_record& r) {
  r.half.batch.clear();
  r.half.batch.shrink_to_fit();
  --unfinished_;
  finished_order_.push_back(r.id);
  while (finished_order_.size() > cfg_.keep_finished) {
    records_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
}

status txn_log::usable() const {
  if (closed_ || failed_) return errc::log_closed;
  return {};
}

result<txn_id> txn_log::append_half(txn_half half, timestamp_ms now) {
  if (auto st = usable(); !st) return st.error();
  if (half.group.empty() || half.group.size() > max_name_bytes || half.topic.empty() ||
      half.topic.size() > max_name_bytes || half.batch.size() > cfg_.max_batch_bytes) {
    return errc::invalid_argument;
  }
  txn_id id = next_id_;
  next_id_ = txn_id(id() + 1);
  append_half_record(pending_, id, half, now);
  txn_record r;
  r.id = id;
  r.half = std::move(half);
  r.created = now;
  records_.emplace(id, std::move(r));
  ++unfinished_;
  return id;
}

status txn_log::append_decision(txn_id id, txn_decision d, timestamp_ms now) {
  if (auto st = usable(); !st) return st;
  auto it = records_.find(id);
  if (d == txn_decision::none || it == records_.end() ||
      it->second.decision != txn_decision::none) {
    return errc::invalid_argument;
  }
  append_decision_record(pending_, id, d, now);
  it->second.decision = d;
  it->second.decided = now;
  if (it->second.finished()) finish(it->second);
  return {};
}

status txn_log::append_check(txn_id id, uint32_t count, timestamp_ms next, timestamp_ms now) {
  if (auto st = usable(); !st) return st;
  auto it = records_.find(id);
  if (it == records_.end() || it->second.decision != txn_decision::none) {
    return errc::invalid_argument;
  }
  append_check_record(pending_, id, count, next, now);
  it->second.checks = count;
  it->second.next_check = next;
  return {};
}

status txn_log::append_applied(txn_id id, timestamp_ms now) {
  if (auto st = usable(); !st) return st;
  auto it = records_.find(id);
  if (it == records_.end() || it->second.decision == txn_decision::none || it->second.finished()) {
    return errc::invalid_argument;
  }
  append_plain_record(pending_, type_applied, id, now);
  it->second.applied = true;
  finish(it->second);
  return {};
}

const txn_record* txn_log::find(txn_id id) const {
  auto it = records_.find(id);
  return it == records_.end() ? nullptr : &it->second;
}

uint64_t txn_log::live_bytes() const {
  uint64_t n = applied_bytes;  // the id floor
  for (const auto& [id, r] : records_) n += snapshot_bytes(r);
  return n;
}

status txn_log::flush() {
  if (auto st = usable(); !st) return st;
  if (!pending_.empty()) {
    if (auto st = file_->write_at(file_position(file_size_), pending_); !st) {
      if (!file_->truncate(file_size_)) failed_ = true;
      logger().error("txn log: write to {} failed: {}", path_.string(), st.error().message());
      return st;
    }
    if (auto st = file_->datasync(); !st) {
      failed_ = true;
      logger().error("txn log: fdatasync of {} failed: {}", path_.string(), st.error().message());
      return st;
    }
    file_size_ += pending_.size();
    pending_.clear();
  }
  // The live size costs a pass over the map: only worth computing once the
  // file is big enough, and again after it grew by a quarter of the minimum.
  if (file_size_ >= cfg_.min_compaction_bytes &&
      file_size_ >= size_checked_at_ + cfg_.min_compaction_bytes / 4) {
    size_checked_at_ = file_size_;
    if (static_cast<double>(file_size_) >
        cfg_.compaction_ratio * static_cast<double>(live_bytes())) {
      return compact();
    }
  }
  return {};
}

void txn_log::encode_snapshot(std::vector<uint8_t>& out) const {
  append_plain_record(out, type_id_floor, next_id_, timestamp_ms(0));
  for (const auto& [id, r] : records_) {
    append_half_record(out, id, r.half, r.created);
    if (r.checks > 0) append_check_record(out, id, r.checks, r.next_check, r.created);
    if (r.decision != txn_decision::none) append_decision_record(out, id, r.decision, r.decided);
    if (r.applied) append_plain_record(out, type_applied, id, r.decided);
  }
}

status txn_log::compact() {
  if (auto st = usable(); !st) return st;
  std::vector<uint8_t> snapshot;
  encode_snapshot(snapshot);
  const uint64_t before = file_bytes();
  if (auto st = write_file_atomic(path_, snapshot); !st) {
    if (!same_file(file_->fd(), path_)) failed_ = true;
    auto tmp = path_;
    tmp += ".tmp";
    std::error_code ec;
    fs::remove(tmp, ec);
    logger().error("txn log: compaction of {} failed: {}", path_.string(), st.error().message());
    return st;
  }
  auto f = file_handle::open(path_, false);
  if (!f) {
    failed_ = true;
    return f.error();
  }
  file_ = std::move(*f);
  file_size_ = snapshot.size();
  size_checked_at_ = 0;
  pending_.clear();
  logger().info("txn log: compacted {} from {} to {} bytes ({} transactions, {} unfinished)",
                path_.string(), before, file_size_, records_.size(), unfinished_);
  return {};
}

status txn_log::close() {
  if (closed_) return {};
  status st = failed_ ? status(errc::log_closed) : flush();
  closed_ = true;
  file_.reset();
  return st;
}

}  // namespace actormq::storage
