#include "actormq/client/errc.h"

namespace actormq::client {

namespace {
class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "actormq.client"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::success:
        return "success";
      case errc::invalid_request:
        return "invalid request";
      case errc::unknown_topic:
        return "unknown topic";
      case errc::topic_exists:
        return "topic already exists";
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
        return "broker busy";
      case errc::out_of_order_sequence:
        return "out of order sequence";
      case errc::invalid_producer_epoch:
        return "invalid producer epoch";
      case errc::unknown_producer_id:
        return "unknown producer id";
      case errc::offset_out_of_range:
        return "offset out of range";
      case errc::storage_error:
        return "broker storage error";
      case errc::disk_full:
        return "broker disk full";
      case errc::unknown_group:
        return "unknown group";
      case errc::unknown_member:
        return "unknown group member";
      case errc::stale_generation:
        return "stale group generation";
      case errc::rebalance_in_progress:
        return "rebalance in progress";
      case errc::not_assigned:
        return "partition not assigned to this member";
      case errc::timeout:
        return "broker timeout";
      case errc::shutting_down:
        return "broker shutting down";
      case errc::internal:
        return "internal broker error";
      case errc::unknown_transaction:
        return "unknown transaction";
      case errc::txn_already_committed:
        return "transaction already committed";
      case errc::txn_already_rolled_back:
        return "transaction already rolled back";
      case errc::redrive_limit:
        return "redrive limit reached";
      case errc::queue_full:
        return "queue full";
      case errc::broker_unreachable:
        return "broker unreachable";
      case errc::disconnected:
        return "disconnected from broker";
      case errc::request_timeout:
        return "request timed out";
      case errc::closed:
        return "closed";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::protocol_error:
        return "protocol error";
      case errc::delivery_timeout:
        return "delivery timed out";
      case errc::not_subscribed:
        return "not subscribed";
    }
    return "unknown error " + std::to_string(ev);
  }
};
}  // namespace

const std::error_category& client_category() noexcept {
  static const category c;
  return c;
}

bool is_retriable(errc e) noexcept {
  switch (e) {
    case errc::busy:
    case errc::timeout:
    case errc::disk_full:
    case errc::shutting_down:
    case errc::broker_unreachable:
    case errc::disconnected:
    case errc::request_timeout:
      return true;
    default:
      return false;
  }
}

}  // namespace actormq::client
