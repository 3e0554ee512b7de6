// A randomized run of log operations (append, roll, truncate, retention,
// clean reopen, crash with a torn or corrupt tail, reads) checked against an
// in-memory model of offset -> record. Seeded and replayable: the seed is
// printed; set ACTORMQ_SEED=<n> to run one again.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>

#include "storage/log.h"
#include "storage/log_test_util.h"
#include "support/temp_dir.h"

using namespace actormq::storage;
using namespace actormq::storage::test;
using actormq::test::temp_dir;

namespace {

struct model_batch {
  std::vector<rec> records;
  timestamp_ms max_ts{0};
  uint64_t bytes = 0;
  offset next() const { return records.back().off + 1; }
};

class random_ops {
 public:
  explicit random_ops(uint64_t seed) : rng_(seed) {
    cfg_ = small_config(clock_, pick(600, 3000));
    cfg_.index_interval_bytes = pick(64, 1024);
    cfg_.retention_bytes = pick(0, 1) ? static_cast<int64_t>(pick(3000, 12000)) : -1;
    cfg_.retention_ms = pick(0, 1) ? static_cast<int64_t>(pick(2000, 20000)) : -1;
    cfg_.segment_ms = pick(0, 1) ? static_cast<int64_t>(pick(1000, 10000)) : -1;
    cfg_.flush = {pick(0, 20), static_cast<int64_t>(pick(0, 1) ? pick(1, 500) : 0)};
    INFO("segment_bytes " << cfg_.segment_bytes << " retention_bytes " << cfg_.retention_bytes
                          << " retention_ms " << cfg_.retention_ms);
    log_ = open_log(dir_.path(), cfg_);
  }

  void run(int ops) {
    for (int i = 0; i < ops; ++i) {
      int what = static_cast<int>(pick(0, 99));
      INFO("op " << i << " kind " << what << " next " << log_->next_offset() << " segments "
                 << log_->segment_count());
      if (what < 40) {
        append();
      } else if (what < 45) {
        append_invalid();
      } else if (what < 55) {
        clock_.advance(static_cast<int64_t>(pick(0, 3000)));
        REQUIRE(log_->maybe_flush());
      } else if (what < 60) {
        REQUIRE(log_->roll());
      } else if (what < 65) {
        truncate();
      } else if (what < 70) {
        retention();
      } else if (what < 74) {
        reopen_clean();
      } else if (what < 80) {
        crash();
      } else if (what < 95) {
        read_some();
      } else {
        check_timestamps();
      }
      check_bounds();
    }
    check_everything();
  }

 private:
  uint64_t pick(uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }

  std::optional<std::string> random_bytes(size_t max_len) {
    if (pick(0, 9) == 0) return std::nullopt;
    std::string s(pick(0, max_len), '\0');
    for (auto& c : s) c = static_cast<char>(pick(0, 255));
    return s;
  }

  offset model_next() const { return next_; }
  offset model_start() const { return batches_.empty() ? next_ : offset(batches_.begin()->first); }

  std::vector<rec> model_records(offset from) const {
    std::vector<rec> out;
    for (const auto& [base, b] : batches_) {
      for (const auto& r : b.records) {
        if (r.off >= from) out.push_back(r);
      }
    }
    return out;
  }

  void append() {
    int nbatches = static_cast<int>(pick(1, 3));
    std::string bytes;
    std::vector<model_batch> made;
    offset at = next_;
    for (int b = 0; b < nbatches; ++b) {
      record_batch_builder builder;
      model_batch mb;
      int n = static_cast<int>(pick(1, 4));
      for (int i = 0; i < n; ++i) {
        auto key = random_bytes(16);
        auto value = random_bytes(300);
        auto ts = clock_.now() + static_cast<int64_t>(pick(0, 40)) - 20;
        builder.add(key ? std::optional<std::string_view>(*key) : std::nullopt,
                    value ? std::optional<std::string_view>(*value) : std::nullopt, ts);
        mb.records.push_back({at, key, value, ts});
        mb.max_ts = i == 0 ? ts : std::max(mb.max_ts, ts);
        at += 1;
      }
      auto one = builder.build();
      mb.bytes = one.size();
      bytes += one;
      made.push_back(std::move(mb));
    }
    auto r = log_->append(mut_span(bytes));
    REQUIRE(r);
    CHECK(r->base_offset == next_);
    CHECK(r->last_offset == at - 1);
    CHECK(r->batches == nbatches);
    for (auto& mb : made) batches_[mb.records.front().off()] = std::move(mb);
    next_ = at;
    CHECK(log_->flushed_offset() <= next_);
    if (r->flushed) {
      CHECK(log_->flushed_offset() == next_);
      CHECK(log_->unflushed_messages() == 0);
    }
  }

