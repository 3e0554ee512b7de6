#include "actors/retry/retry_policy.h"

#include <charconv>
#include <cmath>

#include "storage/errc.h"

namespace actormq::retry {

namespace {

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == ',' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != ',' && s[j] != '\t') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

retry_policy::retry_policy() : levels_(delay::delay_levels::retry_defaults().delays()) {}

storage::result<retry_policy> retry_policy::parse(std::string_view backoff, uint32_t max_retries) {
  retry_policy p;
  p.max_retries_ = max_retries;
  auto words = split_words(backoff);
  if (!words.empty() && words.front() == "exponential") {
    if (words.size() != 4) return storage::errc::invalid_argument;
    auto initial = delay::parse_duration(words[1]);
    auto cap = delay::parse_duration(words[3]);
    double factor = 0;
    auto [end, ec] = std::from_chars(words[2].data(), words[2].data() + words[2].size(), factor);
    if (!initial || !cap || ec != std::errc{} || end != words[2].data() + words[2].size()) {
      return storage::errc::invalid_argument;
    }
    if (initial->count() <= 0 || factor < 1.0 || *cap < *initial) {
      return storage::errc::invalid_argument;
    }
    p.exponential_ = true;
    p.initial_ = *initial;
    p.factor_ = factor;
    p.cap_ = *cap;
    p.levels_.clear();
    return p;
  }
  auto levels = delay::delay_levels::parse(backoff);
  if (!levels) return levels.error();
  p.levels_ = levels->delays();
  return p;
}

milliseconds retry_policy::backoff(uint32_t retry) const {
  if (retry == 0) retry = 1;
  if (!exponential_) return levels_[std::min<size_t>(retry, levels_.size()) - 1];
  // initial * factor^(retry-1), computed in double and capped before it can
  // overflow.
  double d = static_cast<double>(initial_.count()) * std::pow(factor_, retry - 1.0);
  if (d >= static_cast<double>(cap_.count())) return cap_;
  return milliseconds(static_cast<int64_t>(d));
}

std::string retry_policy::to_string() const {
  if (!exponential_) {
    std::string s;
    for (auto d : levels_) {
      if (!s.empty()) s += ' ';
      s += delay::format_duration(d);
    }
    return s;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, factor_);
  (void)ec;
  return "exponential " + delay::format_duration(initial_) + " " + std::string(buf, end) + " " +
         delay::format_duration(cap_);
}

}  // namespace actormq::retry
