#include "actors/cluster/types.h"

namespace actormq {

const char* to_string(peer_state s) {
  switch (s) {
    case peer_state::connecting:
      return "connecting";
    case peer_state::up:
      return "up";
    case peer_state::down:
      return "down";
  }
  return "unknown";
}

}  // namespace actormq
