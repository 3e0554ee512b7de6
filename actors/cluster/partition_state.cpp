#include "actors/cluster/partition_state.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "actors/key_value_text.h"

namespace actormq::cluster {

std::string partition_state::encode() const {
  return fmt::format("leader = {}\nleader_epoch = {}\nreplicas = {}\nisr = {}\n", leader,
                     leader_epoch, fmt::join(replicas, ","), fmt::join(isr, ","));
}

std::optional<partition_state> partition_state::decode(std::string_view text) {
  partition_state s;
  bool have_replicas = false;
  for (auto [key, val] : parse_key_value_lines(text)) {
    if (key == "leader" || key == "leader_epoch") {
      auto v = parse_int64(val);
      if (!v || *v < -1 || *v > INT32_MAX) return std::nullopt;
      (key == "leader" ? s.leader : s.leader_epoch) = static_cast<int32_t>(*v);
    } else if (key == "replicas" || key == "isr") {
      auto list = parse_int32_list(val);
      if (!list) return std::nullopt;
      if (key == "replicas") {
        s.replicas = std::move(*list);
        have_replicas = true;
      } else {
        s.isr = std::move(*list);
      }
    }
  }
  if (!have_replicas || s.replicas.empty() || s.leader_epoch < 0) return std::nullopt;
  return s;
}

}  // namespace actormq::cluster
