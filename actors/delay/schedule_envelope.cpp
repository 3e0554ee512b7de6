#include "actors/delay/schedule_envelope.h"

#include <fmt/format.h>

#include <charconv>

#include "storage/errc.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace actormq::delay {

namespace L = storage::batch_layout;

std::string schedule_envelope::encode(int64_t now_ms) const {
  storage::record_batch_builder b;
  auto key = fmt::format("{}\n{}\n{}", topic, partition, deliver_at_ms);
  b.add(std::string_view(key), std::string_view(batch), storage::timestamp_ms(now_ms));
  return b.build();
}

storage::result<schedule_envelope> schedule_envelope::decode(std::span<const uint8_t> batch) {
  std::optional<schedule_envelope> out;
  auto st = storage::for_each_record(batch, [&](const storage::record_view& r) {
    if (out || !r.key || !r.value) return;
    auto k = *r.key;
    auto a = k.find('\n');
    auto b = a == std::string_view::npos ? a : k.find('\n', a + 1);
    if (b == std::string_view::npos) return;
    schedule_envelope e;
    e.topic = std::string(k.substr(0, a));
    auto ps = k.substr(a + 1, b - a - 1);
    auto ds = k.substr(b + 1);
    if (std::from_chars(ps.data(), ps.data() + ps.size(), e.partition).ec != std::errc{}) return;
    if (std::from_chars(ds.data(), ds.data() + ds.size(), e.deliver_at_ms).ec != std::errc{})
      return;
    e.batch = std::string(*r.value);
    out = std::move(e);
  });
  if (!st || !out) return storage::errc::invalid_batch;
  return std::move(*out);
}

void clear_producer(std::string& batch) {
  auto* p = reinterpret_cast<uint8_t*>(batch.data());
  if (batch.size() < L::header_size) return;
  storage::store_le<int64_t>(p + L::producer_id, -1);
  storage::store_le<int16_t>(p + L::producer_epoch, -1);
  storage::store_le<int32_t>(p + L::base_sequence, -1);
  storage::store_crc({p, batch.size()});
}

}  // namespace actormq::delay
