#pragma once
// State of the INSPECTOR actor: the fan-outs over the directory and the
// peers, each answered once every part has answered or timed out.

#include <caf/all.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/cluster/inspector_actor.h"

namespace actormq {

class inspector_state {
 public:
  using self_ptr = inspector_actor::stateful_pointer<inspector_state>;
  static constexpr const char* name = "inspector";

  void init(self_ptr self, inspector_settings settings);

  /// Every local actor's report.
  caf::result<broker_report> local();
  /// This broker's and every peer's.
  caf::result<std::vector<broker_report>> cluster();

 private:
  /// Gathers the local report and calls done with it.
  void gather_local(std::function<void(broker_report)> done);
  /// Asks one peer; calls done with its report or a down one.
  void ask_peer(const peer_status& p, std::function<void(broker_report)> done);

  self_ptr self_ = nullptr;
  inspector_settings settings_;
  /// Every peer seen so far: its address and when it was last listed. A
  /// SIGKILLed broker's registration is revoked within a second and the
  /// PEERS actor forgets it; the inspector keeps showing it as down.
  struct seen_peer {
    std::string address;
    int64_t last_listed_ms = 0;
  };
  std::map<int32_t, seen_peer> seen_;
};

}  // namespace actormq
