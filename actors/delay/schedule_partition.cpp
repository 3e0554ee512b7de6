#include "actors/delay/schedule_partition.h"

#include <algorithm>

#include "storage/byte_codec.h"
#include "storage/crc32c.h"
#include "storage/errc.h"
#include "storage/file_handle.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace actormq::delay {

namespace {

constexpr auto kind_byte = static_cast<uint8_t>(timer_kind::delayed_message);

storage::schedule_entry entry_of(int64_t offset, int64_t due_ms) {
  return {storage::timestamp_ms(due_ms), kind_byte, static_cast<uint64_t>(offset)};
}

constexpr uint32_t state_magic = 0x44514D41;  // "AMQD" read as a little-endian uint32
// Version 2 adds the pending counts per class; a version 1 state (an
// earlier release) reads with none.
constexpr uint16_t state_version = 2;

std::filesystem::path state_file(const std::filesystem::path& dir) {
  return dir / "state";
}

}  // namespace

int32_t record_count(const std::string& batches) {
  int32_t n = 0;
  storage::for_each_batch(
      {reinterpret_cast<const uint8_t*>(batches.data()), batches.size()},
      [&](const storage::batch_header& h, std::span<const uint8_t>) { n += h.record_count; });
  return n;
}

storage::result<std::unique_ptr<schedule_partition>> schedule_partition::open(
    schedule_partition_config cfg, storage::recovery_report* report) {
  std::error_code ec;
  std::filesystem::create_directories(cfg.dir, ec);
  if (ec) return ec;
  const bool fresh = !std::filesystem::exists(state_file(cfg.dir), ec);
  storage::result<std::string> state = std::string();
  if (!fresh) state = storage::read_file(state_file(cfg.dir));
  if (!state) return state.error();
  if (fresh) {
    // No checkpoint: whatever index files exist were never vouched for.
    std::filesystem::remove_all(cfg.dir / "index", ec);
    if (ec) return ec;
  }
  storage::schedule_store_config sc;
  sc.bucket_width = cfg.bucket_width;
  auto store = storage::schedule_store::open(cfg.dir / "index", sc, report);
  if (!store) return store.error();
  std::unique_ptr<schedule_partition> p(new schedule_partition(std::move(cfg), std::move(*store)));
  if (!fresh) {
    if (auto st = p->decode_state(*state); !st) return st.error();
  }
  return p;
}

std::string schedule_partition::encode_state() const {
  std::vector<uint8_t> out;
  storage::byte_writer w(out);
  w.put<uint32_t>(state_magic);
  w.put<uint16_t>(state_version);
  w.put<int64_t>(applied_);
  sequences_record s;
  s.next_dispatch = next_dispatch_;
  s.completed = completed_;
  s.next_seq = next_seq_;
  auto seq = encode_value(s);
  w.put<uint32_t>(static_cast<uint32_t>(seq.size()));
  w.put_bytes(seq);
  w.put<uint32_t>(static_cast<uint32_t>(recent_.size()));
  for (const auto& [n, d] : recent_) {
    auto v = encode_value(d);
    w.put<uint32_t>(static_cast<uint32_t>(v.size()));
    w.put_bytes(v);
  }
  w.put<uint16_t>(static_cast<uint16_t>(pending_.size()));
  for (const auto& [cls, n] : pending_) {
    w.put<uint8_t>(static_cast<uint8_t>(cls));
    w.put<uint64_t>(n);
  }
  w.put<uint32_t>(storage::crc32c(out.data(), out.size()));
  return {reinterpret_cast<const char*>(out.data()), out.size()};
}

