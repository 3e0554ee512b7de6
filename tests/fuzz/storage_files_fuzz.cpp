// Harness: recovery of the coordinators' own files, what a crash or a bad
// disk leaves behind:
//   0 offsets.log (storage/offset_store.h, committed offsets)
//   1 txn.log (storage/txn_log.h, transactional messages)
//   2 a bucket file of the delay schedule (storage/schedule_store.h)
//   3 leader-epoch-checkpoint (storage/leader_epoch_cache.h)
//   4 an offset checkpoint (storage/offset_checkpoint.h, high watermark)
// Input: the selector byte, then (2) the bucket's start u32 in seconds,
// then the file's bytes.
// Invariants: open() recovers or answers an error, never crashes; what it
// recovered takes a new record and, closed and opened again, still holds
// it and everything it held before (recovery is idempotent).

#include <climits>
#include <cstdint>
#include <string>

#include "storage/leader_epoch_cache.h"
#include "storage/offset_checkpoint.h"
#include "storage/offset_store.h"
#include "storage/schedule_store.h"
#include "storage/txn_log.h"
#include "tests/fuzz/fuzz_check.h"

using namespace actormq;
using namespace actormq::storage;
using actormq::fuzz::fuzz_input;

namespace {

void offsets(const std::filesystem::path& dir, std::string_view bytes) {
  fuzz::write_file(dir / "offsets.log", bytes);
  auto s = offset_store::open(dir);
  if (!s) return;
  const auto groups = (*s)->groups().size();
  offset_commit c{"t", 0, offset(42), "m"};
  if (!(*s)->commit("fuzz-group", {&c, 1}, timestamp_ms(1)) || !(*s)->close()) return;
  s->reset();
  auto again = offset_store::open(dir);
  FUZZ_CHECK(again.has_value());
  auto got = (*again)->fetch("fuzz-group", "t", 0);
  FUZZ_CHECK(got.has_value());
  FUZZ_CHECK(got->next_offset == offset(42));
  FUZZ_CHECK((*again)->groups().size() >= groups);
}

void transactions(const std::filesystem::path& dir, std::string_view bytes) {
  fuzz::write_file(dir / "txn.log", bytes);
  auto l = txn_log::open(dir);
  if (!l) return;
  const auto before = (*l)->records().size();
  txn_half h{"g", "t", 0, 0, 0, "batch"};
  auto id = (*l)->append_half(h, timestamp_ms(1));
  if (!id || !(*l)->close()) return;
  l->reset();
  auto again = txn_log::open(dir);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK((*again)->find(*id) != nullptr);
  FUZZ_CHECK((*again)->records().size() == before + 1);
}

void schedule(const std::filesystem::path& dir, fuzz_input& in) {
  const int64_t start = int64_t{in.number<uint32_t>()} * 1000;
  schedule_store_config cfg;
  cfg.bucket_width = std::chrono::milliseconds(1000);
  std::filesystem::create_directories(dir / "sched");
  fuzz::write_file(dir / "sched" / schedule_store::file_name(timestamp_ms(start)), in.rest());
  auto s = schedule_store::open(dir / "sched", cfg);
  if (!s) return;
  for (auto b : (*s)->buckets()) {
    auto loaded = (*s)->load_bucket(b);
    if (!loaded) continue;
    for (const auto& e : loaded->entries) {
      FUZZ_CHECK((*s)->bucket_of(e.due) == b);
    }
  }
  schedule_entry e{timestamp_ms(start + 5), 1, 99};
  if (!(*s)->add(e) || !(*s)->flush()) return;
  s->reset();
  auto again = schedule_store::open(dir / "sched", cfg);
  FUZZ_CHECK(again.has_value());
  auto loaded = (*again)->load_bucket((*again)->bucket_of(e.due));
  FUZZ_CHECK(loaded.has_value());
  bool found = false;
  for (const auto& x : loaded->entries) found = found || x == e;
  FUZZ_CHECK(found);
}

void epochs(const std::filesystem::path& dir, std::string_view bytes) {
  fuzz::write_file(dir / leader_epoch_cache::file_name, bytes);
  auto c = leader_epoch_cache::open(dir);
  if (!c) return;  // corrupt_checkpoint: an answer
  // What it accepts is ordered (epochs and start offsets strictly rising)
  // and reads back the same after it is written out again.
  const auto& e = c->entries();
  for (size_t i = 1; i < e.size(); ++i) {
    FUZZ_CHECK(e[i].epoch > e[i - 1].epoch);
    FUZZ_CHECK(e[i].start_offset > e[i - 1].start_offset);
  }
  if (!e.empty() && (e.back().epoch == INT32_MAX || e.back().start_offset() == INT64_MAX)) return;
  const int32_t next = e.empty() ? 0 : e.back().epoch + 1;
  const offset at = e.empty() ? offset(0) : e.back().start_offset + 1;
  if (!c->assign(next, at)) return;
  auto again = leader_epoch_cache::open(dir);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->entries() == c->entries());
}

void checkpoint(const std::filesystem::path& dir, std::string_view bytes) {
  fuzz::write_file(dir / "hw", bytes);
  offset_checkpoint c(dir / "hw");
  auto r = c.read();
  if (r && *r) FUZZ_CHECK(**r >= offset(0));
  FUZZ_CHECK(c.write(offset(7)));
  auto again = c.read();
  FUZZ_CHECK(again && *again && **again == offset(7));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::quiet_storage_logs();
  fuzz_input in(data, size);
  auto dir = fuzz::scratch_dir() / "files";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  switch (in.byte() % 5) {
    case 0:
      offsets(dir, in.rest());
      break;
    case 1:
      transactions(dir, in.rest());
      break;
    case 2:
      schedule(dir, in);
      break;
    case 3:
      epochs(dir, in.rest());
      break;
    case 4:
      checkpoint(dir, in.rest());
      break;
  }
  std::filesystem::remove_all(dir);
  return 0;
}
