#include "storage/leader_epoch_cache.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>

#include "storage/crc32c.h"
#include "storage/errc.h"
#include "storage/file_handle.h"
#include "storage/logger.h"

namespace actormq::storage {

namespace {

constexpr std::string_view header_line = "leader-epoch-checkpoint v1";
constexpr std::string_view crc_prefix = "crc32c ";
// Far above any real history (an entry is about 20 bytes): a larger file is
// not ours, and is refused before it is read into memory.
constexpr uintmax_t max_file_bytes = 4u << 20;

template <typename Int>
bool parse_decimal(std::string_view s, Int& out) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size();
}

std::string serialize(const std::vector<epoch_entry>& entries) {
  std::string out;
  out.append(header_line).push_back('\n');
  out += fmt::format("{}\n", entries.size());
  for (const auto& e : entries) out += fmt::format("{} {}\n", e.epoch, e.start_offset());
  out += fmt::format("{}{:08x}\n", crc_prefix, crc32c(out.data(), out.size()));
  return out;
}

// Parses the file text; on failure returns the reason (with the line number).
result<std::vector<epoch_entry>> parse(std::string_view text, const std::filesystem::path& path) {
  auto corrupt = [&](size_t line, std::string_view why) -> result<std::vector<epoch_entry>> {
    return {errc::corrupt_checkpoint, fmt::format("{}: line {}: {}", path.string(), line, why)};
  };
  size_t pos = 0;
  size_t line_no = 0;
  // The next line without its '\n'; nullopt when no whole line is left.
  auto next_line = [&]() -> std::optional<std::string_view> {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return std::nullopt;
    auto line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    return line;
  };
  auto header = next_line();
  if (!header) return corrupt(1, "no whole header line (torn or empty file)");
  if (*header != header_line) return corrupt(1, "not a leader-epoch-checkpoint v1 file");
  auto count_line = next_line();
  if (!count_line) return corrupt(2, "no whole entry count line (torn file)");
  size_t count = 0;
  if (!parse_decimal(*count_line, count)) return corrupt(2, "entry count is not a number");
  std::vector<epoch_entry> entries;
  // No reserve(count): a corrupt count must not allocate.
  for (size_t i = 0; i < count; ++i) {
    auto line = next_line();
    if (!line)
      return corrupt(line_no + 1, fmt::format("file ends after {} of {} entries", i, count));
    auto space = line->find(' ');
    int32_t epoch = 0;
    int64_t start = 0;
    if (space == std::string_view::npos || !parse_decimal(line->substr(0, space), epoch) ||
        !parse_decimal(line->substr(space + 1), start)) {
      return corrupt(line_no, "not '<epoch> <start offset>'");
    }
    if (!entries.empty() &&
        (epoch <= entries.back().epoch || offset(start) <= entries.back().start_offset)) {
      return corrupt(line_no, "epochs and start offsets must both increase");
    }
    entries.push_back({epoch, offset(start)});
  }
  const size_t crc_covers = pos;
  auto crc_line = next_line();
  if (!crc_line) return corrupt(line_no + 1, "no whole crc32c line (torn file)");
  uint32_t want = 0;
  auto hex = crc_line->substr(std::min(crc_prefix.size(), crc_line->size()));
  if (!crc_line->starts_with(crc_prefix) || hex.size() != 8 ||
      std::from_chars(hex.data(), hex.data() + hex.size(), want, 16).ptr !=
          hex.data() + hex.size()) {
    return corrupt(line_no, "not 'crc32c <8 hex digits>'");
  }
  uint32_t got = crc32c(text.data(), crc_covers);
  if (got != want) {
    return corrupt(line_no,
                   fmt::format("CRC mismatch: file says {:08x}, content has {:08x}", want, got));
  }
  if (pos != text.size()) return corrupt(line_no + 1, "bytes after the crc32c line");
  return entries;
}

}  // namespace

result<leader_epoch_cache> leader_epoch_cache::open(const std::filesystem::path& dir) {
  leader_epoch_cache cache(dir / file_name);
  std::error_code ec;
  auto size = std::filesystem::file_size(cache.path_, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return cache;
    return {from_errno(ec.value()), fmt::format("stat {}", cache.path_.string())};
  }
  if (size > max_file_bytes) {
    return {errc::corrupt_checkpoint,
            fmt::format("{}: {} bytes, more than a checkpoint can hold ({})", cache.path_.string(),
                        size, max_file_bytes)};
  }
  auto text = read_file(cache.path_);
  if (!text) return {text.error(), fmt::format("read {}", cache.path_.string())};
  auto entries = parse(*text, cache.path_);
  if (!entries) return {entries.error(), entries.detail()};
  cache.entries_ = std::move(*entries);
  return cache;
}

