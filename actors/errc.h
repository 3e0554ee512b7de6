#pragma once
// Broker-level error values carried in caf::error across mailboxes (never
// exceptions). The numbering matches rpc::ErrorCode in schema/actormq.capnp so
// the RPC layer maps them one to one (it static_asserts that).

#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <cstdint>
#include <string>
#include <system_error>

namespace actormq {

enum class errc : uint8_t {
  none = 0,
  invalid_request,
  unknown_topic,
  topic_exists,
  invalid_topic,
  unknown_partition,
  invalid_batch,
  batch_too_large,
  message_too_large,
  busy,
  out_of_order_sequence,
  invalid_producer_epoch,
  unknown_producer_id,
  offset_out_of_range,
  storage_error,
  disk_full,
  unknown_group,
  unknown_member,
  stale_generation,
  rebalance_in_progress,
  not_assigned,
  timeout,
  shutting_down,
  internal,
  unknown_transaction,
  txn_already_committed,
  txn_already_rolled_back,
  redrive_limit,
  queue_full,
};

/// The atom naming our category in caf::error.
inline constexpr caf::atom_value errc_category = caf::atom("actormq");

const char* to_string(errc e);

/// A caf::error in our category with a human-readable text as context.
caf::error make_error(errc e, std::string text = {});

/// Maps a storage error (storage::errc or errno) to a broker error.
caf::error from_storage(std::error_code ec, const std::string& what);

/// Our errc of a caf::error: CAF's own errors (dead receiver, timeout) map
/// to timeout/internal.
errc code_of(const caf::error& e);
/// The context text of a caf::error made by make_error (or CAF's rendering).
std::string text_of(const caf::error& e);

}  // namespace actormq
