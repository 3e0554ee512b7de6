#include "actors/partition/producer_state_table.h"

#include "storage/crc32c.h"
#include "storage/errc.h"

namespace actormq {

using storage::load_le;
using storage::store_le;

producer_state_table::check_result producer_state_table::check(
    const storage::batch_header& h) const {
  if (h.producer_id < 0) return {};
  auto it = producers_.find(h.producer_id);
  if (it == producers_.end()) return {};  // first batch seen from this producer
  const auto& p = it->second;
  if (h.producer_epoch < p.epoch) return {verdict::fenced};
  if (h.producer_epoch > p.epoch) return {};  // a new epoch restarts sequences
  int32_t last_seq = h.base_sequence + h.last_offset_delta;
  for (const auto& b : p.batches) {
    if (b.first_seq == h.base_sequence && b.last_seq == last_seq) {
      return {verdict::duplicate, b.base_offset, b.last_offset};
    }
  }
  if (!p.batches.empty() && h.base_sequence != p.batches.back().last_seq + 1) {
    return {verdict::out_of_order};
  }
  return {};
}

void producer_state_table::record(const storage::batch_header& h) {
  if (h.producer_id < 0) return;
  auto& p = producers_[h.producer_id];
  if (h.producer_epoch != p.epoch) {
    p.epoch = h.producer_epoch;
    p.batches.clear();
  }
  p.batches.push_back(
      {h.base_sequence, h.base_sequence + h.last_offset_delta, h.base_offset(), h.last_offset()()});
  if (p.batches.size() > batches_kept) p.batches.pop_front();
}

namespace {
constexpr uint32_t snapshot_magic = 0x414d5150;
template <typename T>
void put(std::string& out, T v) {
  char buf[sizeof(T)];
  store_le<T>(reinterpret_cast<uint8_t*>(buf), v);
  out.append(buf, sizeof(T));
}
}  // namespace

std::string producer_state_table::encode(int64_t covered_offset) const {
  std::string out;
  put<uint32_t>(out, snapshot_magic);
  put<uint32_t>(out, 1);
  put<int64_t>(out, covered_offset);
  put<uint32_t>(out, static_cast<uint32_t>(producers_.size()));
  for (const auto& [id, p] : producers_) {
    put<int64_t>(out, id);
    put<int16_t>(out, p.epoch);
    out.push_back(static_cast<char>(p.batches.size()));
    for (const auto& b : p.batches) {
      put<int32_t>(out, b.first_seq);
      put<int32_t>(out, b.last_seq);
      put<int64_t>(out, b.base_offset);
      put<int64_t>(out, b.last_offset);
    }
  }
  put<uint32_t>(out, storage::crc32c(out.data(), out.size()));
  return out;
}

storage::result<int64_t> producer_state_table::decode(const std::string& bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t n = bytes.size();
  if (n < 24 || load_le<uint32_t>(p) != snapshot_magic || load_le<uint32_t>(p + 4) != 1 ||
      load_le<uint32_t>(p + n - 4) != storage::crc32c(p, n - 4)) {
    return storage::errc::corrupt_segment;
  }
  size_t pos = 8;
  auto need = [&](size_t k) { return pos + k <= n - 4; };
  int64_t covered = load_le<int64_t>(p + pos);
  pos += 8;
  uint32_t count = load_le<uint32_t>(p + pos);
  pos += 4;
  std::unordered_map<int64_t, producer> loaded;
  for (uint32_t i = 0; i < count; ++i) {
    if (!need(11)) return storage::errc::corrupt_segment;
    int64_t id = load_le<int64_t>(p + pos);
    producer pr;
    pr.epoch = load_le<int16_t>(p + pos + 8);
    uint8_t nb = p[pos + 10];
    pos += 11;
    for (uint8_t k = 0; k < nb; ++k) {
      if (!need(24)) return storage::errc::corrupt_segment;
      pr.batches.push_back({load_le<int32_t>(p + pos), load_le<int32_t>(p + pos + 4),
                            load_le<int64_t>(p + pos + 8), load_le<int64_t>(p + pos + 16)});
      pos += 24;
    }
    loaded.emplace(id, std::move(pr));
  }
  producers_ = std::move(loaded);
  return covered;
}

}  // namespace actormq