storage::status schedule_partition::decode_state(const std::string& bytes) {
  auto corrupt = [] { return storage::make_error_code(storage::errc::corrupt_checkpoint); };
  if (bytes.size() < 4) return corrupt();
  uint32_t crc =
      storage::load_le<uint32_t>(reinterpret_cast<const uint8_t*>(bytes.data()) + bytes.size() - 4);
  if (crc != storage::crc32c(bytes.data(), bytes.size() - 4)) return corrupt();
  storage::byte_reader r({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size() - 4});
  uint32_t magic = 0, n = 0;
  uint16_t version = 0;
  std::string v;
  if (!r.get(magic) || magic != state_magic || !r.get(version) || version < 1 ||
      version > state_version || !r.get(applied_) || !r.get(n) || !r.get_bytes(n, v)) {
    return corrupt();
  }
  auto seq = decode_schedule_record(encode_key(schedule_kind::sequences), v);
  if (!seq) return corrupt();
  apply_sequences(seq->sequences);
  uint32_t count = 0;
  if (!r.get(count)) return corrupt();
  for (uint32_t i = 0; i < count; ++i) {
    if (!r.get(n) || !r.get_bytes(n, v)) return corrupt();
    auto d = decode_schedule_record(encode_key(schedule_kind::dispatch), v);
    if (!d) return corrupt();
    recent_[d->dispatch.number] = d->dispatch;
  }
  if (version >= 2) {
    uint16_t classes = 0;
    if (!r.get(classes)) return corrupt();
    for (uint16_t i = 0; i < classes; ++i) {
      uint8_t cls = 0;
      uint64_t n = 0;
      if (!r.get(cls) || !r.get(n)) return corrupt();
      if (n > 0) pending_[static_cast<delay_class>(cls)] = n;
    }
  }
  if (!r.at_end()) return corrupt();
  return {};
}

schedule_partition::schedule_partition(schedule_partition_config cfg,
                                       std::unique_ptr<storage::schedule_store> s)
    : cfg_(std::move(cfg)), store_(std::move(s)) {}

int64_t schedule_partition::bucket_of(int64_t due_ms) const {
  return store_->bucket_of(storage::timestamp_ms(due_ms))();
}

// --- every replica ---

storage::status schedule_partition::apply(int64_t offset, const schedule_record& r) {
  if (offset < applied_) return {};
  storage::status st;
  switch (r.kind) {
    case schedule_kind::envelope:
      st = apply_envelope(offset, r.envelope);
      break;
    case schedule_kind::dispatch:
      st = apply_dispatch(r.dispatch);
      break;
    case schedule_kind::progress:
      st = apply_progress(r.progress);
      break;
    case schedule_kind::sequences:
      apply_sequences(r.sequences);
      break;
  }
  if (!st) return st;
  applied_ = offset + 1;
  return {};
}

void schedule_partition::skip_to(int64_t offset) {
  applied_ = std::max(applied_, offset);
}

storage::status schedule_partition::apply_envelope(int64_t offset, const envelope_record& e) {
  auto st = store_->add(entry_of(offset, e.due_ms));
  if (!st) return st;
  if (auto n = record_count(e.batch); n > 0) pending_[e.cls] += static_cast<uint64_t>(n);
  if (wheel_ && bucket_of(e.due_ms) < loaded_until_) {
    timer_entry t{storage::timestamp_ms(e.due_ms), timer_kind::delayed_message,
                  timer_id(static_cast<uint64_t>(offset))};
    // Overdue entries fire on the next advance: the wheel takes no past.
    t.due = std::max(t.due, wheel_->now());
    if (wheel_->add(t) == timing_wheel::add_result::added) count_in(e.due_ms);
  }
  return {};
}

storage::status schedule_partition::apply_dispatch(const dispatch_record& d) {
  if (d.number < next_dispatch_ && (d.number <= completed_ || recent_.count(d.number))) {
    return {};  // written twice (a retried write that had arrived)
  }
  next_dispatch_ = std::max(next_dispatch_, d.number + 1);
  for (const auto& t : d.targets) {
    auto& seq = next_seq_[{t.topic, t.partition}];
    seq = std::max(seq, static_cast<int32_t>(t.first_seq + static_cast<int32_t>(t.records)));
    for (const auto& e : t.entries) {
      auto st = store_->cancel(entry_of(e.offset, e.due_ms));
      if (!st) return st;
      count_delivered(e.cls, e.records);
    }
  }
  if (d.number > completed_) recent_[d.number] = d;
  return {};
}

