#include "history.h"

#include <fmt/format.h>

#include <algorithm>

namespace actormq::checker {

namespace {
constexpr size_t max_problems = 10;
}

void history::note(std::string problem) {
  if (problems_.size() < max_problems) problems_.push_back(std::move(problem));
}

void history::sent(const std::string& value, clock::time_point at, const std::string& stream) {
  std::lock_guard lk(mu_);
  auto& s = sends_[value];
  s.sent_at = at;
  s.stream = stream;
  s.index = ++sends_made_;
}

void history::acked(const std::string& value, uint32_t partition, int64_t offset,
                    clock::time_point at) {
  std::lock_guard lk(mu_);
  auto& s = sends_[value];
  s.acked_at = at;
  s.partition = partition;
  s.offset = offset;
  ack_times_.emplace_back(at, partition);
  observe_locked(partition, offset, value);
}

void history::failed(const std::string& value, const std::string& why, clock::time_point) {
  std::lock_guard lk(mu_);
  sends_[value].failed = true;
  ++failure_reasons_[why];
}

void history::observed(const std::vector<observation>& records) {
  std::lock_guard lk(mu_);
  for (const auto& r : records) observe_locked(r.partition, r.offset, r.value);
}

void history::observe_locked(uint32_t partition, int64_t offset, const std::string& value) {
  auto [it, fresh] = seen_.emplace(std::pair{partition, offset}, value);
  if (!fresh && it->second != value) {
    ++divergent_;
    note(fmt::format("partition {} offset {} held {} and later {}", partition, offset, it->second,
                     value));
  }
}

check_result history::check(const std::vector<observation>& final_read) {
  observed(final_read);
  std::lock_guard lk(mu_);
  check_result r;
  r.read = static_cast<int64_t>(final_read.size());
  r.divergent = divergent_;
  std::map<std::pair<uint32_t, int64_t>, const std::string*> at;
  std::unordered_map<std::string, int> copies;
  for (const auto& o : final_read) {
    at[{o.partition, o.offset}] = &o.value;
    ++copies[o.value];
    if (!sends_.count(o.value)) {
      ++r.phantom;
      note(fmt::format("partition {} offset {} holds {}, never sent", o.partition, o.offset,
                       o.value));
    }
  }
  for (const auto& [value, s] : sends_) {
    ++r.sent;
    if (s.failed) ++r.failed;
    auto n = copies.count(value) ? copies[value] : 0;
    if (n > 1) {
      if (s.acked_at) {
        r.duplicates_acked += n - 1;
        note(fmt::format("acknowledged {} stored {} times", value, n));
      } else {
        r.duplicates_unacked += n - 1;
      }
    }
    if (!s.acked_at) continue;
    ++r.acked;
    auto it = at.find({s.partition, s.offset});
    if (it == at.end()) {
      ++r.lost;
      note(fmt::format("acknowledged {} at partition {} offset {} is gone", value, s.partition,
                       s.offset));
    } else if (*it->second != value) {
      ++r.lost;
      note(fmt::format("acknowledged {} at partition {} offset {} was replaced by {}", value,
                       s.partition, s.offset, *it->second));
    }
  }
  // Order: in each partition, by offset, the acknowledged values of one
  // stream, each at the offset it was acknowledged at, must come in the
  // order they were sent. A value stored too early counts once for every
  // later-sent value read after it (each problem names it).
  std::map<std::pair<std::string, uint32_t>, const std::pair<const std::string, send_record>*> last;
  for (const auto& [where, value] : at) {
    auto s = sends_.find(*value);
    if (s == sends_.end() || !s->second.acked_at || s->second.stream.empty()) continue;
    if (where != std::pair{s->second.partition, s->second.offset}) continue;  // another copy
    auto& prev = last[{s->second.stream, where.first}];
    if (prev != nullptr && prev->second.index > s->second.index) {
      ++r.reordered;
      note(fmt::format("partition {} offset {} holds {}, sent before {} that is stored earlier",
                       where.first, where.second, *value, prev->first));
      continue;
    }
    prev = &*s;
  }
  r.problems = problems_;
  return r;
}

history::clock::duration history::longest_gap(clock::time_point from, clock::time_point to,
                                              std::optional<uint32_t> partition) const {
  std::lock_guard lk(mu_);
  std::vector<clock::time_point> times;
  for (auto [t, p] : ack_times_) {
    if (t >= from && t <= to && (!partition || *partition == p)) times.push_back(t);
  }
  std::sort(times.begin(), times.end());
  clock::duration longest{0};
  auto prev = from;
  for (auto t : times) {
    longest = std::max(longest, t - prev);
    prev = t;
  }
  return std::max(longest, to - prev);
}

int64_t history::acks_between(clock::time_point from, clock::time_point to,
                              clock::time_point sent_after,
                              std::optional<uint32_t> partition) const {
  std::lock_guard lk(mu_);
  int64_t n = 0;
  for (const auto& [value, s] : sends_) {
    if (!s.acked_at || *s.acked_at < from || *s.acked_at > to || s.sent_at < sent_after) continue;
    if (partition && s.partition != *partition) continue;
    ++n;
  }
  return n;
}

std::vector<std::string> history::acked_values() const {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  for (const auto& [value, r] : sends_) {
    if (r.acked_at) out.push_back(value);
  }
  return out;
}

std::vector<int64_t> history::acked_ends(uint32_t partitions) const {
  std::lock_guard lk(mu_);
  std::vector<int64_t> ends(partitions, 0);
  for (const auto& [value, s] : sends_) {
    if (s.acked_at && s.partition < partitions) {
      ends[s.partition] = std::max(ends[s.partition], s.offset + 1);
    }
  }
  return ends;
}

std::optional<history::clock::time_point> history::last_ack() const {
  std::lock_guard lk(mu_);
  if (ack_times_.empty()) return std::nullopt;
  return std::max_element(ack_times_.begin(), ack_times_.end())->first;
}

std::map<std::string, int64_t> history::failure_reasons() const {
  std::lock_guard lk(mu_);
  return failure_reasons_;
}

}  // namespace actormq::checker
