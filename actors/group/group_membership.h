#pragma once
// The membership state machine of one consumer group: who is in the group,
// which generation it is in, and which partitions each member owns. The
// GROUP actor owns one instance per group and drives it; this class does no
// I/O and reads no clock: every time-dependent call takes now_ms (a
// monotonic millisecond clock of the caller's choosing).
//
// Rebalance protocol. The group (its actor) is authoritative, so there is no
// Kafka-style join/sync barrier:
//  1. A membership change (join of a new member, a rejoin with other topics,
//     leave, session expiry, changed partition counts) bumps the generation
//     and computes the new assignment at once with the group's assignor.
//  2. A member learns of it on its next heartbeat: a heartbeat carrying an
//     older generation gets rebalance_needed with the new generation, the
//     full assignment and what to revoke/add (relative to the assignment the
//     member last confirmed). A heartbeat with the current generation
//     confirms the assignment.
//  3. Fencing: each member has a fence generation, the generation at which
//     it last lost partitions (or joined). A commit is allowed only with a
//     generation in [fence, current]. Eager strategies (range, roundrobin)
//     fence every member on every rebalance: all members stop and resume
//     with the new generation. The cooperative sticky strategy fences only
//     members that lose a partition; the others keep consuming and
//     committing with their old generation until they pick up the new one.
//  4. A moved partition belongs to its new owner immediately.
//
// At-least-once consequences: between a rebalance and its old owner's next
// heartbeat, a moved partition may be processed by both the old and the new
// owner. The old owner cannot commit it any more (it is fenced) and the new
// owner starts from the last committed offset, so records are redelivered,
// never skipped. A member that expires but is still alive finds out from
// unknown_member on its next heartbeat or commit, must drop its partitions
// and join again. Consumers must therefore process idempotently or
// tolerate duplicates; no record is lost.
//
// Not thread-safe: the group actor is the only caller.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/group/assignor.h"
#include "actors/group/errc.h"
#include "actors/group/types.h"

namespace actormq::group {

struct group_config {
  std::string group_id;
  /// Assignor name: "range", "roundrobin" or "sticky".
  std::string protocol = "sticky";
  /// Part of every generated member id, so ids issued before a broker restart
  /// are not handed out again (the actor passes e.g. its start time).
  std::string member_id_salt;
  int64_t min_session_timeout_ms = 1'000;
  int64_t max_session_timeout_ms = 300'000;
};

struct join_request {
  /// Empty on first join: the group assigns one. A known id rejoins.
  member_id id;
  std::string client_id;
  std::string client_host;
  std::vector<std::string> topics;
  int64_t session_timeout_ms = 10'000;
};

/// What a member is told to own; lists sorted by (topic, partition).
struct member_assignment {
  generation_id generation{0};
  std::vector<topic_partition> assigned;  ///< everything it owns now
  std::vector<topic_partition> revoked;   ///< stop these (eager: all it had)
  std::vector<topic_partition> added;     ///< start these (eager: all of assigned)
};

struct join_result {
  member_id id;
  member_assignment assignment;
};

enum class heartbeat_status {
  ok,                ///< the member is in the current generation
  rebalance_needed,  ///< adopt heartbeat_result::assignment and its generation
};

struct heartbeat_result {
  heartbeat_status status = heartbeat_status::ok;
  member_assignment assignment;  ///< the current one (also for ok)
};

struct member_description {
  member_id id;
  std::string client_id;
  std::string client_host;
  std::vector<std::string> topics;
  int64_t session_timeout_ms = 0;
  int64_t last_heartbeat_ms = 0;
  generation_id confirmed_generation{0};  ///< last generation it acknowledged
  generation_id fence{0};                 ///< commits need a generation >= this
  std::vector<topic_partition> assigned;
};

enum class group_state {
  empty,        ///< no members
  stable,       ///< every member confirmed the current generation
  propagating,  ///< some members have not yet heard of the current generation
};

struct group_description {
  std::string group_id;
  std::string protocol;
  generation_id generation{0};
  group_state state = group_state::empty;
  std::vector<member_description> members;  ///< by member id
};

class group_membership {
 public:
  /// unknown_protocol if config.protocol names no assignor; topics are the
  /// partition counts known now (see update_topics).
  static result<group_membership> create(group_config config, topic_metadata topics);