  void append_invalid() {
    auto before_size = log_->size_bytes();
    auto good = numbered_batch("ok", 2, clock_.now());
    std::string bad = good;
    switch (pick(0, 2)) {
      case 0:
        bad[bad.size() - 1] ^= 0x20;
        break;  // CRC
      case 1:
        bad = good + good.substr(0, pick(1, good.size() - 1));
        break;  // torn second
      default:
        bad = std::string(pick(1, 100), '\x55');
        break;  // garbage
    }
    auto r = log_->append(mut_span(bad));
    REQUIRE_FALSE(r);
    CHECK((r.error() == errc::crc_mismatch || r.error() == errc::invalid_batch ||
           r.error() == errc::batch_too_large));
    CHECK(log_->next_offset() == next_);
    CHECK(log_->size_bytes() == before_size);
  }

  void truncate() {
    auto lo = log_->log_start_offset()();
    auto hi = log_->next_offset()();
    offset o(static_cast<int64_t>(pick(static_cast<uint64_t>(lo), static_cast<uint64_t>(hi))));
    REQUIRE(log_->truncate(o));
    while (!batches_.empty() && std::prev(batches_.end())->second.next() > o) {
      batches_.erase(std::prev(batches_.end()));
    }
    if (batches_.empty()) {
      // An emptied log keeps the base of its only segment.
      REQUIRE(log_->segment_count() == 1);
      next_ = std::min(next_, log_->segments()[0]->base_offset());
    } else {
      next_ = std::prev(batches_.end())->second.next();
    }
    CHECK(log_->next_offset() == next_);
  }

  void retention() {
    // The expected outcome, from the rules in log.h: an expired active
    // segment is rolled; then oldest segments go while the log is above
    // retention_bytes or they are expired; the active one always stays.
    struct seg {
      offset base, next;
      uint64_t size;
      timestamp_ms max_ts;
    };
    std::vector<seg> segs;
    for (const auto& s : log_->segments()) {
      segs.push_back({s->base_offset(), s->next_offset(), s->size_bytes(), s->max_timestamp()});
    }
    auto t = clock_.now();
    auto expired = [&](const seg& s) {
      return cfg_.retention_ms >= 0 && s.size > 0 && t() - s.max_ts() > cfg_.retention_ms;
    };
    if (expired(segs.back())) segs.push_back({next_, next_, 0, timestamp_ms(-1)});
    uint64_t total = 0;
    for (auto& s : segs) total += s.size;
    size_t deleted = 0;
    while (segs.size() - deleted > 1) {
      const auto& s = segs[deleted];
      bool over = cfg_.retention_bytes >= 0 && total > static_cast<uint64_t>(cfg_.retention_bytes);
      if (!over && !expired(s) && s.size > 0) break;
      total -= s.size;
      ++deleted;
    }
    auto r = log_->apply_retention();
    REQUIRE(r);
    CHECK(*r == deleted);
    CHECK(log_->segment_count() == segs.size() - deleted);
    CHECK(log_->segments().front()->base_offset() == segs[deleted].base);
    CHECK(log_->next_offset() == next_);
    auto start = log_->segments().front()->base_offset();
    while (!batches_.empty() && offset(batches_.begin()->first) < start) {
      batches_.erase(batches_.begin());
    }
  }

  void reopen_clean() {
    std::vector<offset> older;  // bases of the segments before the tail
    for (size_t i = 0; i + 1 < log_->segment_count(); ++i) {
      older.push_back(log_->segments()[i]->base_offset());
    }
    REQUIRE(log_->close());
    log_.reset();
    // Sometimes damage an older segment's index files: they must be rebuilt
    // (or, when only the last entries are missing, completed).
    int damage = older.empty() ? 0 : static_cast<int>(pick(0, 3));
    if (damage > 0) {
      auto base = older[pick(0, older.size() - 1)];
      auto index = seg_path(dir_.path(), base, "index");
      if (damage == 1) fs::remove(index);
      if (damage == 2) write_whole(seg_path(dir_.path(), base, "timeindex"), "thirteen byte");
      if (damage == 3) cut_file(index, offset_index::entry_size);
    }
    recovery_report report;
    log_ = open_log(dir_.path(), cfg_, &report);
    CHECK(report.clean_shutdown);
    if (damage == 1 || damage == 2) {
      REQUIRE(report.events.size() == 1);
      CHECK(report.events[0].what == recovery_event::kind::rebuilt_index);
    } else {
      CHECK(report.events.empty());
    }
    check_everything();
  }

