#include "actors/cluster/producer_id_block.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "actors/key_value_text.h"

namespace actormq::cluster {

std::string producer_id_block::encode() const {
  return fmt::format("broker = {}\nfirst = {}\nlast = {}\n", broker, first, last);
}

std::optional<producer_id_block> producer_id_block::decode(std::string_view text) {
  producer_id_block b;
  bool have_first = false;
  bool have_last = false;
  for (auto [key, val] : parse_key_value_lines(text)) {
    auto v = parse_int64(val);
    if (key == "broker") {
      if (!v || *v < no_broker || *v > INT32_MAX) return std::nullopt;
      b.broker = static_cast<broker_id>(*v);
    } else if (key == "first") {
      if (!v) return std::nullopt;
      b.first = *v;
      have_first = true;
    } else if (key == "last") {
      if (!v) return std::nullopt;
      b.last = *v;
      have_last = true;
    }
  }
  if (!have_first || !have_last || b.first < 0 || b.first > b.last) return std::nullopt;
  return b;
}

std::optional<producer_id_block> producer_id_block::after(
    const std::optional<producer_id_block>& latest, broker_id claimer, int64_t size,
    int64_t floor) {
  constexpr auto max = std::numeric_limits<int64_t>::max();
  if (size < 1) return std::nullopt;
  int64_t first = std::max<int64_t>(floor, 0);
  if (latest) {
    if (latest->last == max) return std::nullopt;
    first = std::max(first, latest->last + 1);
  }
  if (first > max - (size - 1)) return std::nullopt;
  return producer_id_block{claimer, first, first + (size - 1)};  // no overflow at max
}

}  // namespace actormq::cluster
