#pragma once
// State of the NODE actor: who this broker is, and the partition_stats
// fan-in over the local registry and partition actors.

#include <caf/all.hpp>

#include <vector>

#include "actors/cluster/node_actor.h"

namespace actormq {

class node_state {
 public:
  using self_ptr = node_actor::stateful_pointer<node_state>;
  static constexpr const char* name = "node";

  void init(self_ptr self, node_settings settings);

  node_info info() const;
  /// Looks each distinct topic up once, then asks each partition for its
  /// offsets; replies when every entry has its value or its error.
  caf::result<std::vector<partition_stats>> stats(const std::vector<topic_partition>& tps);

 private:
  self_ptr self_ = nullptr;
  node_settings settings_;
};

}  // namespace actormq
