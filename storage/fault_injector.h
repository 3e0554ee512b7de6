#pragma once
// storage::fault_injector: failures of the disk on demand, so that the
// disk-full and I/O-error paths are tested on every machine, without root
// (issue 16; docs/reliability.md). file_handle asks it before each system
// call it makes (open, pwrite, pread, fdatasync, ftruncate, the fsync of a
// directory); with nothing armed that costs one relaxed atomic load.
//
// A rule names the operation, a part of the file's path (empty: any file),
// the errno to fail with, and when:
//   skip=N   the first N matching calls go through
//   count=N  it fails N times, then it is spent (0: until disarmed)
//   after=B  writes only: the first B bytes of the failing write reach the
//            file before the error (a torn write); with errno 0 the write
//            is only cut short there (a short write the caller continues)
// Rules are armed in-process with arm(), or for a broker under test from the
// file named by the environment variable ACTORMQ_FAULTS_FILE, re-read when
// it changes (checked at most every 50 ms, on the next file operation). One
// rule per line, '#' starts a comment:
//   OP ERRNO [path=PART] [skip=N] [count=N] [after=B]
// OP is one of open write read sync truncate; ERRNO a name (ENOSPC, EIO,
// EDQUOT, EROFS, EACCES) or 0. A missing or empty file disarms everything.
// Each failure it injects is logged at WARN ("injected fault: ...").
//
// Thread-safe: file operations come from actors and flusher threads.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace actormq::storage {

enum class fault_op : uint8_t { open, write, read, sync, truncate };

struct fault_rule {
  fault_op op = fault_op::write;
  int error = 0;     ///< the errno to fail with; 0 with after: a short write
  std::string path;  ///< a part of the path; empty matches any file
  uint64_t skip = 0;
  uint64_t count = 0;  ///< 0: until disarmed
  std::optional<uint64_t> after;
};

/// What file_handle does with one call.
struct fault_decision {
  int error = 0;                  ///< fail with this errno (after writing `allow` bytes of a write)
  std::optional<uint64_t> allow;  ///< writes: bytes that go through first
};

class fault_injector {
 public:
  /// The process's injector (reads ACTORMQ_FAULTS_FILE once, when first used).
  static fault_injector& instance();

  void arm(fault_rule r);
  /// Removes every rule armed so far.
  void disarm();
  /// Parses rule lines (the file format above); the error names the line.
  static std::optional<std::string> parse(std::string_view text, std::vector<fault_rule>& out);

  /// Asked by file_handle before a call of op on path (bytes: the size of a
  /// write); nullopt lets it through.
  std::optional<fault_decision> check(fault_op op, const std::filesystem::path& path,
                                      uint64_t bytes = 0) {
    if (!active_.load(std::memory_order_relaxed)) return std::nullopt;
    return check_slow(op, path, bytes);
  }

  /// Failures injected so far.
  uint64_t fired() const { return fired_.load(std::memory_order_relaxed); }

 private:
  struct armed_rule {
    fault_rule rule;
    uint64_t seen = 0;   ///< matching calls so far
    uint64_t fired = 0;  ///< failures injected
  };

  fault_injector();
  std::optional<fault_decision> check_slow(fault_op op, const std::filesystem::path& path,
                                           uint64_t bytes);
  void reload_file_locked();
  void update_active_locked();

  std::atomic<bool> active_{false};
  std::atomic<uint64_t> fired_{0};
  std::mutex mu_;
  std::vector<armed_rule> rules_;       ///< armed with arm()
  std::vector<armed_rule> file_rules_;  ///< from the watched file
  std::filesystem::path file_;          ///< ACTORMQ_FAULTS_FILE; empty: none
  std::filesystem::file_time_type file_mtime_{};
  uintmax_t file_size_ = 0;
  bool file_seen_ = false;
  std::chrono::steady_clock::time_point next_poll_{};
};

const char* to_string(fault_op op);

}  // namespace actormq::storage
