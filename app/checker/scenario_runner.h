#pragma once
// scenario_runner: one named fault scenario against a cluster it starts
// itself (local_cluster), under the workload, then the verdict:
//
//   start etcd + N brokers; create the topic (replication factor 3, several
//   partitions); start the producers (acks=all, idempotent);
//   R rounds of the scenario's faults at moments drawn from the seeded RNG,
//   each followed by a read of every partition (reads from the leaders of
//   that moment, so one offset read twice from different leaders is
//   compared); heal; stop the producers; read everything back; check the
//   history (history.h); stop the brokers cleanly and compare each
//   partition's log files across its replicas byte for byte.
//
// Scenarios (scenario_names()):
//   kill-leader     SIGKILL a partition's leader, restart it, R times
//   pause-follower  SIGSTOP a follower: it leaves the ISR within
//                   replica_lag_ms + a bound and acks resume; SIGCONT: it
//                   catches up and rejoins
//   pause-leader    SIGSTOP a leader past its lease: a new leader; SIGCONT:
//                   the old one acknowledges nothing more and truncates
//   kill-two        SIGKILL two of three brokers: nothing sent after is
//                   acknowledged; service returns when one comes back
//   etcd-down       SIGSTOP or kill etcd: acks and reads go on while the
//                   ISR is full; after it returns a leader kill is healed
//   restart-all     SIGKILL (or SIGTERM) every broker at once and restart
//   kill-coordinator  a consumer group reads the topic throughout; SIGKILL
//                   the broker coordinating it (the leader of its partition
//                   of __consumer_offsets), restart it, R times: another
//                   broker coordinates within the lease TTL + a bound, its
//                   commits resume, no committed offset goes back and every
//                   acknowledged value is consumed (group_workload.h)
//   kill-txn-coordinator  transactional producers commit, roll back or
//                   abandon half messages on their own topic throughout;
//                   SIGKILL the broker coordinating their transactions
//                   (the leader of the group's partition of
//                   __transaction_state), restart it, R times: another
//                   broker coordinates within the lease TTL + a bound, its
//                   check-backs resolve what the producers left open, and
//                   each transaction has exactly its one outcome: every
//                   commit read, no rollback ever (txn_workload.h)
//   kill-delay-owner  delayed messages (deliver-at spread over a window,
//                   some by delay level) to a topic of their own, read by
//                   an observer and a committing group; while many are
//                   pending, SIGKILL a broker leading partitions of
//                   __delay_schedule that hold them, restart it, R times
//                   across the window: deliveries resume within the lease
//                   TTL + a bound, every acknowledged message is stored
//                   exactly once, none is read before its deliver-at,
//                   lateness p99 <= failover + delay_bound for messages due
//                   during a failover and <= delay_bound for the rest, no
//                   committed offset goes back (delay_workload.h)
//   kill-retry-owner  a group consumer nacks values of a topic of its own
//                   by their plan (nacked k times then acked, or nacked
//                   until dead-lettered) all along; while retries are
//                   pending, SIGKILL the broker coordinating the group
//                   (whose RETRY actor takes its nacks), restart it, R
//                   times: another broker coordinates within the lease TTL
//                   + a bound and nacks resume; after the drain every
//                   acknowledged r<k> value was acked after k nacks, every
//                   acknowledged d value is in the DLQ with its own header,
//                   nothing unplanned appears and no committed offset goes
//                   back (retry_workload.h)
//   kill-single     one broker on its own (no etcd, the quick start's
//                   broker), a topic of replication factor 1, producers
//                   with acks=fsync; SIGKILL it under load and restart it,
//                   R times: every acknowledged (fsynced) value is read
//                   back after each restart and at the end, none at two
//                   offsets, nothing never sent (issue 16's kill storm)
//
// Besides the history's verdict a scenario fails on a broken expectation
// of its own (a bound not met), each named in the result.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "delay_workload.h"
#include "group_workload.h"
#include "history.h"
#include "local_cluster.h"
#include "retry_workload.h"
#include "txn_workload.h"
#include "workload.h"

