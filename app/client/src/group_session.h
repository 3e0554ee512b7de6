#pragma once
// group_session: a consumer's membership of its group. It joins the group
// on the group's coordinator (findCoordinator through the connection's
// cluster_router; found again after notCoordinator or a lost coordinator),
// keeps the membership with a heartbeat on the connection's loop every
// session_timeout_ms / 3, and records each new generation and assignment
// for the consumer to adopt (assignment_since). Commits, nacks and the
// final leave go to the coordinator too.
//
// Thread-safety: the heartbeat runs on the loop thread and writes the
// group state under mu_; the other members are for the consumer's user
// thread (never the loop thread). The loop-side state is created and
// destroyed on the loop thread.

#include <kj/async.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actormq/client/config.h"
#include "actormq/client/connection.h"
#include "actormq/client/result.h"
#include "actormq/client/types.h"
#include "connection_impl.h"

namespace actormq::client::detail {

/// A member's view of the group after a join or heartbeat.
struct join_state {
  std::string member_id;
  int32_t generation = -1;
  std::vector<topic_partition> assignment;  ///< sorted
  uint32_t session_timeout_ms = 0;
};

/// One record given back by nack()/reject() or dead-lettered by the client.
struct nack_record {
  topic_partition tp;
  int64_t offset = 0;
  bool reject = false;
  std::string reason;
  std::string error;
  uint32_t deliveries = 0;
};

class group_session : public std::enable_shared_from_this<group_session> {
 public:
  group_session(std::shared_ptr<connection> conn, const consumer_config& cfg);
  group_session(const group_session&) = delete;
  group_session& operator=(const group_session&) = delete;

  /// Sets the topics to join for and marks the session subscribed; fails
  /// with closed after close().
  result<void> subscribe(std::vector<std::string> topics);
  /// Joins (retrying rebalances, lost members and a moved coordinator for
  /// up to 15 s, 100 ms apart); on failure the session is unsubscribed.
  result<void> join();
  /// Starts the heartbeat on the loop (once).
  void start_heartbeat();

  /// closed, or not_subscribed before subscribe(); success otherwise.
  error check_usable() const;
  bool is_closed() const;
  /// The assignment, when its version differs from seen (then seen is
  /// updated); nullopt when nothing changed.
  std::optional<std::vector<topic_partition>> assignment_since(uint64_t& seen) const;
  int32_t generation() const;
  std::string member_id() const;

  /// Commits offsets on the coordinator; done runs on the loop thread (or
  /// at once when the coordinator cannot be found).
  void commit(const std::vector<topic_partition_offset>& offsets,
              std::function<void(result<status_reply>)> done);
  /// Sends nacks to the coordinator and waits for the answer.
  result<void> nack(const std::vector<nack_record>& recs);
  /// Stops the heartbeat and leaves the group; later calls fail with closed.
  result<void> close();

 private:
  struct loop_state;

  cluster_router& router() { return conn_->impl().router(); }
  /// Records a join/heartbeat answer; a changed generation or assignment is
  /// picked up by the consumer's next poll().
  void adopt(const join_state& s);
  void forget_member();
  /// A commit was refused because the group no longer knows this member or
  /// its generation (a new coordinator, a rebalance): heartbeat now, which
  /// rejoins, instead of at the next beat.
  void rejoin_now(bool forget);
  kj::Promise<void> join_on_loop(rpc::Broker::Client c);
  kj::Promise<void> heartbeat_once();
  kj::Promise<void> heartbeat_loop();

  std::shared_ptr<connection> conn_;
  consumer_config cfg_;

  mutable std::mutex mu_;
  join_state group_;
  uint64_t version_ = 0;  ///< bumped when generation/assignment change
  std::vector<std::string> topics_;
  bool subscribed_ = false;
  bool closed_ = false;

  std::shared_ptr<loop_state> loop_;  ///< loop thread only
};

}  // namespace actormq::client::detail
