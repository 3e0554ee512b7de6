#pragma once
// The TRANSACTION COORDINATOR actor: owns every transactional (half)
// message from sendHalf until it is committed, rolled back or given up.
//
// State: the internal topic __transaction_state (txn_state_record.h). The
// transactions of a producer group live in partition
// state_partition_of(group, n); the coordinator of those transactions is
// the leader of that partition, and a transaction id carries its partition
// (txn_partition_of), so commit and rollback by id find it. One actor per
// broker serves every partition led here: on a lead it replays the
// partition to its log end into a txn_table (requests for it wait) and
// resumes its open transactions' check-backs and its decided but
// undelivered commits; on a follow it drops them (the new leader's
// coordinator takes over). Alone it creates the topic (one replica) and
// leads every partition. Each event (half, decision, check, applied) is a
// record produced to the partition with acks fsync alone and all in a
// cluster; a half or a decision is acknowledged only once its record is.
// No file of its own and no fdatasync on this actor's thread.
//
// Commit: the decision's record is acknowledged, then the batch is appended
// to its partition (acks fsync; on whichever broker leads it, through the
// partition_writer), or handed to the DELAY actor when it carries a
// deliver-at time or delay, and "applied" is recorded. A new coordinator
// redelivers a decision that was not applied (at-least-once).
//
// Check-back: a transaction with no decision one transaction timeout after
// creation is checked: the coordinator sends check_atom with a
// txn_check_request to a SESSION registered (checker_atom) for the
// producer group; the session has the producer's TransactionChecker called
// on the broker's KJ thread and the answer comes back as check_atom with a
// txn_check_answer. Unknown answers, errors and timeouts count as a check;
// the next follows after the check interval; after max_checks the batch
// goes to the internal topic __unresolved_transactions (WARN line, counter)
// and the transaction is unresolved. With no session of the group, due
// checks wait (uncounted) until one registers. At most
// max_checks_in_flight checks are outstanding, so check-backs cannot crowd
// out produce traffic. Timers live in a delay::timing_wheel driven by tick.
//
// Compaction: when a partition holds more than compact_min_records records
// and compact_ratio times what its table needs, the table's snapshot is
// written again and the records below it are deleted (the coordinator is
// the partition's only writer, so everything after the snapshot's first
// record is newer than the snapshot).
//
// Upgrade: the previous release's <data>/txn/txn.log is read at start; when
// partition 0 is loaded its transactions are written there under their old
// ids (all below 2^48, so they route to partition 0) and the directory is
// removed once that write is acknowledged.
//
// The state machine of one transaction is txn::txn_state_machine.

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "actors/atoms.h"
#include "actors/delay/delay_actor.h"
#include "actors/inspect/actor_report.h"
#include "actors/partition/partition_actor.h"
#include "actors/state/partition_writer.h"
#include "actors/topic/topic_registry_actor.h"
#include "actors/txn/txn_state_machine.h"

