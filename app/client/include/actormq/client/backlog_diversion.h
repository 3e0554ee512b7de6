#pragma once
// backlog_diversion: moves a consumer group's backlog to a temporary topic
// with more partitions, so that a second group of more consumers can drain
// it (docs/operations.md, "Divert a backlog"; `actormq backlog ...`).
//
// The backlog is fixed when the diversion starts: for each partition p of
// the topic, the offsets from the group's committed offset (the log start
// when it has none) to the partition's high watermark then. Messages
// produced later stay in the topic for the group. Each message is produced
// again to the temporary topic with its key, value, headers, timestamp and
// message id, plus the header amq-diverted-from = "TOPIC/P/OFFSET"; keyed
// messages go to the temporary partition their key hashes to, in their
// order, so per-key order holds within the temporary topic.
//
// Progress lives in a state topic "<temp>.diversion" (one partition): a
// checkpoint record (diversion_checkpoint.h) written after every step, once
// all messages moved so far are acknowledged, holding the next offset to
// move per source partition and the temporary topic's high watermarks.
// After each checkpoint the group's committed offsets move to the same
// positions (an administrator's commit, refused while the group has live
// members: stop its consumers first). A diverter that dies is resumed from
// the last checkpoint: the messages it moved after it are found in the
// temporary topic by their amq-diverted-from header and not moved again,
// so nothing is lost or moved twice.
//
// One diverter per temporary topic at a time: each is a member of the group
// "<temp>.diverter" on the connection it produces with, and a new one waits
// until no other is (a killed one leaves as soon as the broker sees its
// connection close). That is also what makes a resume exact: once the old
// diverter's session is gone, none of its produce requests can still reach
// temp after the resume looked. Not thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actormq/client/config.h"
#include "actormq/client/result.h"

namespace actormq::client {

struct diversion_plan {
  std::string topic;        ///< the topic holding the backlog
  std::string group;        ///< whose backlog moves (no live members while it does)
  std::string temp;         ///< the temporary topic, created by start()
  uint32_t partitions = 0;  ///< of temp: more than topic has
  std::string drain_group;  ///< the group that drains temp; "<group>.drain" when empty
};

struct diversion_progress {
  diversion_plan plan;
  uint64_t backlog = 0;  ///< offsets in the backlog when the diversion started
  uint64_t moved = 0;    ///< of those, done (moved, or gone to retention before)
  uint64_t in_temp = 0;  ///< messages in temp (its high watermarks, summed)
  uint64_t drained = 0;  ///< of those, committed by the drain group
  int64_t started_ms = 0;
  bool moving_done() const { return moved >= backlog; }
  bool drained_all() const { return moving_done() && drained >= in_temp; }
};

/// The state topic of temporary topic temp.
std::string diversion_state_topic(const std::string& temp);
/// The group its diverter is a member of while it runs.
std::string diversion_lock_group(const std::string& temp);

class backlog_diversion {
 public:
  /// Starts a diversion: checks the plan (the topic exists, temp does not,
  /// more partitions, the group has no live members), fixes the backlog,
  /// creates temp and its state topic and writes the first checkpoint.
  static result<std::unique_ptr<backlog_diversion>> start(const connection_config& conn,
                                                          diversion_plan plan);
  /// Resumes the diversion into temp from its last checkpoint.
  static result<std::unique_ptr<backlog_diversion>> resume(const connection_config& conn,
                                                           const std::string& temp);
  /// Progress of the diversion into temp as stored (by any process).
  static result<diversion_progress> status(const connection_config& conn, const std::string& temp);
  /// Deletes temp, its state topic and the drain group once the backlog is
  /// moved and drained; with force also before (what is not drained is
  /// lost). Refused while the drain group has live members.
  static result<void> finish(const connection_config& conn, const std::string& temp, bool force);

  ~backlog_diversion();
  backlog_diversion(const backlog_diversion&) = delete;
  backlog_diversion& operator=(const backlog_diversion&) = delete;

  /// Moves messages for about budget, then checkpoints (and commits the
  /// group's offsets). Returns the progress after it; an error leaves the
  /// diversion at its last checkpoint (resume() goes on from there).
  result<diversion_progress> step(std::chrono::milliseconds budget);
  bool done() const;
  /// Messages found in temp on resume() and not moved again.
  uint64_t skipped_on_resume() const;

  struct impl;
  explicit backlog_diversion(std::unique_ptr<impl> i);

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace actormq::client
