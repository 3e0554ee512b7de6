#include "actors/delay/delay_levels.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <limits>

#include "storage/errc.h"

namespace actormq::delay {
namespace {

using storage::errc;

struct unit {
  std::string_view suffix;
  int64_t ms;
};

// Largest unit first: format_duration relies on it.
constexpr std::array<unit, 5> units{{
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"ms", 1},
}};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

storage::result<milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return errc::invalid_argument;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!is_digit(text[i])) return errc::invalid_argument;
    int64_t value = 0;
    while (i < text.size() && is_digit(text[i])) {
      value = value * 10 + (text[i] - '0');
      if (value > max_delay.count()) return errc::invalid_argument;
      ++i;
    }
    size_t start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view suffix = text.substr(start, i - start);
    int64_t per = 0;
    for (const auto& u : units) {
      if (u.suffix == suffix) per = u.ms;
    }
    if (per == 0) return errc::invalid_argument;  // missing or unknown unit
    if (value > (max_delay.count() - total) / per) return errc::invalid_argument;
    total += value * per;
  }
  return milliseconds(total);
}

std::string format_duration(milliseconds d) {
  int64_t rest = d.count();
  if (rest <= 0) return "0ms";
  std::string out;
  for (const auto& u : units) {
    if (rest >= u.ms) {
      out += std::to_string(rest / u.ms);
      out += u.suffix;
      rest %= u.ms;
    }
  }
  return out;
}

const delay_levels& delay_levels::message_defaults() {
  static const delay_levels levels =
      *parse("1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h");
  return levels;
}

const delay_levels& delay_levels::retry_defaults() {
  static const delay_levels levels = *parse("1s 5s 30s 1m 5m");
  return levels;
}

storage::result<delay_levels> delay_levels::parse(std::string_view spec) {
  std::vector<milliseconds> delays;
  size_t i = 0;
  while (i < spec.size()) {
    if (spec[i] == ' ' || spec[i] == ',' || spec[i] == '\t') {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < spec.size() && spec[i] != ' ' && spec[i] != ',' && spec[i] != '\t') ++i;
    auto d = parse_duration(spec.substr(start, i - start));
    if (!d) return d.error();
    delays.push_back(*d);
  }
  return make(std::move(delays));
}

storage::result<delay_levels> delay_levels::make(std::vector<milliseconds> delays) {
  if (delays.empty()) return errc::invalid_argument;
  for (size_t i = 0; i < delays.size(); ++i) {
    if (delays[i] <= milliseconds(0) || delays[i] > max_delay) return errc::invalid_argument;
    if (i > 0 && delays[i] <= delays[i - 1]) return errc::invalid_argument;
  }
  return delay_levels(std::move(delays));
}

storage::result<milliseconds> delay_levels::delay_of(size_t level) const {
  if (level == 0 || level > delays_.size()) return errc::invalid_argument;
  return delays_[level - 1];
}

storage::result<milliseconds> delay_levels::delay_of_attempt(size_t attempt) const {
  if (attempt == 0) return errc::invalid_argument;
  return delays_[std::min(attempt, delays_.size()) - 1];
}

size_t delay_levels::level_of(milliseconds d) const {
  for (size_t i = 0; i < delays_.size(); ++i) {
    if (delays_[i] == d) return i + 1;
  }
  return 0;
}

std::string delay_levels::to_string() const {
  std::string out;
  for (const auto& d : delays_) {
    if (!out.empty()) out += ' ';
    out += format_duration(d);
  }
  return out;
}

}  // namespace actormq::delay
