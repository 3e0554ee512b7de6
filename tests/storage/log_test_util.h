#pragma once
// Helpers shared by the storage tests: a manual clock, batch builders, reading
// a log back into plain records, and raw file surgery for crash simulation.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/errc.h"
#include "storage/fault_injector.h"
#include "storage/log.h"
#include "storage/logger.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace actormq::storage::test {

namespace fs = std::filesystem;

/// storage::log, named so that it does not clash with ::log from <cmath>.
using partition_log = storage::log;

/// Keeps test output to warnings (recovery reports) and errors.
inline const bool quiet_storage_logs = [] {
  logger().set_level(spdlog::level::warn);
  return true;
}();

/// A clock the test advances by hand; log_config::clock reads it.
class manual_clock {
 public:
  explicit manual_clock(int64_t start_ms = 1'000'000) : now_(std::make_shared<int64_t>(start_ms)) {}
  timestamp_ms now() const { return timestamp_ms(*now_); }
  void advance(int64_t ms) { *now_ += ms; }
  void set(int64_t ms) { *now_ = ms; }
  std::function<timestamp_ms()> fn() const {
    return [p = now_] { return timestamp_ms(*p); };
  }

 private:
  std::shared_ptr<int64_t> now_;
};

/// One record as the tests see it.
struct rec {
  offset off{0};
  std::optional<std::string> key;
  std::optional<std::string> value;
  timestamp_ms ts{0};
  bool operator==(const rec&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const rec& r) {
  return os << "{" << r.off << " " << (r.key ? *r.key : "<null>") << "="
            << (r.value ? *r.value : "<null>") << " @" << r.ts << "}";
}

/// A key/value pair to put in a batch (offsets are assigned by the log).
struct kv {
  std::optional<std::string> key;
  std::optional<std::string> value;
};

/// Builds one batch with the given records, all at timestamp ts.
inline std::string make_batch(const std::vector<kv>& records, timestamp_ms ts) {
  record_batch_builder b;
  for (const auto& r : records) {
    b.add(r.key ? std::optional<std::string_view>(*r.key) : std::nullopt,
          r.value ? std::optional<std::string_view>(*r.value) : std::nullopt, ts);
  }
  return b.build();
}

/// A batch of n records "<tag>-k<i>" = "<tag>-v<i>" padded to value_bytes.
inline std::string numbered_batch(const std::string& tag, int n, timestamp_ms ts,
                                  size_t value_bytes = 0) {
  std::vector<kv> rs;
  for (int i = 0; i < n; ++i) {
    std::string v = tag + "-v" + std::to_string(i);
    if (v.size() < value_bytes) v.append(value_bytes - v.size(), '.');
    rs.push_back({tag + "-k" + std::to_string(i), v});
  }
  return make_batch(rs, ts);
}

inline std::span<uint8_t> mut_span(std::string& s) {
  return {reinterpret_cast<uint8_t*>(s.data()), s.size()};
}
inline std::span<const uint8_t> const_span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

/// Appends a copy of batch bytes (the log rewrites base offsets in place).
inline result<append_result> append_copy(log& l, std::string bytes) {
  return l.append(mut_span(bytes));
}

/// The bytes a read slice refers to.
inline std::string slice_bytes(const read_slice& s) {
  std::string out(s.length, '\0');
  if (s.length == 0) return out;
  auto st = s.file->read_at(s.position, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
  REQUIRE(st);
  return out;
}

/// Decodes every record of the batches in bytes.
inline std::vector<rec> records_of(const std::string& bytes) {
  std::vector<rec> out;
  size_t used =
      for_each_batch(const_span(bytes), [&](const batch_header&, std::span<const uint8_t> b) {
        auto st = for_each_record(b, [&](const record_view& r) {
          out.push_back({r.record_offset,
                         r.key ? std::optional<std::string>(std::string(*r.key)) : std::nullopt,
                         r.value ? std::optional<std::string>(std::string(*r.value)) : std::nullopt,
                         r.timestamp});
        });
        REQUIRE(st);
      });
  REQUIRE(used == bytes.size());
  return out;
}

/// Reads the log from `from` up to `until` (default: its end) in slices of at
/// most max_bytes and returns every record, checking that slices chain
/// without gaps or overlaps.
inline std::vector<rec> read_all(const log& l, offset from, uint64_t max_bytes = 1 << 20,
                                 offset until = offset::max()) {
  std::vector<rec> out;
  offset at = from;
  for (int guard = 0; at < std::min(until, l.next_offset()); ++guard) {
    REQUIRE(guard < 1'000'000);
    auto s = l.read(at, max_bytes);
    REQUIRE(s);
    REQUIRE(s->length > 0);
    REQUIRE(s->first_offset <= at);
    REQUIRE(s->next_offset > at);
    auto rs = records_of(slice_bytes(*s));
    REQUIRE(!rs.empty());
    CHECK(rs.front().off == s->first_offset);
    CHECK(rs.back().off + 1 == s->next_offset);
    for (auto& r : rs) {
      if (r.off >= at && r.off < until) out.push_back(std::move(r));
    }
    at = s->next_offset;
  }
  return out;
}

/// A configuration with small segments, a manual clock and no time rules.
inline log_config small_config(const manual_clock& clock, uint64_t segment_bytes = 1024) {
  log_config cfg;
  cfg.segment_bytes = segment_bytes;
  cfg.segment_ms = -1;
  cfg.retention_ms = -1;
  cfg.retention_bytes = -1;
  cfg.index_interval_bytes = 256;
  cfg.flush = flush_policy::never();
  cfg.clock = clock.fn();
  return cfg;
}

inline std::unique_ptr<log> open_log(const fs::path& dir, const log_config& cfg,
                                     recovery_report* report = nullptr) {
  auto l = log::open(dir, cfg, report);
  if (!l) FAIL("log::open failed: " << l.error().message());
  return std::move(*l);
}

// Raw file surgery, for simulating crashes and corruption.

inline std::string read_whole(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_whole(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  REQUIRE(out);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  REQUIRE(out);
}

inline void cut_file(const fs::path& p, uint64_t size) {
  fs::resize_file(p, size);
}

inline void overwrite(const fs::path& p, uint64_t pos, const std::string& bytes) {
  auto data = read_whole(p);
  REQUIRE(pos + bytes.size() <= data.size());
  data.replace(pos, bytes.size(), bytes);
  write_whole(p, data);
}

inline void append_raw(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::app);
  REQUIRE(out);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline fs::path seg_path(const fs::path& dir, offset base, std::string_view ext) {
  return dir / segment::file_name(base, ext);
}

/// Makes the previous close look like a crash: the log wrote everything to
/// the page cache but no clean-shutdown marker survives.
inline void forget_clean_shutdown(const fs::path& dir) {
  fs::remove(dir / ".clean_shutdown");
}

/// After a recovery: the next append lands at expect and reads back.
inline void check_appends_continue_at(log& l, offset expect) {
  auto r = append_copy(l, numbered_batch("after", 2, timestamp_ms(5), 10));
  REQUIRE(r);
  CHECK(r->base_offset == expect);
  auto got = read_all(l, expect);
  REQUIRE(got.size() == 2);
  CHECK(got[0].key == "after-k0");
}

/// Arms fault rules (storage/fault_injector.h) for the scope of a test; every
/// rule is gone afterwards.
struct armed {
  explicit armed(std::initializer_list<fault_rule> rules) {
    for (const auto& r : rules) fault_injector::instance().arm(r);
  }
  ~armed() { fault_injector::instance().disarm(); }
};

/// A rule failing op with error on paths holding `part`, count times (0: until
/// disarmed).
inline fault_rule rule(fault_op op, int error, const fs::path& part, uint64_t count = 1) {
  fault_rule r;
  r.op = op;
  r.error = error;
  r.path = part.string();
  r.count = count;
  return r;
}

/// Counts report events of one kind.
inline size_t count_events(const recovery_report& r, recovery_event::kind k) {
  size_t n = 0;
  for (const auto& e : r.events) n += e.what == k ? 1 : 0;
  return n;
}

inline const recovery_event* find_event(const recovery_report& r, recovery_event::kind k) {
  for (const auto& e : r.events) {
    if (e.what == k) return &e;
  }
  return nullptr;
}

}  // namespace actormq::storage::test
