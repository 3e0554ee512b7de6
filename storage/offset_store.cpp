#include "storage/offset_store.h"

#include <sys/stat.h>

#include <limits>

#include "storage/byte_codec.h"
#include "storage/errc.h"
#include "storage/framed_records.h"
#include "storage/logger.h"
#include "storage/record_batch.h"  // load_le / store_le

namespace actormq::storage {

namespace fs = std::filesystem;

namespace {

constexpr const char* file_name = "offsets.log";
constexpr size_t header_bytes = framed_records::header_bytes;  // crc + body_length
constexpr size_t max_body_bytes = 1 << 20;
constexpr uint8_t record_version = 1;
constexpr uint8_t type_commit = 1;
constexpr uint8_t type_delete = 2;
// version + type + time + group_length
constexpr size_t fixed_body_bytes = 1 + 1 + 8 + 2;
// topic_length + partition + offset + meta_length
constexpr size_t fixed_commit_bytes = 2 + 4 + 8 + 4;
constexpr size_t max_name_bytes = std::numeric_limits<uint16_t>::max();

struct decoded_record {
  uint8_t type = 0;
  timestamp_ms time{0};
  std::string group;
  std::string topic;
  int32_t partition = 0;
  offset next_offset{0};
  std::string metadata;
};

using writer = byte_writer;
using reader = byte_reader;

size_t append_commit(std::vector<uint8_t>& out, std::string_view group, std::string_view topic,
                     int32_t partition, offset next, std::string_view metadata, timestamp_ms t) {
  return framed_records::append(out, [&](writer& w) {
    w.put<uint8_t>(record_version);
    w.put<uint8_t>(type_commit);
    w.put<int64_t>(t());
    w.put<uint16_t>(static_cast<uint16_t>(group.size()));
    w.put_bytes(group);
    w.put<uint16_t>(static_cast<uint16_t>(topic.size()));
    w.put_bytes(topic);
    w.put<int32_t>(partition);
    w.put<int64_t>(next());
    w.put<uint32_t>(static_cast<uint32_t>(metadata.size()));
    w.put_bytes(metadata);
  });
}

size_t commit_record_bytes(std::string_view group, std::string_view topic,
                           std::string_view metadata) {
  return header_bytes + fixed_body_bytes + group.size() + fixed_commit_bytes + topic.size() +
         metadata.size();
}

// Parses a body whose CRC already matched; nullopt if it does not add up.
std::optional<decoded_record> parse_body(std::span<const uint8_t> body) {
  reader r(body);
  decoded_record d;
  uint8_t version = 0;
  int64_t time = 0;
  uint16_t group_length = 0;
  if (!r.get(version) || version != record_version || !r.get(d.type) || !r.get(time) ||
      !r.get(group_length) || group_length == 0 || !r.get_bytes(group_length, d.group)) {
    return std::nullopt;
  }
  d.time = timestamp_ms(time);
  if (d.type == type_delete) {
    if (!r.at_end()) return std::nullopt;
    return d;
  }
  if (d.type != type_commit) return std::nullopt;
  uint16_t topic_length = 0;
  int64_t next = 0;
  uint32_t meta_length = 0;
  if (!r.get(topic_length) || topic_length == 0 || !r.get_bytes(topic_length, d.topic) ||
      !r.get(d.partition) || d.partition < 0 || !r.get(next) || next < 0 || !r.get(meta_length) ||
      !r.get_bytes(meta_length, d.metadata) || !r.at_end()) {
    return std::nullopt;
  }
  d.next_offset = offset(next);
  return d;
}

// Whether fd is still the file at path (same device and inode).
bool same_file(int fd, const fs::path& path) {
  struct stat a {};
  struct stat b {};
  if (::fstat(fd, &a) != 0 || ::stat(path.c_str(), &b) != 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

offset_store::offset_store(fs::path path, offset_store_config cfg)
    : path_(std::move(path)), cfg_(cfg) {}

offset_store::~offset_store() {
  if (!closed_) (void)close();
}

result<std::unique_ptr<offset_store>> offset_store::open(const fs::path& dir,
                                                         offset_store_config cfg,
                                                         recovery_report* report) {
  if (!(cfg.compaction_ratio > 1.0)) return errc::invalid_argument;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return ec;
  std::unique_ptr<offset_store> s(new offset_store(dir / file_name, cfg));
  recovery_report local;
  if (auto st = s->recover(report ? *report : local); !st) {
    s->closed_ = true;  // nothing to flush into a file whose recovery failed
    return st.error();
  }
  logger().info("offsets: opened {} ({} offsets, {} bytes, {} live)", s->path_.string(),
                s->live_.size(), s->file_size_, s->live_bytes_);
  return s;
}

status offset_store::recover(recovery_report& report) {
  std::vector<uint8_t> bytes;
  auto f = framed_records::open_for_recovery(path_, "offsets", report, bytes);
  if (!f) return f.error();
  file_ = std::move(*f);
  auto walked = framed_records::walk(
      bytes, fixed_body_bytes, max_body_bytes,
      [this](std::span<const uint8_t> body, size_t record_bytes) {
        auto rec = parse_body(body);
        if (!rec) return false;
        if (rec->type == type_commit) {
          apply_commit({rec->group, std::move(rec->topic), rec->partition},
                       {rec->next_offset, std::move(rec->metadata), rec->time}, record_bytes);
        } else {
          apply_delete(rec->group);
        }
        return true;
      });
  if (auto st = framed_records::cut_tail(*file_, walked, bytes.size(), "offsets", report); !st) {
    return st;
  }
  file_size_ = walked.valid_bytes;
  return {};
}

status offset_store::usable() const {
  if (closed_ || failed_) return errc::log_closed;
  return {};
}

void offset_store::apply_commit(offset_key key, committed_offset value, uint64_t record_bytes) {
  auto [it, inserted] = live_.try_emplace(std::move(key));
  if (!inserted) live_bytes_ -= it->second.record_bytes;
  it->second = {std::move(value), record_bytes};
  live_bytes_ += record_bytes;
}

void offset_store::apply_delete(std::string_view group) {
  auto it = live_.lower_bound({std::string(group), std::string(), 0});
  while (it != live_.end() && it->first.group == group) {
    live_bytes_ -= it->second.record_bytes;
    it = live_.erase(it);
  }
}

status offset_store::commit(std::string_view group, std::span<const offset_commit> commits,
                            timestamp_ms now) {
  if (auto st = usable(); !st) return st;
  if (group.empty() || group.size() > max_name_bytes) return errc::invalid_argument;
  for (const auto& c : commits) {
    if (c.topic.empty() || c.topic.size() > max_name_bytes || c.partition < 0 ||
        c.next_offset < offset(0) || c.metadata.size() > cfg_.max_metadata_bytes ||
        commit_record_bytes(group, c.topic, c.metadata) - header_bytes > max_body_bytes) {
      return errc::invalid_argument;
    }
  }
  for (const auto& c : commits) {
    const size_t n =
        append_commit(pending_, group, c.topic, c.partition, c.next_offset, c.metadata, now);
    ++pending_records_;
    apply_commit({std::string(group), c.topic, c.partition}, {c.next_offset, c.metadata, now}, n);
  }
  return {};
}

status offset_store::delete_group(std::string_view group, timestamp_ms now) {
  if (auto st = usable(); !st) return st;
  if (group.empty() || group.size() > max_name_bytes) return errc::invalid_argument;
  framed_records::append(pending_, [&](writer& w) {
    w.put<uint8_t>(record_version);
    w.put<uint8_t>(type_delete);
    w.put<int64_t>(now());
    w.put<uint16_t>(static_cast<uint16_t>(group.size()));
    w.put_bytes(group);
  });
  ++pending_records_;
  apply_delete(group);
  return {};
}

status offset_store::flush() {
  if (auto st = usable(); !st) return st;
  if (!pending_.empty()) {
    if (auto st = file_->write_at(file_position(file_size_), pending_); !st) {
      // Cut the partial write off so a later flush does not append behind it.
      if (!file_->truncate(file_size_)) failed_ = true;
      logger().error("offsets: write to {} failed: {}", path_.string(), st.error().message());
      return st;
    }
    if (auto st = file_->datasync(); !st) {
      failed_ = true;
      logger().error("offsets: fdatasync of {} failed: {}", path_.string(), st.error().message());
      return st;
    }
    file_size_ += pending_.size();
    pending_.clear();
    pending_records_ = 0;
  }
  if (file_size_ >= cfg_.min_compaction_bytes &&
      static_cast<double>(file_size_) > cfg_.compaction_ratio * static_cast<double>(live_bytes_)) {
    return compact();
  }
  return {};
}

status offset_store::compact() {
  if (auto st = usable(); !st) return st;
  std::vector<uint8_t> snapshot;
  snapshot.reserve(live_bytes_);
  for (const auto& [key, e] : live_) {
    append_commit(snapshot, key.group, key.topic, key.partition, e.value.next_offset,
                  e.value.metadata, e.value.commit_time);
  }
  const uint64_t before = file_bytes();
  if (auto st = write_file_atomic(path_, snapshot); !st) {
    // If the rename happened (only the directory sync failed), our handle
    // points at the replaced file and appends to it would be lost.
    if (!same_file(file_->fd(), path_)) failed_ = true;
    auto tmp = path_;
    tmp += ".tmp";
    std::error_code ec;
    fs::remove(tmp, ec);
    logger().error("offsets: compaction of {} failed: {}", path_.string(), st.error().message());
    return st;
  }
  auto f = file_handle::open(path_, false);
  if (!f) {
    failed_ = true;
    return f.error();
  }
  file_ = std::move(*f);
  file_size_ = snapshot.size();
  pending_.clear();
  pending_records_ = 0;
  logger().info("offsets: compacted {} from {} to {} bytes ({} offsets)", path_.string(), before,
                file_size_, live_.size());
  return {};
}

status offset_store::close() {
  if (closed_) return {};
  status st = failed_ ? status(errc::log_closed) : flush();
  closed_ = true;
  file_.reset();
  return st;
}

std::optional<committed_offset> offset_store::fetch(std::string_view group, std::string_view topic,
                                                    int32_t partition) const {
  auto it = live_.find({std::string(group), std::string(topic), partition});
  if (it == live_.end()) return std::nullopt;
  return it->second.value;
}

std::map<std::pair<std::string, int32_t>, committed_offset> offset_store::fetch_group(
    std::string_view group) const {
  std::map<std::pair<std::string, int32_t>, committed_offset> out;
  for (auto it = live_.lower_bound({std::string(group), std::string(), 0});
       it != live_.end() && it->first.group == group; ++it) {
    out.emplace(std::make_pair(it->first.topic, it->first.partition), it->second.value);
  }
  return out;
}

std::vector<std::string> offset_store::groups() const {
  std::vector<std::string> out;
  for (const auto& [key, e] : live_) {
    if (out.empty() || out.back() != key.group) out.push_back(key.group);
  }
  return out;
}

}  // namespace actormq::storage
