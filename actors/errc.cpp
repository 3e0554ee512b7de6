#include "actors/errc.h"

#include <caf/sec.hpp>

#include "storage/errc.h"

namespace actormq {

const char* to_string(errc e) {
  switch (e) {
    case errc::none:
      return "none";
#define ACTORMQ_ERRC_TEXT(name, number, snake_name, upper_name, text, retriable) \
  case errc::snake_name:                                                         \
    return text;
      ACTORMQ_ERROR_CODES(ACTORMQ_ERRC_TEXT)
#undef ACTORMQ_ERRC_TEXT
  }
  return "unknown error";
}

bool is_retriable(errc e) {
  switch (e) {
    case errc::none:
      return false;
#define ACTORMQ_ERRC_RETRIABLE(name, number, snake_name, upper_name, text, retriable) \
  case errc::snake_name:                                                              \
    return retriable;
      ACTORMQ_ERROR_CODES(ACTORMQ_ERRC_RETRIABLE)
#undef ACTORMQ_ERRC_RETRIABLE
  }
  return false;
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
      case errc::offset_mismatch:  // a replica's append that does not continue its log
        return make_error(actormq::errc::offset_out_of_range, text);
      case errc::stale_leader_epoch:
        return make_error(actormq::errc::stale_leader_epoch, text);
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
