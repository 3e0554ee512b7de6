#pragma once
// The SESSION actor: one per remote connection, the proxy through which the
// RPC layer reaches the broker's actors. The RPC layer (on the KJ thread)
// never blocks on an actor: it posts a session_task, and the session calls
// the task's completion callback (from a CAF thread) with the result.
//
// The session resolves and caches topic handles, routes produce requests to
// partition actors within the in-flight budget, runs multi-partition long
// polls, and forwards group requests to group actors. When the connection
// closes, the RPC layer sends an exit: the session then leaves every group
// its members joined, so their partitions move without waiting for a
// session timeout.

#include <caf/all.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "actors/atoms.h"
#include "actors/delay/delay_actor.h"
#include "actors/group/group_actor.h"
#include "actors/inspect/actor_report.h"
#include "actors/ordered_lookups.h"
#include "actors/partition/partition_actor.h"
#include "actors/request_deadlines.h"
#include "actors/retry/retry_actor.h"
#include "actors/session/produce_throttle.h"
#include "actors/topic/topic_cache.h"
#include "actors/topic/topic_registry_actor.h"
#include "actors/txn/txn_coordinator_actor.h"

namespace actormq {

class session_state;

/// Work for a session: runs inside the session actor with its state.
struct session_task {
  std::function<void(session_state&)> run;
};

/// Completion callback of a session operation (called on a CAF thread).
template <typename T>
using done_fn = std::function<void(caf::expected<T>)>;

struct topic_description {
  std::string name;
  topic_config config;
  std::vector<partition_offsets> partitions;
  /// Per partition: why it did not answer (its actor is restarting after a
  /// write error, say), empty when it did; its offsets are then zero. One
  /// such partition does not fail a listing of every topic.
  std::vector<caf::error> unavailable;
};

struct fetch_item {
  std::string topic;
  uint32_t partition = 0;
  int64_t offset = 0;
  uint32_t max_bytes = 1 << 20;
};

struct fetch_item_result {
  caf::error error;
  storage::read_slice slice;  ///< whole batches (length 0: nothing new)
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
};

struct session_settings {
  topic_registry_actor registry;
  group_coordinator_actor coordinator;
  delay_actor delay;
  retry_actor retry;
  txn_coordinator_actor txn;
  std::string peer;  ///< remote address, for logs
  caf::timespan request_timeout = std::chrono::seconds(30);
  uint32_t max_fetch_wait_ms = 30000;
  /// Produce quotas (produce_throttle.h): the burst a producer may send at
  /// once after an idle spell, and the longest one request is held.
  std::chrono::milliseconds quota_burst{1000};
  std::chrono::milliseconds quota_max_delay{10000};
  /// Bytes of produce requests the session holds for quotas at most, over
  /// all topics; a request past it is refused with busy (retriable), so a
  /// client that sends without waiting cannot make the broker buffer
  /// without bound (held requests take no partition in-flight budget).
  int64_t quota_max_held_bytes = 64ll << 20;
};

/// Spawns a session; run tasks with caf::anon_send(session, call_atom, task).
caf::actor spawn_session(caf::actor_system& sys, session_settings settings);

/// Reaches a producer's TransactionChecker (set by the RPC layer): called
/// on a CAF thread, it posts the call to the KJ thread and calls reply
/// there with the answer (or unknown and the reason when the call failed).
using checker_hook = std::function<void(txn_check_request,
                                        std::function<void(txn_check_status, std::string)> reply)>;

class session_state {
 public:
  static constexpr const char* name = "session";
  /// Bound of a request to the GROUP COORDINATOR or a GROUP actor.
  static constexpr auto group_timeout = std::chrono::seconds(15);
  void init(caf::event_based_actor* self, session_settings settings);
  ~session_state();

  // --- admin ---
  void create_topic(const std::string& name, topic_config cfg, done_fn<bool> done);
  void delete_topic(const std::string& name, done_fn<bool> done);
  void add_partitions(const std::string& name, uint32_t total, done_fn<bool> done);
  /// Sets a topic's produce quotas (-1 keeps one); see topic_registry_actor.
  void set_quota(const std::string& name, int64_t byte_rate, int64_t message_rate,
                 done_fn<bool> done);
  void describe_topic(const std::string& name, done_fn<topic_description> done);
  void list_topics(done_fn<std::vector<topic_description>> done);
  void list_groups(done_fn<std::vector<std::string>> done);
  void describe_group(const std::string& group, done_fn<group_info> done);
  void delete_group(const std::string& group, done_fn<bool> done);