std::optional<int32_t> leader_epoch_cache::latest_epoch() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.back().epoch;
}

status leader_epoch_cache::assign(int32_t epoch, offset start) {
  if (epoch < 0 || start < offset(0)) {
    return {errc::invalid_argument,
            fmt::format("{}: invalid leader epoch entry (epoch {}, start offset {})",
                        path_.string(), epoch, start())};
  }
  if (!entries_.empty()) {
    const auto& latest = entries_.back();
    // Kafka's isUpdateNeeded: the current epoch seen again further on.
    if (epoch == latest.epoch && start >= latest.start_offset) return {};
    if (epoch < latest.epoch && start >= latest.start_offset) {
      return {errc::stale_leader_epoch,
              fmt::format("{}: epoch {} at offset {} after epoch {} started at offset {}",
                          path_.string(), epoch, start(), latest.epoch, latest.start_offset())};
    }
  }
  // Kafka's maybeTruncateNonMonotonicEntries: what conflicts with the new
  // entry was written in epochs or at offsets that the log no longer has.
  auto next = entries_;
  std::vector<epoch_entry> removed;
  while (!next.empty() && (next.back().epoch >= epoch || next.back().start_offset >= start)) {
    removed.push_back(next.back());
    next.pop_back();
  }
  next.push_back({epoch, start});
  // One removed entry that started at the same offset is an epoch that wrote
  // nothing, replaced as expected; anything more is worth a line.
  if (removed.size() > 1 || (removed.size() == 1 && removed[0].start_offset != start)) {
    logger().warn(
        "{}: epoch {} at offset {} removed {} conflicting entries (the last from epoch {} "
        "at offset {})",
        path_.string(), epoch, start(), removed.size(), removed.back().epoch,
        removed.back().start_offset());
  }
  return replace(std::move(next));
}

epoch_end_offset leader_epoch_cache::end_offset_for(std::span<const epoch_entry> entries,
                                                    int32_t requested_epoch, offset log_end) {
  if (requested_epoch == epoch_end_offset::undefined_epoch || entries.empty()) return {};
  // KIP-101: the leader is still writing its latest epoch, so it ends at the
  // log end.
  if (requested_epoch == entries.back().epoch) return {requested_epoch, log_end};
  // Kafka's "should never be hit": the latest epoch is the largest known.
  if (requested_epoch > entries.back().epoch) return {};
  // Below the first epoch the records were written before epochs were
  // tracked here (or are gone): unknown, and the follower falls back to its
  // high watermark.
  if (requested_epoch < entries.front().epoch) return {};
  // KIP-279: the largest epoch <= requested, which may be an earlier one than
  // asked for, and its end: where the next epoch starts.
  auto higher = std::upper_bound(entries.begin(), entries.end(), requested_epoch,
                                 [](int32_t e, const epoch_entry& x) { return e < x.epoch; });
  auto floor = std::prev(higher);
  return {floor->epoch, higher->start_offset};
}

status leader_epoch_cache::truncate_from_end(offset end) {
  if (end < offset(0)) return {};
  auto next = entries_;
  while (!next.empty() && next.back().start_offset >= end) next.pop_back();
  if (next.size() == entries_.size()) return {};
  return replace(std::move(next));
}

status leader_epoch_cache::truncate_from_start(offset start) {
  // The last entry starting at or before start covers it; it is kept with
  // start as its start offset, and those before it go.
  auto covering =
      std::upper_bound(entries_.begin(), entries_.end(), start,
                       [](offset o, const epoch_entry& x) { return o < x.start_offset; });
  if (covering == entries_.begin()) return {};  // every entry starts after start
  --covering;
  if (covering == entries_.begin() && covering->start_offset == start) return {};
  std::vector<epoch_entry> next;
  next.push_back({covering->epoch, start});
  next.insert(next.end(), std::next(covering), entries_.end());
  return replace(std::move(next));
}

status leader_epoch_cache::replace(std::vector<epoch_entry> next) {
  auto text = serialize(next);
  if (auto st =
          write_file_atomic(path_, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
      !st) {
    return {st.error(), fmt::format("write {}", path_.string())};
  }
  entries_ = std::move(next);
  return {};
}

}  // namespace actormq::storage