storage::status schedule_partition::apply_progress(const progress_record& p) {
  logged_completed_ = std::max(logged_completed_, p.completed);
  if (p.completed > completed_) {
    completed_ = p.completed;
    advance_completed();
  }
  if (p.bucket >= 0) {
    auto st = store_->remove_bucket(storage::timestamp_ms(p.bucket));
    if (!st) return st;
    open_.erase(p.bucket);
  }
  return {};
}

void schedule_partition::count_delivered(delay_class cls, uint32_t records) {
  auto it = pending_.find(cls);
  if (it == pending_.end()) return;
  it->second -= std::min<uint64_t>(it->second, records);
  if (it->second == 0) pending_.erase(it);
}

std::vector<std::pair<delay_class, uint64_t>> schedule_partition::pending_by_class() const {
  return {pending_.begin(), pending_.end()};
}

void schedule_partition::apply_sequences(const sequences_record& s) {
  next_dispatch_ = std::max(next_dispatch_, s.next_dispatch);
  logged_completed_ = std::max(logged_completed_, s.completed);
  if (s.completed > completed_) {
    completed_ = s.completed;
    advance_completed();
  }
  for (const auto& [t, seq] : s.next_seq) {
    auto& mine = next_seq_[t];
    mine = std::max(mine, seq);
  }
}