  void crash() {
    const auto& tail = *log_->segments().back();
    auto tail_path = tail.path();
    auto tail_base = tail.base_offset();
    uint64_t size = tail.size_bytes();
    log_.reset();  // writes everything to the page cache
    forget_clean_shutdown(dir_.path());
    // Which model batches sit in the tail segment, and where.
    std::vector<std::pair<uint64_t, int64_t>> in_tail;  // position, base
    uint64_t pos = 0;
    for (auto it = batches_.lower_bound(tail_base()); it != batches_.end(); ++it) {
      in_tail.emplace_back(pos, it->first);
      pos += it->second.bytes;
    }
    REQUIRE(pos == size);
    uint64_t keep = size;      // bytes of whole valid batches kept
    uint64_t new_size = size;  // file size after the damage
    if (size > 0 && pick(0, 3) != 0) {
      if (pick(0, 1) == 0) {
        new_size = size - pick(1, std::min<uint64_t>(size, 400));
        cut_file(tail_path, new_size);
        keep = 0;
        for (auto& [p, base] : in_tail) {
          if (p + batches_.at(base).bytes <= new_size) keep = p + batches_.at(base).bytes;
        }
      } else {
        // Flip one byte covered by the CRC in a random tail batch.
        auto [p, base] = in_tail[pick(0, in_tail.size() - 1)];
        auto at = p + pick(batch_layout::magic, batches_.at(base).bytes - 1);
        auto data = read_whole(tail_path);
        data[at] = static_cast<char>(data[at] ^ (1 << pick(0, 7)));
        write_whole(tail_path, data);
        keep = p;
      }
    }
    if (pick(0, 1) == 0) write_whole(seg_path(dir_.path(), tail_base, "index"), "");
    recovery_report report;
    log_ = open_log(dir_.path(), cfg_, &report);
    CHECK_FALSE(report.clean_shutdown);
    if (keep < new_size) {
      REQUIRE(report.events.size() == 1);
      CHECK(report.events[0].what == recovery_event::kind::truncated_tail);
      CHECK(report.events[0].dropped_bytes == new_size - keep);
    } else {
      CHECK(report.events.empty());
    }
    next_ = tail_base;
    for (auto& [p, base] : in_tail) {
      if (p + batches_.at(base).bytes > keep) {
        batches_.erase(base);
      } else {
        next_ = batches_.at(base).next();
      }
    }
    check_everything();
  }

  void read_some() {
    auto lo = log_->log_start_offset()();
    auto hi = log_->next_offset()();
    offset from(static_cast<int64_t>(pick(static_cast<uint64_t>(lo), static_cast<uint64_t>(hi))));
    uint64_t max_bytes = pick(1, 2000);
    auto s = log_->read(from, max_bytes);
    REQUIRE(s);
    if (from == next_) {
      CHECK(s->length == 0);
      return;
    }
    auto rs = records_of(slice_bytes(*s));
    REQUIRE(!rs.empty());
    auto holding = std::prev(batches_.upper_bound(from()));
    CHECK(s->first_offset == offset(holding->first));
    CHECK(rs.front().off == offset(holding->first));
    // The slice holds whole batches, as the model has them.
    auto want_it = batches_.find(rs.front().off());
    size_t i = 0;
    uint64_t len = 0;
    for (; want_it != batches_.end() && i < rs.size(); ++want_it) {
      for (const auto& r : want_it->second.records) {
        REQUIRE(i < rs.size());
        CHECK(rs[i] == r);
        ++i;
      }
      len += want_it->second.bytes;
    }
    CHECK(i == rs.size());
    CHECK(s->length == len);
    CHECK((len <= max_bytes || rs.size() == batches_.at(s->first_offset()).records.size()));
  }

  void check_timestamps() {
    auto t = clock_.now() + static_cast<int64_t>(pick(0, 20000)) - 15000;
    offset want = next_;
    for (const auto& [base, b] : batches_) {
      if (b.max_ts >= t) {
        want = offset(base);
        break;
      }
    }
    auto got = log_->offset_for_timestamp(t);
    REQUIRE(got);
    CHECK(*got == want);
  }

  void check_bounds() {
    REQUIRE(log_->next_offset() == next_);
    REQUIRE(log_->log_start_offset() == model_start());
    if (log_->log_start_offset() > offset(0)) {
      CHECK(log_->read(log_->log_start_offset() - 1, 100).error() == errc::offset_out_of_range);
    }
    CHECK(log_->read(next_ + 1, 100).error() == errc::offset_out_of_range);
  }

  void check_everything() {
    check_bounds();
    CHECK(read_all(*log_, log_->log_start_offset(), pick(1, 4000)) ==
          model_records(log_->log_start_offset()));
  }

  std::mt19937_64 rng_;
  temp_dir dir_;
  manual_clock clock_;
  log_config cfg_;
  std::unique_ptr<partition_log> log_;
  std::map<int64_t, model_batch> batches_;
  offset next_{0};
};

uint64_t seed_from_env_or_random() {
  if (const char* s = std::getenv("ACTORMQ_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

}  // namespace

TEST_CASE("a random run of log operations matches an in memory model") {
  auto seed = seed_from_env_or_random();
  std::cout << "random log operations: seed " << seed << " (replay with ACTORMQ_SEED=" << seed
            << ")\n";
  INFO("seed " << seed << " (replay with ACTORMQ_SEED=" << seed << ")");
  for (int run = 0; run < 3; ++run) {
    random_ops ops(seed + static_cast<uint64_t>(run));
    ops.run(300);
  }
}