namespace actormq::checker {

struct scenario_settings {
  cluster_settings cluster;  ///< work_dir: the scenario's own directory
  uint64_t seed = 1;
  int rounds = 10;
  uint32_t partitions = 3;
  /// The topic's segment_bytes; 0: the broker's default. Small segments roll
  /// all through the run, so kills land between a roll and the sync of the
  /// segment it closed (storage/recovery_point.h).
  int64_t segment_bytes = 0;
  int producers = 3;
  std::chrono::microseconds send_interval{5000};
  /// The producers' max_in_flight_per_partition (client default when 0).
  uint32_t max_in_flight = 0;
  /// The producers' batch_bytes (client default when 0). Only full batches
  /// are pipelined: a small one makes max_in_flight count at the checker's
  /// send rate.
  size_t batch_bytes = 0;
  // kill-delay-owner
  int64_t delayed = 3000;  ///< delayed messages
  std::chrono::milliseconds delay_window{15000};
  /// The window starts this long after the producers do (all are sent by
  /// then on a machine that keeps up).
  std::chrono::milliseconds delay_lead{4000};
  uint32_t delay_partitions = 6;  ///< of the delayed messages' topic
  /// Lateness p99 bound outside failovers, and the margin over a failover.
  int64_t delay_bound_ms = 50;
  // kill-retry-owner
  /// The consumer nacks one at a time, some 28 a second at most in Debug on
  /// 2 cores, and a value needs 1.6 nacks on average. With 1000 values over
  /// 60 s it keeps up (a retry came back 0.9 s after its nack at the median,
  /// 2.6 s at p99); 2000 over 60 s left it behind (7 s and 33 s: its backlog,
  /// not the brokers').
  int64_t retry_messages = 1000;
  /// Sending all the values takes this long; each round releases its share
  /// and strikes while that is sent.
  std::chrono::milliseconds retry_window{60000};
  /// Progress lines on stderr.
  bool verbose = false;
};

struct scenario_result {
  std::string name;
  uint64_t seed = 0;
  int rounds = 0;
  check_result check;
  std::chrono::milliseconds longest_unavailable{0};
  /// kill-leader: per round, the longest stretch without an acknowledgement
  /// on the killed leader's partition, from 1 s before the kill until acks
  /// on it resumed (Jepsen's "unavailability window" of one failover).
  std::vector<std::chrono::milliseconds> failovers;
  std::chrono::milliseconds elapsed{0};
  std::string replicas = "not compared";
  /// Broken expectations and setup failures, one sentence each.
  std::vector<std::string> failures;
  /// Timings worth reporting ("new leader after 2.4 s").
  std::vector<std::string> notes;
  bool ok() const { return failures.empty() && check.ok(); }
  /// The one-line summary.
  std::string summary() const;
};

class scenario_runner {
 public:
  scenario_runner(std::string name, scenario_settings s);

  /// Runs the scenario from start to verdict.
  scenario_result run();

  static const std::vector<std::string>& scenario_names();

 private:
  using clock = std::chrono::steady_clock;

  void kill_leader_round();
  void pause_follower_round();
  void pause_leader_round();
  void kill_two_round();
  void etcd_down_round(int round);
  void restart_all_round(int round);
  void kill_single_round();
  /// Copies of each partition: 3, or 1 for the standalone broker.
  int replication() const;
  void kill_coordinator_round();
  /// kill-coordinator's verdict after the drain.
  void check_group();
  /// The broker coordinating a consumer group, asked at a live broker.
  std::optional<int32_t> coordinator(const std::string& group);
  void kill_txn_coordinator_round();
  /// kill-txn-coordinator's verdict after the drain.
  void check_txns();
  /// The broker coordinating the checked producer group's transactions.
  std::optional<int32_t> txn_coordinator();
  void kill_delay_owner_round(int round);
  /// kill-delay-owner's verdict after the window.
  void check_delays();
  void kill_retry_owner_round(int round);
  /// kill-retry-owner's verdict after the drain.
  void check_retries();
  /// Sends through a just-thawed deposed leader only (pause-leader).
  void probe_deposed_leader(int32_t old_leader, uint32_t p);

  bool setup();
  void finish();
  void compare_replicas();
  /// A read of every partition, observed into the history.
  bool read_pass(const std::string& when, std::chrono::milliseconds timeout);

  std::optional<client::partition_metadata> partition(uint32_t p);
  bool isr_full();
  /// Polls pred every 100 ms until true or `bound`; the time it took.
  std::optional<std::chrono::milliseconds> wait_for(const std::function<bool()>& pred,
                                                    std::chrono::milliseconds bound);
  /// Creates a topic at broker 0 (an existing one counts), retrying for
  /// 20 s; fails the scenario ("<what> not created: ...") if it cannot.
  bool create_topic(const std::string& name, const client::topic_config& cfg,
                    const std::string& what);
  void pause_random(int min_ms, int max_ms);
  uint32_t pick_partition();
  /// Waits (lease TTL + 8 s) until partition p is led by a broker other
  /// than victim; notes how long that took, or fails naming what came
  /// before (`after`: "killing broker 2").
  void await_new_leader(uint32_t p, int32_t victim, const std::string& after);
  void fail(std::string why);
  void note(std::string what);
  void log(const std::string& line) const;

  std::string name_;
  scenario_settings settings_;
  std::string topic_ = "checked";
  std::mt19937_64 rng_;
  local_cluster cluster_;
  history history_;
  std::unique_ptr<workload> workload_;
  std::unique_ptr<group_workload> group_;  ///< kill-coordinator only
  std::unique_ptr<txn_workload> txns_;     ///< kill-txn-coordinator only
  std::string txn_topic_ = "checked-txn";
  std::unique_ptr<delay_workload> delays_;  ///< kill-delay-owner only
  std::string delay_topic_ = "checked-delay";
  std::vector<delay_fault> delay_faults_;
  std::unique_ptr<retry_workload> retries_;  ///< kill-retry-owner only
  std::string retried_topic_ = "checked-retry";
  scenario_result result_;
  clock::time_point started_{};
  int probes_ = 0;
};

}  // namespace actormq::checker