  // --- produce / fetch ---
  void init_producer(done_fn<producer_identity> done);
  /// acks none replies once the request is queued to the partition. A
  /// request past the topic's produce quota for this session is held first
  /// (reply.throttled_ms says how long; acks none included).
  void produce(const std::string& topic, uint32_t partition, acks_level acks,
               std::shared_ptr<std::string> batch, done_fn<produce_reply> done);
  /// Stores a batch in the delay schedule for delivery at deliver_at_ms
  /// (cls: the level asked for, or a deliver-at time); held past the quota
  /// like produce. With dues (one per record, record order), each record is
  /// due at its own time instead: the batch is split here, one envelope per
  /// due time (invalid_request when dues and records do not match).
  void produce_delayed(const std::string& topic, uint32_t partition, acks_level acks,
                       int64_t deliver_at_ms, delay::delay_class cls,
                       std::shared_ptr<std::string> batch, done_fn<schedule_reply> done,
                       std::shared_ptr<const std::vector<int64_t>> dues = nullptr);
  /// Passes on the requests of topic held for its quota whose time came
  /// (the session's timer, armed while any is held).
  void release_throttled(const std::string& topic);
  /// Long poll over all items: replies at once when min_bytes are there in
  /// total (1: any), else as soon as any item gets data or an error (with
  /// that item's data), or when max_wait elapsed.
  void fetch(std::vector<fetch_item> items, uint32_t max_wait_ms, uint32_t min_bytes,
             done_fn<std::vector<fetch_item_result>> done);
  /// -1 earliest, -2 latest, else first offset with timestamp >= ts.
  void list_offsets(const std::string& topic, uint32_t partition, int64_t ts,
                    done_fn<int64_t> done);

  // --- groups ---
  void join_group(const std::string& group, group::join_request req, std::string strategy,
                  done_fn<group::join_result> done);
  void heartbeat(const std::string& group, const std::string& member, int32_t generation,
                 done_fn<group::heartbeat_result> done);
  void leave_group(const std::string& group, const std::string& member, done_fn<bool> done);
  void commit(const std::string& group, const std::string& member, int32_t generation,
              std::vector<committed_offset> offsets, done_fn<bool> done);
  void committed(const std::string& group, std::vector<group::topic_partition> partitions,
                 done_fn<std::vector<committed_offset>> done);

  // --- retries and dead letters (session_retry.cpp) ---
  /// Retries or dead-letters records a member consumed; done once durable.
  void nack(const std::string& group, const std::string& member, int32_t generation,
            std::vector<nack_item> items, done_fn<nack_reply> done);
  /// Moves dead letters of a DLQ back to their topics.
  void redrive(redrive_request req, done_fn<redrive_reply> done);
  /// The first pending dead letter of a DLQ.
  void redrive_cursor(const std::string& dlq, done_fn<int64_t> done);
  /// Dead-letter counters per topic, group and reason.
  void dead_letter_stats(done_fn<std::vector<metrics_registry::sample>> done);

  // --- transactions (session_txn.cpp) ---
  /// Registers this session with the TRANSACTION COORDINATOR as a checker
  /// of group; hook calls the producer's checker.
  void register_checker(const std::string& group, checker_hook hook, done_fn<bool> done);
  void send_half(txn_half_request req, done_fn<uint64_t> done);
  void end_transaction(uint64_t id, bool commit, done_fn<bool> done);
  void list_transactions(done_fn<std::vector<txn_summary>> done);
  /// From the coordinator: ask the group's checker; the answer goes back
  /// to the coordinator as check_atom.
  void check_transaction(const txn_check_request& req);

  /// Times out requests past their deadline (the session's periodic tick,
  /// armed while any request is outstanding).
  void tick();

  /// The actor inspector's part (docs/inspector.md, "session"); no metrics
  /// (sessions come and go: a label per session would not stay bounded).
  void inspect(actor_report& r) const;

