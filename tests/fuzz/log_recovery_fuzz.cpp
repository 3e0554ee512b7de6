// Harness: a partition log's recovery (storage/log.h) over arbitrary segment
// files: what a crash, a torn write or a bad disk leaves in a partition's
// directory.
//
// Input: flags u8 (bit 0: the clean-shutdown marker is there; bit 1: a
// second segment; bit 2: a recovery-point file at 0, so that a closed first
// segment counts as never synced and is checked like the tail; bit 3 with
// bit 2: the file holds garbage instead), the second segment's base offset
// u32, then per segment
// (one or two) three u32-length-prefixed runs: the .log, the .index and the
// .timeindex bytes.
//
// Invariants, when open() succeeds (else its error is the clear answer):
//  - reading from the log start to the end serves whole batches back to
//    back with contiguous offsets and sane headers, and always moves on (a
//    slice ends past where it began: a consumer never loops); a read may
//    instead fail (corrupt_segment) where a batch is corrupt;
//  - every batch served passes its CRC: older segments are not CRC-checked
//    on open, their batches are checked when first read; with one segment
//    (the active one, validated batch by batch on open) each batch served
//    also passes validate_batch with full records;
//  - the log takes a new append at its end and serves it back byte for byte;
//  - after close(), a reopen finds the same start and end (recovery is
//    idempotent and loses nothing it kept).

#include <cstdint>
#include <cstdio>
#include <string>

#include "storage/log.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"
#include "tests/fuzz/fuzz_check.h"

using namespace actormq;
using namespace actormq::storage;
using actormq::fuzz::fuzz_input;

namespace {

std::string segment_name(uint64_t base, const char* ext) {
  char name[40];
  std::snprintf(name, sizeof name, "%020llu%s", static_cast<unsigned long long>(base), ext);
  return name;
}

log_config small_config() {
  log_config cfg;
  cfg.segment_bytes = 1u << 20;
  cfg.max_batch_bytes = 1u << 20;
  cfg.flush = flush_policy::never();
  return cfg;
}

/// Reads every batch from the log start to the end, checking the
/// invariants above (strict: each batch validates with its records).
void read_all(const storage::log& l, bool strict) {
  offset at = l.log_start_offset();
  const offset end = l.next_offset();
  int rounds = 0;
  while (at < end) {
    FUZZ_CHECK(++rounds < 100000);
    auto slice = l.read(at, 64u << 10);
    if (!slice) return;  // an I/O error is an answer, not a crash
    if (slice->length == 0) break;
    auto bytes = copy_bytes(*slice);
    if (!bytes) return;
    FUZZ_CHECK(bytes->size() == slice->length);
    offset expect = slice->first_offset;
    auto consumed = for_each_batch(
        fuzz::bytes_of(*bytes), [&](const batch_header& h, std::span<const uint8_t> b) {
          FUZZ_CHECK(h.base_offset == expect);
          FUZZ_CHECK(h.record_count >= 1 && h.last_offset_delta == h.record_count - 1);
          expect = h.next_offset();
          // Every batch served passed its CRC (a closed segment's on first
          // read); the tail's records were also parsed on open.
          auto depth = strict ? validation::full_records : validation::header_and_crc;
          FUZZ_CHECK(validate_batch(b, 16u << 20, depth).has_value());
        });
    FUZZ_CHECK(consumed == bytes->size());
    FUZZ_CHECK(expect == slice->next_offset);
    if (!(slice->next_offset > at)) {
      std::fprintf(stderr, "read at %lld: %llu bytes from %lld, next %lld (strict %d)\n",
                   static_cast<long long>(at()), static_cast<unsigned long long>(slice->length),
                   static_cast<long long>(slice->first_offset()),
                   static_cast<long long>(slice->next_offset()), strict);
    }
    FUZZ_CHECK(slice->next_offset > at);
    at = slice->next_offset;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::quiet_storage_logs();
  fuzz_input in(data, size);
  const uint8_t flags = in.byte();
  const uint64_t second_base = in.number<uint32_t>();
  const bool two = (flags & 2) != 0 && second_base > 0;
  auto dir = fuzz::scratch_dir() / "log";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (uint64_t base : {uint64_t{0}, second_base}) {
    fuzz::write_file(dir / segment_name(base, ".log"), in.sized());
    fuzz::write_file(dir / segment_name(base, ".index"), in.sized());
    fuzz::write_file(dir / segment_name(base, ".timeindex"), in.sized());
    if (!two) break;
  }
  if (flags & 1) fuzz::write_file(dir / ".clean_shutdown", "");
  if (flags & 4) fuzz::write_file(dir / "recovery-point", (flags & 8) ? "x1\n" : "0\n");

  recovery_report report;
  auto opened = storage::log::open(dir, small_config(), &report);
  if (!opened) return 0;
  auto& l = **opened;
  FUZZ_CHECK(l.log_start_offset() <= l.next_offset());
  read_all(l, !two);

  // Still usable: a new batch goes at the end and comes back as written.
  const offset end = l.next_offset();
  record_batch_builder b;
  b.add(std::string_view("key"), std::string_view("after recovery"), timestamp_ms(1));
  auto batch = b.build();
  auto appended = l.append({reinterpret_cast<uint8_t*>(batch.data()), batch.size()});
  if (appended) {
    FUZZ_CHECK(appended->base_offset == end);
    auto slice = l.read(end, 1u << 20);
    FUZZ_CHECK(slice.has_value());
    auto bytes = copy_bytes(*slice);
    FUZZ_CHECK(bytes.has_value());
    FUZZ_CHECK(bytes->size() == batch.size());
    FUZZ_CHECK(bytes->compare(8, std::string::npos, batch, 8) == 0);  // all but the base offset
  }
  const offset start = l.log_start_offset(), next = l.next_offset();
  if (!l.close()) return 0;
  opened->reset();
  auto again = storage::log::open(dir, small_config());
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK((*again)->log_start_offset() == start);
  FUZZ_CHECK((*again)->next_offset() == next);
  std::filesystem::remove_all(dir);
  return 0;
}
