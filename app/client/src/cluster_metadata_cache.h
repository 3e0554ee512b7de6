#pragma once
// cluster_metadata_cache: what a client knows about the cluster, from the
// brokers' `metadata` answers: the brokers and their addresses, the
// controller, and per partition the leader and its epoch. Producers, the
// consumer and admin ask it where to send a partition's request
// (leader_of); replies refine it (apply_leader_hint after notLeader,
// invalidate after unknownTopic or a lost leader) and a refresh is due
// when something went stale or the data is older than the max age, but
// never more often than the minimum refresh interval.
//
// A metadata answer never moves a partition back to an older leader epoch
// than one already seen (a lagging broker may answer with a stale view).
//
// Plain C++, no I/O; time is passed in. Not thread-safe (cluster_router
// holds it under its mutex).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actormq/client/types.h"

namespace actormq::client::detail {

/// The hint of a notLeader / notController reply: who leads, if known.
struct leader_hint {
  int32_t id = -1;
  std::string address;
};

/// Where a partition's requests go, as far as the cache knows.
struct partition_route {
  enum class status {
    leader,             ///< leader and address are set
    offline,            ///< the partition has no leader now (-1): wait and ask again
    unknown_topic,      ///< the cluster said the topic does not exist (err)
    unknown_partition,  ///< the topic has fewer partitions
    unknown,            ///< nothing known yet: ask for metadata first
  };
  status st = status::unknown;
  int32_t leader = -1;
  int32_t leader_epoch = -1;
  std::string address;  ///< the leader's "HOST:PORT"
  error err;            ///< the broker's error for unknown_topic
};

class cluster_metadata_cache {
 public:
  using clock = std::chrono::steady_clock;

  explicit cluster_metadata_cache(
      std::chrono::milliseconds min_refresh_interval = std::chrono::milliseconds(100))
      : min_refresh_interval_(min_refresh_interval) {}

  /// Takes a metadata answer. Brokers and controller are replaced; each
  /// topic in the answer replaces what was known of it (a topic answered
  /// with an error is remembered as missing); topics not in the answer are
  /// kept. Partitions keep their entry when the answer has an older epoch.
  void update(const cluster_metadata& m, clock::time_point now);

  partition_route leader_of(const topic_partition& tp) const;
  /// Partition count, when the topic is known to exist.
  std::optional<uint32_t> partition_count(const std::string& topic) const;
  /// The broker's error for a topic known not to exist.
  std::optional<error> topic_error(const std::string& topic) const;
  /// The controller, when there is one and its address is known.
  std::optional<broker_node> controller() const;
  std::optional<std::string> address_of(int32_t broker_id) const;

  /// Follows a notLeader reply's hint at once: leader_id leads tp now (at
  /// address, or at the known address of leader_id when empty). Without a
  /// usable hint (leader_id < 0, or no address at all) the topic goes
  /// stale instead. Either way the next refresh asks about the topic.
  void apply_leader_hint(const topic_partition& tp, int32_t leader_id, const std::string& address);
  /// Follows a notController reply's hint: leader_id is the controller now
  /// (at address, or its known address when empty); leader_id < 0 makes
  /// everything stale instead.
  void apply_controller_hint(int32_t leader_id, const std::string& address);
  /// The topic's data is suspect (unknownTopic, a lost leader): refresh.
  void invalidate(const std::string& topic);
  /// Everything is suspect (e.g. notController): refresh.
  void invalidate_all() { all_stale_ = true; }
  /// Asks about topic in the next refresh (and counts it as stale until then
  /// when nothing is known of it).
  void track(const std::string& topic);

  /// A refresh is wanted (something stale, or data older than max_age) and
  /// allowed (the last attempt is min_refresh_interval ago or more).
  bool refresh_due(clock::time_point now, std::chrono::milliseconds max_age) const;
  /// Only the rate limit: the last attempt is min_refresh_interval ago or more.
  bool refresh_allowed(clock::time_point now) const;
  /// A refresh was sent (successful or not), for the rate limit.
  void note_attempt(clock::time_point now) { last_attempt_ = now; }
  /// The topics to ask about in the next refresh: every one tracked.
  std::vector<std::string> topics() const;

  /// The last answer's cluster-wide part (brokers, controller, ids).
  const cluster_metadata& cluster() const { return cluster_; }

 private:
  /// Sets a broker's address, adding the broker when unknown.
  void set_broker_address(int32_t id, const std::string& address);

  struct topic_entry {
    std::optional<topic_metadata> md;  ///< empty until known, or when missing
    error missing;                     ///< set when the cluster said no such topic
    bool stale = true;
    clock::time_point fetched{};
  };

  std::chrono::milliseconds min_refresh_interval_;
  cluster_metadata cluster_;  ///< topics left empty; they live in topics_
  bool have_cluster_ = false;
  bool all_stale_ = false;
  std::map<std::string, topic_entry> topics_;
  clock::time_point fetched_{};
  std::optional<clock::time_point> last_attempt_;
};

}  // namespace actormq::client::detail
