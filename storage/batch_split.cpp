#include "storage/batch_split.h"

#include <fmt/format.h>

#include <unordered_map>

#include "storage/errc.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace actormq::storage {

result<std::vector<split_part>> split_batch(std::span<const uint8_t> batch,
                                            std::span<const int64_t> keys) {
  if (batch.size() < batch_layout::header_size) return errc::invalid_batch;
  const auto h = decode_header(batch);
  if (h.record_count < 0 || static_cast<size_t>(h.record_count) != keys.size()) {
    return {make_error_code(errc::invalid_argument),
            fmt::format("{} due times for a batch of {} records", keys.size(), h.record_count)};
  }
  // One builder per key, in first-seen order; most batches have one key
  // (every record due together) or one key per record.
  std::vector<record_batch_builder> builders;
  std::vector<int64_t> order;
  std::unordered_map<int64_t, size_t> slot;
  size_t i = 0;
  auto st = for_each_record(batch, [&](const record_view& r) {
    const int64_t key = keys[i++];
    auto [it, fresh] = slot.try_emplace(key, builders.size());
    if (fresh) {
      builders.emplace_back();
      order.push_back(key);
    }
    builders[it->second].add(r);
  });
  if (!st) return {st.error(), "splitting a delayed batch by due time"};
  if (i != keys.size()) {
    return {make_error_code(errc::invalid_batch),
            fmt::format("the batch header counts {} records, {} parse", keys.size(), i)};
  }
  std::vector<split_part> parts;
  parts.reserve(builders.size());
  for (size_t k = 0; k < builders.size(); ++k) {
    const auto n = builders[k].record_count();
    parts.push_back({order[k], builders[k].build(), n});
  }
  return parts;
}

}  // namespace actormq::storage
