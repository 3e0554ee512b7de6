#include "actors/delay/delay_class.h"

namespace actormq::delay {

delay_class level_class(size_t level) {
  if (level == 0 || level > max_class_level) return delay_class::deliver_at;
  return static_cast<delay_class>(level);
}

delay_class class_of_delay(const delay_levels& levels, milliseconds d) {
  return level_class(levels.level_of(d));
}

std::optional<size_t> level_of(delay_class c) {
  auto v = static_cast<size_t>(c);
  if (v == 0 || v > max_class_level) return std::nullopt;
  return v;
}

std::string class_label(delay_class c) {
  if (auto l = level_of(c)) return std::to_string(*l);
  switch (c) {
    case delay_class::retry:
      return "retry";
    case delay_class::deliver_at:
      return "at";
    default:
      return "unknown";
  }
}

}  // namespace actormq::delay