  group_membership(group_membership&&) noexcept = default;
  group_membership& operator=(group_membership&&) noexcept = default;
  group_membership(const group_membership&) = delete;
  group_membership& operator=(const group_membership&) = delete;

  /// Adds a member (empty request.id) or refreshes a known one. A new member
  /// or changed topics rebalance; a rejoin with the same topics returns the
  /// current assignment unchanged (and counts as a heartbeat). The result's
  /// assignment counts as confirmed. Errors: unknown_member (non-empty id not
  /// in the group: join again with an empty id), invalid_session_timeout,
  /// invalid_argument (no topics).
  result<join_result> join(join_request request, int64_t now_ms);

  /// Keeps member alive. ok when generation is current; rebalance_needed when
  /// it is older. Errors: unknown_member, illegal_generation (newer than
  /// current).
  result<heartbeat_result> heartbeat(std::string_view member, generation_id generation,
                                     int64_t now_ms);

  /// Removes member and rebalances. Error: unknown_member.
  status leave(std::string_view member);

  /// Removes every member whose last heartbeat (or join) is session_timeout_ms
  /// or more before now_ms, with one rebalance for all; returns their ids.
  std::vector<member_id> expire(int64_t now_ms);

  /// The earliest time a member expires if it sends nothing; for the actor's
  /// timer. nullopt when the group is empty.
  std::optional<int64_t> next_expiry_ms() const;

  /// Whether member may commit offsets with generation. Errors:
  /// unknown_member, stale_generation (its partitions moved since that
  /// generation), illegal_generation (newer than current).
  status authorize_commit(std::string_view member, generation_id generation) const;
  /// As above, and not_assigned unless member owns tp now. Since a member's
  /// fence moves whenever it loses a partition, what it owned at any
  /// generation it may still commit with is part of what it owns now.
  status authorize_commit(std::string_view member, generation_id generation,
                          const topic_partition& tp) const;

  /// New partition counts (topics created or grown). Rebalances and returns
  /// true when a subscribed topic changed.
  bool update_topics(topic_metadata topics);
  /// A member subscribes to a topic the metadata does not hold (not created
  /// yet, or not yet known to this broker): the owner then refreshes the
  /// metadata often, so that the topic is assigned soon after it appears.
  bool has_unknown_topics() const;

  /// The partitions member owns in the current generation.
  result<std::vector<topic_partition>> assignment(std::string_view member) const;

  /// Member id -> partitions, for every member.
  assignment_map assignments() const;

  group_description describe() const;
  generation_id generation() const { return generation_; }
  const std::string& group_id() const { return config_.group_id; }
  const std::string& protocol() const { return config_.protocol; }
  bool empty() const { return members_.empty(); }
  size_t size() const { return members_.size(); }

 private:
  struct member {
    member_description info;
    /// What the member last confirmed (join response or heartbeat with the
    /// current generation): the base its revoked/added lists are relative to.
    std::vector<topic_partition> confirmed;
  };

  group_membership(group_config config, topic_metadata topics, std::unique_ptr<assignor> a);
  member* find(std::string_view id);
  const member* find(std::string_view id) const;
  /// Bumps the generation, recomputes every assignment and moves fences.
  void rebalance();
  member_assignment assignment_for(const member& m) const;
  member_id next_member_id(const std::string& client_id);

  group_config config_;
  topic_metadata topics_;
  std::unique_ptr<assignor> assignor_;
  std::map<member_id, member, std::less<>> members_;
  generation_id generation_{0};
  uint64_t next_member_seq_ = 1;
};

std::string_view to_string(group_state s);

}  // namespace actormq::group
