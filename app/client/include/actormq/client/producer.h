#pragma once
// producer: batches records per partition and sends each batch once, encoded
// in the storage record batch format, with retries.
//
// - Partitioning: keyed records go to partition_for_key (Kafka's murmur2, see
//   partitioner.h); null keys stick to one partition per batch (or round-robin
//   per record, producer_config::partitioner). An explicit partition may be
//   given to send().
// - Batching: one open batch per partition, sent when it reaches batch_bytes
//   or has waited linger_ms. Batches of a partition are sent in order: full
//   ones with up to max_in_flight_per_partition outstanding, one not full
//   only when none is (Nagle's rule: what arrives meanwhile joins it). A
//   producer that is not idempotent has one immediate batch outstanding.
// - Idempotence: with idempotent = true the producer gets an id/epoch from the
//   broker (initProducer) and stamps each batch with the partition's next
//   sequence number when first sent. A retry resends the same bytes with the
//   same sequence, so the broker answers a duplicate with the original offsets.
//   A batch that fails (delivery timeout, retries spent) leaves a sequence
//   gap, and the producer takes a new id; a batch already sent whose fate
//   is unknown is first resent under its old stamp until it is acknowledged,
//   proven absent (out_of_order_sequence) or fails, and only then restamped.
// - Message ids: every record is sent with a unique id (message_id.h), the
//   producer's random prefix and next counter unless producer_record::id
//   (or a copied amq-id header) gives one; the delivery report carries it.
//   A retry resends the same bytes, so the id never changes.
// - Retries: busy, timeout, disk_full, shutting_down and connection loss are
//   retried with exponential backoff (retry_backoff_ms doubling up to
//   retry_backoff_max_ms) until retries or delivery_timeout_ms run out.
// - Delayed records (deliver_at_ms or delay_level set): the broker stores the
//   batch and appends it to the partition at its due time; the report then
//   has scheduled = true and the due time, and no offset. Delayed records go
//   in batches of their own, never mixed with immediate ones: one open batch
//   per partition for records with a deliver-at time, whatever their times
//   (each record's is sent with it, deliverAtList; a time already past is
//   due at once), and one for records of one delay level.
//   They are not stamped with the partition's idempotent sequence (the
//   partition sees them only at their due time, so a sequence number would
//   leave a gap in the immediate batches' sequence): a delayed send is
//   at-least-once, a retry after a lost reply may schedule it twice. Delayed
//   batches are not ordered behind immediate ones; among themselves at most
//   max_in_flight_per_partition are outstanding per partition.
//
// Thread-safety: send/flush/close may be called from any number of threads.
// The producer's own sender thread is named "amq-sender".
// Delivery callbacks run on the connection's loop thread: they must be quick
// and must not call send_sync(), flush() or close() (send() is fine unless
// the buffer is full).

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "actormq/client/config.h"
#include "actormq/client/connection.h"
#include "actormq/client/result.h"
#include "actormq/client/types.h"

namespace actormq::client {

/// One record to send. A missing partition means "use the partitioner".
struct producer_record {
  std::string topic;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<header> headers;
  std::optional<uint32_t> partition;
  std::optional<int64_t> timestamp_ms;  ///< now when missing
  /// Deliver at this time (ms since the epoch) instead of now; a time not in
  /// the future is delivered at once.
  std::optional<int64_t> deliver_at_ms{};
  /// Deliver after the broker's delay level n (1-based, default levels
  /// 1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h); takes
  /// precedence over deliver_at_ms. An unknown level fails the send.
  std::optional<uint8_t> delay_level{};
  /// The message id to send it with; a new one (the producer's prefix and
  /// next counter) when missing. Set it to keep the id of a message that
  /// is produced again (a copy, a move to another topic).
  std::optional<message_id> id{};
};

/// A record to send without handing over its bytes: send() copies the
/// topic, key, value and headers it refers to into a batch before it
/// returns, so the caller may reuse its buffers at once. The fields mean
/// what producer_record's do; an amq-id header gives the message id as
/// there. The cheapest way to send: producer_record's strings are one more
/// copy and allocation per record (docs/benchmarks.md, W2).
struct producer_record_view {
  /// Not an aggregate: send({...}) with a braced list stays a
  /// producer_record, as before this type existed.
  producer_record_view() = default;

  std::string_view topic;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::span<const header_view> headers;
  std::optional<uint32_t> partition;
  std::optional<int64_t> timestamp_ms;
  std::optional<int64_t> deliver_at_ms{};
  std::optional<uint8_t> delay_level{};
  std::optional<message_id> id{};
};

class producer {
 public:
  /// Connects on its own connection and initializes the producer id.
  static result<std::unique_ptr<producer>> create(const producer_config& cfg);
  /// Shares an existing connection; call init() before sending.
  producer(std::shared_ptr<connection> conn, producer_config cfg);
  /// close() with the default timeout.
  ~producer();
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;

  /// Gets a producer id and epoch (idempotent producers); no-op otherwise.
  /// A broker of a cluster that cannot reach etcd once its block of ids is
  /// used up answers cluster_unavailable (retriable).
  result<void> init();
  /// The id the broker gave this producer (stamped in its batches; it
  /// changes when the producer re-initializes after a sequence gap); -1
  /// before init() and for a producer that is not idempotent.
  int64_t producer_id() const;

  /// Queues a record; the future is fulfilled once the broker acknowledged
  /// (or finally refused) the batch holding it.
  std::future<delivery_report> send(producer_record rec);
  std::future<delivery_report> send(std::string topic, std::optional<std::string> key,
                                    std::optional<std::string> value,
                                    std::vector<header> headers = {});
  /// Callback variant; cb runs on the loop thread (see above).
  void send(producer_record rec, delivery_callback cb);
  /// The same for a record referred to, copied into its batch before the
  /// call returns (producer_record_view).
  void send(const producer_record_view& rec, delivery_callback cb);
  /// Sends and waits for the delivery report.
  delivery_report send_sync(producer_record rec);

  /// Sends every queued record now and waits until all are acknowledged or
  /// failed. Fails with request_timeout if that takes longer than timeout.
  result<void> flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(120000));
  /// flush(), then stops; later sends fail with errc::closed.
  result<void> close(std::chrono::milliseconds timeout = std::chrono::milliseconds(120000));

  /// Partition count of a topic from the metadata cache (fetched if missing).
  result<uint32_t> partition_count(const std::string& topic);

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace actormq::client