 private:
  /// Registers a request to a partition or the delay actor, sent with
  /// caf::infinite; on_timeout runs if it is not settled within
  /// request_timeout (see request_deadlines.h for why not CAF's timeouts).
  request_deadlines::ticket deadline(std::function<void()> on_timeout);
  request_deadlines::ticket deadline(caf::timespan timeout, std::function<void()> on_timeout);
  void with_topic(const std::string& name, std::function<void(caf::expected<topic_handle>)> k);
  /// The same for a request to one partition: a cached handle that lacks it
  /// is resolved afresh (partitions may have been added, see topic_cache).
  void with_topic(const std::string& name, uint32_t partition,
                  std::function<void(caf::expected<topic_handle>)> k);
  void with_group(const std::string& name, std::function<void(caf::expected<group_actor>)> k);
  /// A failed request to group actor g: an errc error as it is; any other
  /// (the actor is gone) drops the cached handle and becomes
  /// not_coordinator, so the client finds the group again.
  caf::error group_error(const std::string& name, const group_actor& g, caf::error e);
  void forget_topic(const std::string& name) { topics_.forget(name); }
  void describe_handles(std::vector<topic_handle> handles,
                        done_fn<std::vector<topic_description>> done);
  void fetch_once(std::shared_ptr<std::vector<fetch_item>> items,
                  done_fn<std::vector<fetch_item_result>> done);
  /// The long poll after a first look (first_look: its results) found too
  /// little: one fetch parked at each item's partition (wait_atom), which
  /// answers with the data once it arrives (or empty at the deadline). The
  /// first answer with data is the reply, with the other items as the first
  /// look found them; those are unparked (unpark_atom).
  void park_fetches(std::shared_ptr<std::vector<fetch_item>> items,
                    std::vector<fetch_item_result> first_look, uint32_t max_wait_ms,
                    done_fn<std::vector<fetch_item_result>> done);
  /// A token for one long poll's parked fetches (fetch_request::park_token).
  static uint64_t next_park_token();
  /// One item's result from a partition's fetch reply, or from its error
  /// (which drops the cached topic handle unless it is one of ours).
  static fetch_item_result fetched(fetch_reply& r);
  /// An item's result that is only an error.
  static fetch_item_result failed(caf::error e);
  /// Resolves item i's partition and fetches from it: a plain fetch, or with
  /// park_wait > 0 one parked at the end of the log (park_token names it).
  /// sending, if set, sees the partition first and may decline (the item
  /// then ends empty). k gets the item's result exactly once, an error
  /// included (unknown topic or partition, a failed or timed-out request).
  void fetch_item_of(std::shared_ptr<std::vector<fetch_item>> items, size_t i,
                     caf::timespan park_wait, uint64_t park_token,
                     std::function<bool(const partition_actor&)> sending,
                     std::function<void(fetch_item_result)> k);
  fetch_item_result failed_fetch(const std::string& topic, caf::error e);
  /// A request resumed after its quota hold: how long it was held.
  using resume_fn = std::function<void(std::chrono::milliseconds held)>;
  enum class quota_verdict {
    pass,     ///< within the quota: the caller sends it now
    held,     ///< queued: resume runs when its time comes
    refused,  ///< past quota_max_held_bytes: the caller answers busy
  };
  /// Charges a produce request of batch to its topic's quota. A held
  /// request resumes after every earlier held request of the topic
  /// (request order per topic, so per partition, is kept).
  quota_verdict hold_for_quota(const topic_handle& h, const std::string& batch, resume_fn resume);
  caf::error over_held_bytes(const std::string& topic) const;
  /// Whether a produce to h goes through hold_for_quota: the topic has a
  /// quota, or this session still holds (or has buckets for) it.
  bool under_quota(const topic_handle& h) const;
  /// Sends a produce to dest, partition `partition` of topic, within its
  /// in-flight budget.
  void send_produce(const std::string& topic, uint32_t partition, const partition_actor& dest,
                    std::shared_ptr<inflight_budget> budget, acks_level acks,
                    std::shared_ptr<std::string> batch, done_fn<produce_reply> done,
                    std::chrono::milliseconds held);
  void send_delayed(const std::string& topic, uint32_t partition, acks_level acks,
                    int64_t deliver_at_ms, delay::delay_class cls,
                    std::shared_ptr<std::string> batch, done_fn<schedule_reply> done,
                    std::chrono::milliseconds held,
                    std::shared_ptr<const std::vector<int64_t>> dues);

  caf::event_based_actor* self_ = nullptr;
  session_settings settings_;
  topic_cache topics_;
  std::map<std::string, group_actor> groups_;
  ordered_lookups<group_actor> group_lookups_;  ///< of groups_, in flight
  /// (group, member) pairs joined through this session, left at close.
  std::set<std::pair<std::string, std::string>> members_;
  /// Checkers registered through this session, by producer group.
  std::map<std::string, checker_hook> checkers_;
  request_deadlines deadlines_;
  bool ticking_ = false;
  /// Requests of one topic held for its produce quota, oldest first.
  struct held_request {
    produce_throttle::clock::time_point release;
    produce_throttle::clock::time_point since;
    std::shared_ptr<topic_quota> quota;  ///< where the hold is counted
    resume_fn resume;
    int64_t bytes = 0;
  };
  struct topic_throttle {
    produce_throttle buckets;
    std::deque<held_request> held;
    bool armed = false;  ///< a release_throttled timer is pending
    uint64_t held_total = 0;
  };
  std::map<std::string, topic_throttle> throttles_;
  int64_t held_bytes_ = 0;  ///< of every held request
};

}  // namespace actormq

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::session_task)
