#include "delay_option.h"

#include <chrono>

#include "actors/delay/delay_levels.h"

namespace actormq::cli {

namespace {

/// Reads exactly n digits at text[*i]; advances *i.
std::optional<int> digits(std::string_view text, size_t* i, size_t n) {
  if (*i + n > text.size()) return std::nullopt;
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    char c = text[*i + k];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  *i += n;
  return v;
}

bool expect(std::string_view text, size_t* i, std::string_view any_of) {
  if (*i >= text.size() || any_of.find(text[*i]) == std::string_view::npos) return false;
  ++*i;
  return true;
}

}  // namespace

std::optional<int64_t> parse_rfc3339(std::string_view text) {
  using namespace std::chrono;
  size_t i = 0;
  auto y = digits(text, &i, 4);
  if (!y || !expect(text, &i, "-")) return std::nullopt;
  auto mo = digits(text, &i, 2);
  if (!mo || !expect(text, &i, "-")) return std::nullopt;
  auto d = digits(text, &i, 2);
  if (!d || !expect(text, &i, "Tt ")) return std::nullopt;
  auto h = digits(text, &i, 2);
  if (!h || !expect(text, &i, ":")) return std::nullopt;
  auto mi = digits(text, &i, 2);
  if (!mi || !expect(text, &i, ":")) return std::nullopt;
  auto s = digits(text, &i, 2);
  if (!s) return std::nullopt;
  int64_t frac_ms = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    size_t start = i;
    int64_t scale = 100;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      frac_ms += (text[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  int64_t offset_min = 0;
  if (expect(text, &i, "Zz")) {
    // UTC
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int sign = text[i] == '-' ? -1 : 1;
    ++i;
    auto oh = digits(text, &i, 2);
    if (!oh || !expect(text, &i, ":")) return std::nullopt;
    auto om = digits(text, &i, 2);
    if (!om || *oh > 23 || *om > 59) return std::nullopt;
    offset_min = sign * (*oh * 60 + *om);
  } else {
    return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!ymd.ok() || *h > 23 || *mi > 59 || *s > 60) return std::nullopt;  // 60: leap second
  auto t = sys_days{ymd} + hours{*h} + minutes{*mi} + seconds{*s} - minutes{offset_min};
  return duration_cast<milliseconds>(t.time_since_epoch()).count() + frac_ms;
}

std::optional<delay_choice> check_delay_flags(const delay_flags& f, std::string* why) {
  delay_choice c;
  if (f.delay) {
    auto d = delay::parse_duration(*f.delay);
    if (!d || d->count() <= 0) {
      *why = "--delay: '" + *f.delay + "' is not a positive duration (e.g. 500ms, 90s, 1m, 1h30m)";
      return std::nullopt;
    }
    c.delay_ms = d->count();
  }
  if (f.delay_level) {
    if (*f.delay_level < 1 || *f.delay_level > 255) {
      *why = "--delay-level: " + std::to_string(*f.delay_level) + " is not a level (1..)";
      return std::nullopt;
    }
    c.level = static_cast<uint8_t>(*f.delay_level);
  }
  if (f.deliver_at) {
    c.deliver_at_ms = parse_rfc3339(*f.deliver_at);
    if (!c.deliver_at_ms) {
      *why = "--deliver-at: '" + *f.deliver_at +
             "' is not an RFC 3339 time (e.g. 2026-11-25T10:00:00Z or ...T11:00:00.5+01:00)";
      return std::nullopt;
    }
  }
  return c;
}

}  // namespace actormq::cli