namespace actormq {

/// The internal topic that receives transactions nobody resolved. Each
/// record keeps its key, value and headers and gains the headers
/// txn.id, txn.group, txn.topic and txn.partition.
inline constexpr const char* unresolved_transactions_topic = "__unresolved_transactions";

/// A sendHalf request.
struct txn_half_request {
  std::string group;
  std::string topic;
  uint32_t partition = 0;
  int64_t deliver_at_ms = 0;  ///< 0 = none
  int64_t delay_ms = 0;       ///< counted from the commit; 0 = none
  std::shared_ptr<std::string> batch;
  /// The producer's id for this call (empty: none): a resend with the same
  /// one answers the first call's transaction id.
  std::string request_id;
};

/// What a checker answers.
enum class txn_check_status : uint8_t { commit, rollback, unknown };

/// Sent to a session: have the group's checker asked about this transaction.
struct txn_check_request {
  uint64_t id = 0;
  std::string group;
  std::string topic;
  uint32_t partition = 0;
  std::shared_ptr<const std::string> batch;
  uint32_t check_count = 0;  ///< this check's number, from 1
};

/// A session's report of one check (failures count as unknown).
struct txn_check_answer {
  uint64_t id = 0;
  uint32_t check_count = 0;
  txn_check_status status = txn_check_status::unknown;
  std::string detail;  ///< why it failed, for the log
};

/// One transaction for operators (listTransactions).
struct txn_summary {
  uint64_t id = 0;
  std::string group;
  std::string topic;
  uint32_t partition = 0;
  std::string state;  ///< open, committed, rolled_back, unresolved
  int64_t age_ms = 0;
  uint32_t checks = 0;
  int64_t deliver_at_ms = 0;
};

struct txn_stats {
  uint64_t open = 0;
  uint64_t committed = 0;    ///< since start
  uint64_t rolled_back = 0;  ///< since start
  uint64_t unresolved = 0;   ///< since start: each one also logged at WARN
  uint64_t checks_sent = 0;
  uint64_t checks_in_flight = 0;
  uint64_t waiting_for_checker = 0;
};

using txn_coordinator_actor = caf::typed_actor<
    /// The actor inspector's report of this actor (docs/inspector.md).
    caf::replies_to<inspect_atom>::with<actor_report>,
    /// Stores a half message; replies its transaction id once its record is
    /// acknowledged. A request id the group used before (while the
    /// transaction is remembered) answers that transaction's id, once its
    /// half is acknowledged, instead of storing a second one. Errors: unknown_topic,
    /// unknown_partition, invalid_batch, busy (too many open transactions), not_coordinator (the
    /// group's partition is not led here), the state partition's produce errors.
    caf::replies_to<half_atom, txn_half_request>::with<uint64_t>,
    /// Commit (true) or rollback (false); replies once the decision's record
    /// is acknowledged and, for a commit, the batch delivered. Repeating a
    /// decision is a no-op; the opposite one fails with
    /// txn_already_committed / txn_already_rolled_back; unknown_transaction
    /// for an unknown id; not_coordinator when its partition is not led here.
    caf::replies_to<end_atom, uint64_t, bool>::with<bool>,
    /// Open and recently decided transactions of the partitions led here,
    /// by id (once none of them is loading).
    caf::replies_to<list_atom>::with<std::vector<txn_summary>>,
    /// Counters for operators and tests.
    caf::replies_to<describe_atom>::with<txn_stats>,
    /// A session that reaches a checker of this producer group; monitored
    /// and forgotten when it exits.
    caf::reacts_to<checker_atom, std::string, caf::actor>,
    /// The answer (or failure) of a check sent to a session.
    caf::reacts_to<check_atom, txn_check_answer>,
    /// Timer (its id: one armed at a time, for the next of these): fire due
    /// checks, expire unanswered ones, retry deliveries, loads and decision
    /// writes, end the wait of requests for partitions not led here.
    caf::reacts_to<tick_atom, uint64_t>,
    /// The replica manager: this broker now leads partition p (of n) of
    /// __transaction_state at epoch, served by that partition actor.
    caf::reacts_to<lead_atom, uint32_t, int32_t, partition_actor, uint32_t>,
    /// The replica manager: partition p is no longer led here.
    caf::reacts_to<follow_atom, uint32_t>,
    /// Timer: compacts each partition that is due (see above).
    caf::reacts_to<compact_atom>,
    /// Shutdown: answer waiting requests and quit.
    caf::reacts_to<close_atom>>;

struct txn_settings {
  std::filesystem::path data_dir;  ///< the upgrade reads <data>/txn
  topic_registry_actor registry;
  delay_actor delay;
  /// Where committed batches go (any broker's partitions in a cluster).
  partition_writer_settings writer;
  /// In a cluster: partitions are led as the replica manager says (lead /
  /// follow), records are written with acks all. Alone: every partition.
  bool replicated = false;
  /// Partitions of __transaction_state when this broker creates it alone.
  uint32_t state_partitions = 8;
  txn::check_policy policy;
  /// The broker's message delay levels: a committed message delayed by a
  /// level is counted under it while pending.
  delay::delay_levels delay_levels = delay::delay_levels::message_defaults();
  size_t max_checks_in_flight = 64;
  std::chrono::milliseconds check_timeout{std::chrono::seconds(10)};
  size_t max_open_transactions = 100000;
  size_t max_batch_bytes = 16 << 20;
  /// The timer's longest wait while checks, deliveries, loads or requests
  /// for unled partitions are under way, and when none are (it is armed
  /// for the next due time either way).
  std::chrono::milliseconds tick{std::chrono::milliseconds(20)};
  std::chrono::milliseconds idle_tick{std::chrono::seconds(1)};
  /// Finished transactions remembered per partition (summaries).
  size_t keep_finished = 10000;
  std::chrono::milliseconds compact_interval{std::chrono::seconds(30)};
  int64_t compact_min_records = 100000;
  double compact_ratio = 4.0;
};

/// Spawns the coordinator (alone it opens __transaction_state at once).
txn_coordinator_actor spawn_txn_coordinator(caf::actor_system& sys, txn_settings settings);

/// The configuration of __transaction_state (that of every state topic).
topic_config txn_state_topic_config(uint32_t partitions, uint32_t replication_factor);

}  // namespace actormq

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::txn_half_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::txn_check_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::txn_check_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::txn_summary)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<actormq::txn_summary>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actormq::txn_stats)
