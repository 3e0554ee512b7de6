#include "actors/state/partition_replay.h"

#include <fmt/format.h>

#include <vector>

namespace actormq {

namespace detail {

std::optional<std::string> replay_slice(replay_run& run, const fetch_reply& r) {
  auto next = for_each_fetched(r, run.progress.next_offset, [&](const storage::record_view& rec) {
    run.on_record(rec);
    ++run.progress.records;
  });
  if (!next) return text_of(next.error());
  run.progress.bytes += r.slice.length;
  run.progress.next_offset = std::max(run.progress.next_offset, *next);
  return std::nullopt;
}

}  // namespace detail

caf::expected<int64_t> for_each_fetched(
    const fetch_reply& r, int64_t from,
    const std::function<void(const storage::record_view&)>& fn) {
  std::vector<uint8_t> buf(r.slice.length);
  if (auto st = r.slice.file->read_at(r.slice.position, {buf.data(), buf.size()}); !st) {
    return make_error(
        errc::storage_error,
        fmt::format("read at offset {}: {}", r.slice.first_offset(), st.error().message()));
  }
  std::optional<std::string> bad;
  auto used = storage::for_each_batch(
      buf, [&](const storage::batch_header& h, std::span<const uint8_t> batch) {
        if (bad) return;
        auto st = storage::for_each_record(batch, [&](const storage::record_view& rec) {
          if (rec.record_offset() >= from) fn(rec);  // read before
        });
        if (!st) bad = fmt::format("batch at offset {} does not parse", h.base_offset());
      });
  if (bad) return make_error(errc::invalid_batch, *bad);
  if (used != buf.size()) {
    return make_error(errc::invalid_batch,
                      fmt::format("partial batch after offset {}", r.slice.first_offset()));
  }
  return r.slice.next_offset();
}

}  // namespace actormq