storage::status schedule_partition::write_applied() const {
  auto bytes = encode_state();
  return storage::write_file_atomic(state_file(cfg_.dir),
                                    {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

storage::status schedule_partition::checkpoint() {
  auto st = store_->flush();
  if (!st) return st;
  return write_applied();
}

storage::status schedule_partition::reset(int64_t offset) {
  follow();
  store_.reset();
  std::error_code ec;
  std::filesystem::remove_all(cfg_.dir / "index", ec);
  if (ec) return ec;
  storage::schedule_store_config sc;
  sc.bucket_width = cfg_.bucket_width;
  auto store = storage::schedule_store::open(cfg_.dir / "index", sc);
  if (!store) return store.error();
  store_ = std::move(*store);
  applied_ = offset;
  next_dispatch_ = 1;
  completed_ = 0;
  logged_completed_ = 0;
  next_seq_.clear();
  recent_.clear();
  pending_.clear();
  return write_applied();
}

// --- the leader ---

storage::status schedule_partition::lead(int64_t now_ms) {
  follow();
  timing_wheel_config wc;
  auto w = timing_wheel::make(wc, storage::timestamp_ms(now_ms));
  if (!w) return w.error();
  wheel_.emplace(std::move(*w));
  loaded_until_ = 0;
  reported_completed_ = completed_;
  // What this replica knows completed (its log, or its own deliveries
  // before a restart): a leader after it repeats no more than the rest.
  logged_completed_ = completed_;
  // Dispatches are recorded one after another, so the log has no gap: what
  // it names is all that was ever produced.
  plan_next_dispatch_ = next_dispatch_;
  plan_next_seq_ = next_seq_;
  return load_buckets(now_ms);
}

void schedule_partition::follow() {
  wheel_.reset();
  loaded_until_ = 0;
  open_.clear();
  fired_.clear();
  planned_.clear();
  done_.clear();
  plan_next_seq_.clear();
  plan_next_dispatch_ = 0;
}

void schedule_partition::count_in(int64_t due_ms) {
  ++open_[bucket_of(due_ms)].entries;
}

storage::status schedule_partition::load_buckets(int64_t now_ms) {
  const int64_t horizon = now_ms + cfg_.load_ahead.count();
  for (;;) {
    auto next = store_->next_bucket(storage::timestamp_ms(loaded_until_));
    if (!next || (*next)() > horizon) break;
    auto b = store_->load_bucket(*next);
    if (!b) return b.error();
    open_[(*next)()];  // tracked even when empty: removed once it ended
    for (const auto& e : b->entries) {
      timer_entry t{std::max(e.due, wheel_->now()), timer_kind::delayed_message, timer_id(e.id)};
      if (wheel_->add(t) == timing_wheel::add_result::added) count_in(e.due());
    }
    loaded_until_ = (*next)() + store_->bucket_width().count();
  }
  // Nearer buckets without a file count as loaded: new entries for them go
  // straight to the wheel.
  loaded_until_ = std::max(loaded_until_, bucket_of(horizon));
  return {};
}

std::vector<dispatch_record> schedule_partition::unfinished() const {
  std::vector<dispatch_record> out;
  for (const auto& [n, d] : recent_) {
    if (!planned_.count(n)) out.push_back(d);
  }
  return out;
}

bool schedule_partition::can_plan() const {
  // Counted from the completion the log holds, not the one this leader
  // knows: a new leader repeats every dispatch above the log's, and a target
  // recognises a repeat only among its last 5 batches per producer.
  return leading() && plan_next_dispatch_ - 1 - logged_completed_ < cfg_.max_in_flight;
}

std::vector<timer_entry> schedule_partition::due(int64_t now_ms, size_t max) {
  if (!wheel_) return {};
  (void)load_buckets(now_ms);
  auto out = wheel_->advance(storage::timestamp_ms(now_ms), max);
  for (const auto& e : out) fired_[static_cast<int64_t>(e.id())] = e.due();
  return out;
}

void schedule_partition::unfire(const std::vector<timer_entry>& entries) {
  for (const auto& e : entries) {
    if (fired_.erase(static_cast<int64_t>(e.id())) && wheel_) {
      auto t = e;
      t.due = std::max(t.due, wheel_->now());
      (void)wheel_->add(t);
    }
  }
}

void schedule_partition::drop(const std::vector<int64_t>& offsets) {
  for (auto off : offsets) {
    auto it = fired_.find(off);
    if (it == fired_.end()) continue;
    auto b = open_.find(bucket_of(it->second));
    if (b != open_.end() && b->second.entries > 0) --b->second.entries;
    fired_.erase(it);
  }
}

storage::result<std::string> schedule_partition::build_batch(
    const dispatch_target& t, const std::vector<const envelope_record*>& envs,
    int64_t producer_id) {
  storage::record_batch_builder b;
  b.set_producer(producer_id, 0, t.first_seq);
  for (const auto* e : envs) {
    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(e->batch.data()),
                                   e->batch.size());
    bool whole = true;
    size_t batches = storage::for_each_batch(
        bytes, [&](const storage::batch_header&, std::span<const uint8_t> one) {
          auto st = storage::for_each_record(one, [&](const storage::record_view& r) {
            std::vector<storage::record_header> hs;
            for (const auto& h : r.headers) {
              hs.push_back(
                  {std::string(h.key),
                   h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt});
            }
            b.add(r.key, r.value, r.timestamp, hs);
          });
          if (!st) whole = false;
        });
    if (batches == 0 || !whole) {
      return storage::make_error_code(storage::errc::invalid_batch);
    }
  }
  return b.build();
}

storage::result<planned_dispatch> schedule_partition::plan(
    const std::vector<fired_envelope>& fired) {
  planned_dispatch out;
  out.record.number = plan_next_dispatch_;
  std::map<target, size_t> index;  // target -> position in out.record.targets
  std::vector<std::vector<const envelope_record*>> envs;
  for (const auto& f : fired) {
    target t{f.envelope.topic, f.envelope.partition};
    auto [it, fresh] = index.emplace(t, out.record.targets.size());
    if (fresh) {
      dispatch_target d;
      d.topic = t.first;
      d.partition = t.second;
      d.first_seq = plan_next_seq_[t];
      out.record.targets.push_back(std::move(d));
      envs.emplace_back();
    }
    auto& d = out.record.targets[it->second];
    if (d.entries.size() >= cfg_.max_target_entries) continue;  // the next dispatch
    int32_t records = record_count(f.envelope.batch);
    if (records <= 0) return storage::make_error_code(storage::errc::invalid_batch);
    d.entries.push_back(
        {f.offset, f.envelope.due_ms, f.envelope.cls, static_cast<uint32_t>(records)});
    d.records += static_cast<uint32_t>(records);
    envs[it->second].push_back(&f.envelope);
  }
  std::vector<int64_t> dues;
  for (size_t i = 0; i < out.record.targets.size(); ++i) {
    auto& d = out.record.targets[i];
    auto batch = build_batch(d, envs[i], cfg_.producer_id);
    if (!batch) return batch.error();
    out.batches.push_back(std::move(*batch));
    plan_next_seq_[{d.topic, d.partition}] = d.first_seq + static_cast<int32_t>(d.records);
    for (const auto& e : d.entries) {
      fired_.erase(e.offset);
      dues.push_back(e.due_ms);
    }
  }
  // Envelopes left over (a target's share was full) go back to the wheel.
  std::vector<timer_entry> left;
  for (const auto& f : fired) {
    if (fired_.count(f.offset)) {
      left.push_back({storage::timestamp_ms(f.envelope.due_ms), timer_kind::delayed_message,
                      timer_id(static_cast<uint64_t>(f.offset))});
    }
  }
  unfire(left);
  ++plan_next_dispatch_;
  planned_[out.record.number] = std::move(dues);
  return out;
}

void schedule_partition::completed(uint64_t number) {
  auto it = planned_.find(number);
  if (it != planned_.end()) {
    for (auto due : it->second) {
      auto b = open_.find(bucket_of(due));
      if (b != open_.end() && b->second.entries > 0) --b->second.entries;
    }
    planned_.erase(it);
  }
  // Completed in number order: a later one may finish first.
  if (number > completed_) done_.insert(number);
  advance_completed();
}

void schedule_partition::advance_completed() {
  while (!done_.empty() && *done_.begin() <= completed_ + 1) {
    completed_ = std::max(completed_, *done_.begin());
    done_.erase(done_.begin());
  }
  recent_.erase(recent_.begin(), recent_.upper_bound(completed_));
}

std::optional<progress_record> schedule_partition::progress_due(int64_t now_ms, int64_t log_end) {
  if (!wheel_) return std::nullopt;
  progress_record p;
  p.completed = completed_;
  for (auto& [start, b] : open_) {
    if (start + store_->bucket_width().count() > now_ms) break;
    if (b.closed_at_log_end < 0) b.closed_at_log_end = log_end;
    if (b.entries == 0 && !repeats_into(start) && applied_ >= b.closed_at_log_end) {
      p.bucket = start;
      break;
    }
  }
  if (p.bucket < 0 && completed_ == reported_completed_) return std::nullopt;
  reported_completed_ = completed_;
  return p;
}

bool schedule_partition::repeats_into(int64_t bucket) const {
  // A dispatch of a previous leader still to repeat: its entries are not
  // counted in open_ (they were never in this leader's wheel).
  for (const auto& [n, d] : recent_) {
    if (planned_.count(n)) continue;
    for (const auto& t : d.targets) {
      for (const auto& e : t.entries) {
        if (bucket_of(e.due_ms) == bucket) return true;
      }
    }
  }
  return false;
}

sequences_record schedule_partition::sequences() const {
  sequences_record s;
  s.next_dispatch = next_dispatch_;
  s.completed = completed_;
  s.next_seq = next_seq_;
  return s;
}

std::optional<int64_t> schedule_partition::next_wake() const {
  if (!wheel_) return std::nullopt;
  std::optional<int64_t> at;
  if (auto d = wheel_->next_due()) at = (*d)();
  if (auto b = store_->next_bucket(storage::timestamp_ms(loaded_until_))) {
    int64_t load_at = (*b)() - cfg_.load_ahead.count();
    at = at ? std::min(*at, load_at) : load_at;
  }
  return at;
}

int64_t schedule_partition::lowest_needed() const {
  int64_t lowest = applied_;
  if (auto id = store_->lowest_entry_id()) lowest = std::min(lowest, static_cast<int64_t>(*id));
  for (const auto& [n, d] : recent_) {
    for (const auto& t : d.targets) {
      for (const auto& e : t.entries) lowest = std::min(lowest, e.offset);
    }
  }
  return lowest;
}

}  // namespace actormq::delay
