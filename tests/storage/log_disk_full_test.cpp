// A full disk: appends fail with disk_full, leave nothing behind, earlier data
// keeps being served, and appends work again once space is freed. Runs on a
// small tmpfs the test mounts, so it needs root (CAP_SYS_ADMIN); skipped with
// a warning otherwise.

#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <set>

#include "storage/log.h"
#include "storage/log_test_util.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using namespace actormq::storage::test;
using actormq::test::temp_dir;

namespace {

/// A tmpfs of the given size mounted for the scope, or a reason why not.
class small_tmpfs {
 public:
  explicit small_tmpfs(const fs::path& at, const std::string& size) : path_(at) {
    fs::create_directories(path_);
    if (::geteuid() != 0) {
      why_not_ = "not running as root, cannot mount a tmpfs";
      return;
    }
    std::string opts = "size=" + size;
    if (::mount("tmpfs", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) != 0) {
      why_not_ = std::string("mount tmpfs failed: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~small_tmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  small_tmpfs(const small_tmpfs&) = delete;
  small_tmpfs& operator=(const small_tmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_not_; }

 private:
  fs::path path_;
  bool mounted_ = false;
  std::string why_not_;
};

/// Appends 4 KiB batches until one fails; returns that error.
std::error_code fill_until_error(partition_log& l, const manual_clock& clock, int& appended) {
  for (int i = 0; i < 1000; ++i) {
    auto r = append_copy(l, numbered_batch("fill" + std::to_string(i), 1, clock.now(), 4000));
    if (!r) return r.error();
    CHECK(r->flushed);
    ++appended;
  }
  FAIL("the disk never filled up");
  return {};
}

}  // namespace

TEST_CASE("an append on a full disk fails with disk full and succeeds again once space is freed") {
  temp_dir dir;
  small_tmpfs tmpfs(dir.path() / "mnt", "256k");
  if (!tmpfs.mounted()) {
    WARN("skipped: " << tmpfs.why_not());
    return;
  }
  auto ldir = dir.path() / "mnt" / "log";
  manual_clock clock;
  auto cfg = small_config(clock, 1 << 20);  // one segment: the fs is smaller
  cfg.index_interval_bytes = 4096;
  cfg.flush = flush_policy::every_append();
  auto ballast = dir.path() / "mnt" / "ballast";
  write_whole(ballast, std::string(64 * 1024, 'b'));

  auto l = open_log(ldir, cfg);
  int appended = 0;
  auto ec = fill_until_error(*l, clock, appended);
  CHECK(ec == errc::disk_full);
  REQUIRE(appended > 10);
  auto acked = read_all(*l, offset(0));
  REQUIRE(acked.size() == static_cast<size_t>(appended));
  CHECK(acked.back().key == "fill" + std::to_string(appended - 1) + "-k0");
  CHECK(l->next_offset() == offset(appended));
  CHECK(l->flushed_offset() == offset(appended));
  // The failed write left no partial batch in the file.
  CHECK(fs::file_size(l->segments().back()->path()) == l->size_bytes());

  // Still full: a multi-batch append is refused as a whole.
  auto two = numbered_batch("x", 1, clock.now(), 4000) + numbered_batch("y", 1, clock.now(), 4000);
  CHECK(l->append(mut_span(two)).error() == errc::disk_full);
  CHECK(l->next_offset() == offset(appended));
  CHECK(read_all(*l, offset(0)) == acked);

  fs::remove(ballast);
  auto r = append_copy(*l, numbered_batch("after", 2, clock.now(), 4000));
  REQUIRE(r);
  CHECK(r->base_offset == offset(appended));
  CHECK(r->flushed);
  auto got = read_all(*l, offset(0));
  REQUIRE(got.size() == acked.size() + 2);
  CHECK(std::vector<rec>(got.begin(), got.begin() + appended) == acked);
  CHECK(got[appended].key == "after-k0");
  REQUIRE(l->close());
  l.reset();

  recovery_report report;
  auto again = open_log(ldir, cfg, &report);
  CHECK(report.events.empty());
  CHECK(read_all(*again, offset(0)) == got);
}

TEST_CASE("a multi batch append that runs out of space half way appends nothing") {
  temp_dir dir;
  small_tmpfs tmpfs(dir.path() / "mnt", "256k");
  if (!tmpfs.mounted()) {
    WARN("skipped: " << tmpfs.why_not());
    return;
  }
  auto ldir = dir.path() / "mnt" / "log";
  manual_clock clock;
  auto cfg = small_config(clock, 12 * 1024);  // rolls every 2-3 batches
  cfg.index_interval_bytes = 4096;
  cfg.flush = flush_policy::every_append();
  auto ballast = dir.path() / "mnt" / "ballast";
  auto l = open_log(ldir, cfg);
  write_whole(ballast, std::string(24 * 1024, 'b'));
  int appended = 0;
  CHECK(fill_until_error(*l, clock, appended) == errc::disk_full);
  auto acked = read_all(*l, offset(0));
  auto segments = l->segment_count();
  auto bytes = l->size_bytes();
  std::set<fs::path> files;
  for (const auto& e : fs::directory_iterator(ldir)) files.insert(e.path().filename());

  // Room for two or three more batches, not for eight.
  fs::resize_file(ballast, 12 * 1024);
  std::string eight;
  for (int i = 0; i < 8; ++i)
    eight += numbered_batch("m" + std::to_string(i), 1, clock.now(), 4000);
  CHECK(l->append(mut_span(eight)).error() == errc::disk_full);
  CHECK(l->next_offset() == offset(appended));
  CHECK(l->segment_count() == segments);
  CHECK(l->size_bytes() == bytes);
  std::set<fs::path> files_after;
  for (const auto& e : fs::directory_iterator(ldir)) files_after.insert(e.path().filename());
  CHECK(files_after == files);
  CHECK(read_all(*l, offset(0)) == acked);

  fs::remove(ballast);
  auto r = append_copy(*l, numbered_batch("one", 1, clock.now(), 4000));
  REQUIRE(r);
  CHECK(r->base_offset == offset(appended));
  REQUIRE(l->close());
  l.reset();
  recovery_report report;
  auto again = open_log(ldir, cfg, &report);
  CHECK(report.events.empty());
  auto got = read_all(*again, offset(0));
  REQUIRE(got.size() == acked.size() + 1);
  CHECK(got.back().key == "one-k0");
}

TEST_CASE("a roll whose index write hits a full disk fails the append but not the log") {
  temp_dir dir;
  small_tmpfs tmpfs(dir.path() / "mnt", "256k");
  if (!tmpfs.mounted()) {
    WARN("skipped: " << tmpfs.why_not());
    return;
  }
  auto ldir = dir.path() / "mnt" / "log";
  manual_clock clock;
  auto one = numbered_batch("a", 1, clock.now(), 3000);
  auto cfg = small_config(clock, 2 * one.size());  // two batches per segment
  cfg.index_interval_bytes = 64;
  cfg.flush = flush_policy::never();  // the indexes are first written at the roll
  auto l = open_log(ldir, cfg);
  REQUIRE(append_copy(*l, one));
  REQUIRE(append_copy(*l, one));
  REQUIRE(l->segment_count() == 1);
  // Fill every free page.
  auto ballast = dir.path() / "mnt" / "ballast";
  {
    std::ofstream out(ballast, std::ios::binary);
    std::string page(4096, 'b');
    for (int i = 0; i < 100 && out.write(page.data(), page.size()); ++i) {
    }
  }
  auto r = append_copy(*l, one);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::disk_full);
  CHECK(l->next_offset() == offset(2));
  CHECK(read_all(*l, offset(0)).size() == 2);

  fs::remove(ballast);
  auto again = append_copy(*l, numbered_batch("b", 1, clock.now(), 3000));
  REQUIRE(again);
  CHECK(again->base_offset == offset(2));
  CHECK(l->segment_count() == 2);
  auto got = read_all(*l, offset(0));
  REQUIRE(got.size() == 3);
  CHECK(got[2].key == "b-k0");
  REQUIRE(l->close());
  l.reset();
  recovery_report report;
  auto reopened = open_log(ldir, cfg, &report);
  CHECK(report.events.empty());
  CHECK(read_all(*reopened, offset(0)) == got);
}
