#pragma once
// transaction_producer: transactional messages (RocketMQ's model).
//
//   auto tp = transaction_producer::create(cfg, [&](const half_message& m) {
//     return db_has_order(m.txn_id) ? txn_status::commit : txn_status::unknown;
//   });
//   auto id = (*tp)->send_half({"orders", "k", "v"});   // stored, invisible
//   ... local transaction ...
//   (*tp)->commit(*id);                                  // visible now
//
// - send_half stores one record (or a batch of them, send_half_batch)
//   durably as a half message of the producer group and returns its
//   transaction id; consumers do not see it.
// - commit makes it visible (appended to its partition at commit time, or
//   scheduled when it carries a delay); rollback discards it. Repeating a
//   decision is fine; the opposite one fails with txn_already_committed /
//   txn_already_rolled_back.
// - If neither arrives within the broker's transaction timeout (6 s by
//   default), the broker asks a connected producer of the same group: the
//   checker callback is called with the half message and answers commit,
//   rollback or unknown (asked again later, up to the broker's maximum).
//   So a producer that crashed between send_half and commit is resolved by
//   the next producer of its group.
//
// The checker runs on a thread of its own (one per check), never on the
// connection's loop, so it may block briefly (e.g. query a database) and
// may call commit()/rollback() itself; it must be thread-safe.
//
// Thread-safety: every member may be called from any thread except the
// connection's loop thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actormq/client/config.h"
#include "actormq/client/connection.h"
#include "actormq/client/producer.h"
#include "actormq/client/result.h"
#include "actormq/client/types.h"

namespace actormq::client {

/// A checker's answer.
enum class txn_status { commit, rollback, unknown };

/// What the broker asks a checker about.
struct half_message {
  std::string txn_id;
  std::string topic;
  uint32_t partition = 0;
  uint32_t check_count = 0;  ///< this check's number, from 1
  std::vector<message> records;
};

using txn_checker = std::function<txn_status(const half_message&)>;

struct transaction_producer_config {
  connection_config connection;
  /// Producers of one group answer each other's check-backs.
  std::string producer_group = "default-txn-group";
};

/// When a committed transactional message becomes visible (from the commit on).
struct txn_delay {
  int64_t deliver_at_ms = 0;  ///< ms since the epoch; 0 = none
  uint8_t delay_level = 0;    ///< 1-based broker delay level; 0 = none
};

/// One transaction as the broker reports it (operators).
struct transaction_info {
  std::string txn_id;
  std::string producer_group;
  std::string topic;
  uint32_t partition = 0;
  std::string state;  ///< open, committed, rolled_back, unresolved
  int64_t age_ms = 0;
  uint32_t checks = 0;
  int64_t deliver_at_ms = 0;
};

class transaction_producer {
 public:
  /// Connects and registers checker for the group (again after every
  /// reconnect). checker may be empty: checks are then answered unknown.
  static result<std::unique_ptr<transaction_producer>> create(
      const transaction_producer_config& cfg, txn_checker checker);
  ~transaction_producer();
  transaction_producer(const transaction_producer&) = delete;
  transaction_producer& operator=(const transaction_producer&) = delete;

  /// Stores a half message; returns its transaction id. The partition is
  /// rec.partition, else murmur2 of the key, else round robin.
  result<std::string> send_half(const producer_record& rec, txn_delay delay = {});
  /// Several records of one topic and partition as one half message.
  result<std::string> send_half_batch(const std::vector<producer_record>& recs,
                                      txn_delay delay = {});
  result<void> commit(const std::string& txn_id);
  result<void> rollback(const std::string& txn_id);

  const std::shared_ptr<connection>& conn() const;

  struct impl;

 private:
  explicit transaction_producer(std::shared_ptr<impl> i);
  std::shared_ptr<impl> impl_;
};

/// Operator calls, no producer group needed.
class transaction_admin {
 public:
  explicit transaction_admin(std::shared_ptr<connection> conn) : conn_(std::move(conn)) {}
  /// Open and recently decided transactions.
  result<std::vector<transaction_info>> list();
  /// Commits or rolls back a transaction by id.
  result<void> resolve(const std::string& txn_id, bool commit);

 private:
  std::shared_ptr<connection> conn_;
};

}  // namespace actormq::client
