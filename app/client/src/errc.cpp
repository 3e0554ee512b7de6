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
#define ACTORMQ_CLIENT_ERRC_TEXT(name, number, snake_name, upper_name, text, retriable) \
  case errc::snake_name:                                                                \
    return text;
        ACTORMQ_ERROR_CODES(ACTORMQ_CLIENT_ERRC_TEXT)
#undef ACTORMQ_CLIENT_ERRC_TEXT
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
#define ACTORMQ_CLIENT_ERRC_RETRIABLE(name, number, snake_name, upper_name, text, retriable) \
  case errc::snake_name:                                                                     \
    return retriable;
    ACTORMQ_ERROR_CODES(ACTORMQ_CLIENT_ERRC_RETRIABLE)
#undef ACTORMQ_CLIENT_ERRC_RETRIABLE
    case errc::broker_unreachable:
    case errc::disconnected:
    case errc::request_timeout:
      return true;
    default:
      return false;
  }
}

}  // namespace actormq::client
