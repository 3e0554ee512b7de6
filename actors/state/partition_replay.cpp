#include "actors/state/partition_replay.h"

#include <fmt/format.h>

#include <vector>

namespace actormq::detail {

std::optional<std::string> replay_slice(replay_run& run, const fetch_reply& r) {
  std::vector<uint8_t> buf(r.slice.length);
  if (auto st = r.slice.file->read_at(r.slice.position, {buf.data(), buf.size()}); !st) {
    return fmt::format("read at offset {}: {}", r.slice.first_offset(), st.error().message());
  }
  std::optional<std::string> bad;
  auto used = storage::for_each_batch(
      buf, [&](const storage::batch_header& h, std::span<const uint8_t> batch) {
        if (bad) return;
        auto st = storage::for_each_record(batch, [&](const storage::record_view& rec) {
          if (rec.record_offset() < run.progress.next_offset) return;  // read before
          run.on_record(rec);
          ++run.progress.records;
        });
        if (!st) bad = fmt::format("batch at offset {} does not parse", h.base_offset());
      });
  if (bad) return bad;
  if (used != buf.size()) {
    return fmt::format("partial batch after offset {}", r.slice.first_offset());
  }
  run.progress.bytes += used;
  run.progress.next_offset = std::max(run.progress.next_offset, r.slice.next_offset());
  return std::nullopt;
}

}  // namespace actormq::detail
