#include "actors/errc.h"

#include <caf/sec.hpp>

#include "storage/errc.h"

namespace actormq {

const char* to_string(errc e) {
  switch (e) {
    case errc::none:
      return "none";
    case errc::invalid_request:
      return "invalid request";
    case errc::unknown_topic:
      return "unknown topic";
    case errc::topic_exists:
      return "topic exists";
    case errc::invalid_topic:
      return "invalid topic";
    case errc::unknown_partition:
      return "unknown partition";
    case errc::invalid_batch:
      return "invalid record batch";
    case errc::batch_too_large:
      return "batch too large";
    case errc::message_too_large:
      return "message too large";
    case errc::busy:
      return "busy";
    case errc::out_of_order_sequence:
      return "out of order sequence";
    case errc::invalid_producer_epoch:
      return "invalid producer epoch";
    case errc::unknown_producer_id:
      return "unknown producer id";
    case errc::offset_out_of_range:
      return "offset out of range";
    case errc::storage_error:
      return "storage error";
    case errc::disk_full:
      return "disk full";
    case errc::unknown_group:
      return "unknown group";
    case errc::unknown_member:
      return "unknown member";
    case errc::stale_generation:
      return "stale generation";
    case errc::rebalance_in_progress:
      return "rebalance in progress";
    case errc::not_assigned:
      return "partition not assigned to member";
    case errc::timeout:
      return "timeout";
    case errc::shutting_down:
      return "shutting down";
    case errc::internal:
      return "internal error";
    case errc::unknown_transaction:
      return "unknown transaction";
    case errc::txn_already_committed:
      return "transaction already committed";
    case errc::txn_already_rolled_back:
      return "transaction already rolled back";
    case errc::redrive_limit:
      return "re-drive limit reached";
    case errc::queue_full:
      return "queue full";
  }
  return "unknown error";
}

caf::error make_error(errc e, std::string text) {
  if (text.empty()) text = to_string(e);
  return caf::error(static_cast<uint8_t>(e), errc_category, caf::make_message(std::move(text)));
}

caf::error from_storage(std::error_code ec, const std::string& what) {
  using storage::errc;
  std::string text = what + ": " + ec.message();
  if (ec.category() == storage::error_category()) {
    switch (static_cast<storage::errc>(ec.value())) {
      case errc::invalid_batch:
      case errc::crc_mismatch:
        return make_error(actormq::errc::invalid_batch, text);
      case errc::batch_too_large:
        return make_error(actormq::errc::batch_too_large, text);
      case errc::offset_out_of_range:
        return make_error(actormq::errc::offset_out_of_range, text);
      case errc::disk_full:
        return make_error(actormq::errc::disk_full, text);
      case errc::invalid_argument:
        return make_error(actormq::errc::invalid_request, text);
      default:
        break;
    }
  }
  return make_error(actormq::errc::storage_error, text);
}

errc code_of(const caf::error& e) {
  if (!e) return errc::none;
  if (e.category() == errc_category) return static_cast<errc>(e.code());
  if (e.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(e.code())) {
      case caf::sec::request_timeout:
        return errc::timeout;
      case caf::sec::request_receiver_down:
        return errc::timeout;
      default:
        break;
    }
  }
  return errc::internal;
}

std::string text_of(const caf::error& e) {
  if (e.category() == errc_category && e.context().match_elements<std::string>()) {
    return e.context().get_as<std::string>(0);
  }
  if (e.category() == errc_category) return to_string(static_cast<errc>(e.code()));
  return "internal error (category " + caf::to_string(e.category()) + ", code " +
         std::to_string(e.code()) + ")";
}

}  // namespace actormq
