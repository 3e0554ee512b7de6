#pragma once
// The PEERS actor's logic, without actors or clocks: which brokers should be
// connected, the state of each, and when to try again. The actor feeds it
// events (desired set changed, attempt ended, connection lost, retry timer
// fired) with the current time and carries out what it answers (start an
// attempt, arm a timer, forget a connection).
//
// Tokens: every attempt and every armed retry timer gets a fresh token; an
// event carrying a token that is not the peer's current one is stale (a late
// reply of an abandoned attempt, a timer of a peer that was removed and added
// again) and is ignored.
//
// Backoff: after the n-th consecutive failure the next attempt waits
// min(initial * 2^(n-1), max), e.g. 100, 200, 400, 800, 1600, 2000, 2000 ms.
// A lost connection counts as the first failure (retry after initial).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/cluster/types.h"

namespace actormq {

/// Delays between connection attempts to a peer that is down.
struct backoff_policy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{2000};

  /// The wait after the given number of consecutive failures (>= 1).
  std::chrono::milliseconds delay(uint32_t failures) const;
};

class peer_table {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  /// An attempt the actor must start now (connect, then ask node_info).
  struct attempt {
    int32_t broker_id = -1;
    uint64_t token = 0;
  };
  /// A retry timer the actor must arm: after delay, report retry_due(id, token).
  struct retry {
    int32_t broker_id = -1;
    uint64_t token = 0;
    std::chrono::milliseconds delay{0};
    /// Nonzero once per lost connection: the incarnation of a peer whose
    /// connection closed and whose port then refused the first attempt, i.e.
    /// whose process is gone (crashed or killed). The actor reports it so
    /// that the cluster need not wait for the peer's lease to expire.
    uint64_t gone_incarnation = 0;
  };
  /// The answer to a new desired set.
  struct changes {
    std::vector<attempt> start;   ///< new peers and peers whose address changed
    std::vector<int32_t> forget;  ///< removed or moved peers: drop their connection
  };

  /// self_id: this broker, ignored when it appears in a desired set.
  explicit peer_table(int32_t self_id, backoff_policy backoff = {});

  /// Replaces the desired set. A peer whose host or port changed is forgotten
  /// and added again (connecting, fresh backoff). Duplicate ids: the last wins.
  changes set_desired(const std::vector<peer_address>& peers, time_point now);

  /// The attempt with token connected and the peer said it is broker_id of
  /// our cluster: the peer is up. Returns false for a stale token.
  bool attempt_succeeded(int32_t broker_id, uint64_t token, uint64_t incarnation, time_point now);

  /// The attempt with token failed (refused, timed out, wrong broker or
  /// cluster): the peer is down and the timer to arm is returned; nothing for
  /// a stale token. refused: the TCP connection itself was refused (nothing
  /// listens at the peer's address), not timed out or turned away later.
  std::optional<retry> attempt_failed(int32_t broker_id, uint64_t token, std::string error,
                                      time_point now, bool refused = false);

  /// The connection of an up peer ended (down_msg): the peer is down, retry
  /// after the initial backoff. Nothing when the peer is not up.
  std::optional<retry> connection_lost(int32_t broker_id, std::string error, time_point now);

  /// A retry timer fired: the attempt to start, or nothing when the timer is
  /// stale (the peer was removed, re-added, or is up again).
  std::optional<attempt> retry_due(int32_t broker_id, uint64_t token);

  /// The state of a known peer (nothing when it is not in the desired set).
  std::optional<peer_state> state_of(int32_t broker_id) const;
  /// The incarnation last seen up (0 when never up or unknown).
  uint64_t incarnation_of(int32_t broker_id) const;
  /// Where a known peer is (nothing when it is not in the desired set).
  std::optional<peer_address> address_of(int32_t broker_id) const;

  /// Every peer, sorted by broker id. wall_now_ms is the wall-clock time that
  /// corresponds to now (the table itself only uses the monotonic clock).
  std::vector<peer_status> snapshot(time_point now, int64_t wall_now_ms) const;

 private:
  struct entry {
    peer_address address;
    peer_state state = peer_state::connecting;
    time_point since;
    std::string last_error;
    uint64_t incarnation = 0;
    uint32_t failures = 0;  ///< consecutive failed attempts since last up
    uint64_t token = 0;     ///< of the attempt in flight or the armed timer
    bool lost = false;      ///< its connection closed; no attempt has ended since
  };

  void enter(entry& e, peer_state s, time_point now);
  retry schedule_retry(int32_t broker_id, entry& e);

  int32_t self_id_;
  backoff_policy backoff_;
  uint64_t next_token_ = 1;
  std::map<int32_t, entry> peers_;
};

}  // namespace actormq
