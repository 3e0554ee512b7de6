// Harness: the record batch decoder and validator (storage/record_batch.h),
// the code every produce request and every recovered segment goes through.
// Input: bytes claimed to be one batch, or several back to back.
// Invariants: a batch the validator accepts lies within the input; a batch
// accepted with full_records parses, record by record, into exactly its
// record count with offsets inside its range; for_each_batch never hands
// out bytes past the input; an accepted batch split by keys puts each record
// in exactly one valid part.

#include <cstdint>
#include <optional>
#include <vector>

#include "storage/batch_split.h"
#include "storage/record_batch.h"
#include "tests/fuzz/fuzz_check.h"

using namespace actormq::storage;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  for (auto depth : {validation::header_and_crc, validation::full_records}) {
    auto h = validate_batch(in, 1u << 20, depth);
    if (!h) continue;
    FUZZ_CHECK(h->size_bytes() <= size);
    FUZZ_CHECK(h->record_count >= 0);
    FUZZ_CHECK(compute_crc(in.first(h->size_bytes())) == h->crc);
    if (depth != validation::full_records) continue;
    int32_t records = 0;
    std::optional<offset> previous;
    auto st = for_each_record(in.first(h->size_bytes()), [&](const record_view& r) {
      FUZZ_CHECK(r.record_offset >= h->base_offset);
      FUZZ_CHECK(r.record_offset <= h->last_offset());
      FUZZ_CHECK(!previous || r.record_offset > *previous);
      previous = r.record_offset;
      // Keys, values and headers are views into the batch, never past it.
      auto inside = [&](std::string_view v) {
        auto* b = reinterpret_cast<const char*>(data);
        return v.empty() || (v.data() >= b && v.data() + v.size() <= b + h->size_bytes());
      };
      if (r.key) FUZZ_CHECK(inside(*r.key));
      if (r.value) FUZZ_CHECK(inside(*r.value));
      for (const auto& hv : r.headers) {
        FUZZ_CHECK(inside(hv.key));
        if (hv.value) FUZZ_CHECK(inside(*hv.value));
      }
      ++records;
    });
    FUZZ_CHECK(st);
    FUZZ_CHECK(records == h->record_count);
    // Split by due time (a delayed produce with deliverAtList): every record
    // lands in exactly one part, and every part is a valid batch.
    std::vector<int64_t> keys(static_cast<size_t>(records));
    for (size_t i = 0; i < keys.size(); ++i) keys[i] = data[i % size] % 3;
    auto parts = split_batch(in.first(h->size_bytes()), keys);
    FUZZ_CHECK(parts);
    int32_t in_parts = 0;
    for (const auto& p : *parts) {
      std::span<const uint8_t> pb(reinterpret_cast<const uint8_t*>(p.batch.data()), p.batch.size());
      auto ph = validate_batch(pb, p.batch.size(), validation::full_records);
      FUZZ_CHECK(ph);
      FUZZ_CHECK(ph->record_count == p.records);
      in_parts += p.records;
    }
    FUZZ_CHECK(in_parts == records);
  }
  size_t handed_out = 0;
  auto consumed = for_each_batch(in, [&](const batch_header& h, std::span<const uint8_t> b) {
    FUZZ_CHECK(b.size() == h.size_bytes());
    FUZZ_CHECK(b.data() >= data && b.data() + b.size() <= data + size);
    handed_out += b.size();
  });
  FUZZ_CHECK(consumed == handed_out);
  FUZZ_CHECK(consumed <= size);
  return 0;
}
