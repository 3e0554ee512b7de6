#include "storage/errc.h"

#include <cerrno>

namespace actormq::storage {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "actormq.storage"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::success:
        return "success";
      case errc::io_error:
        return "i/o error";
      case errc::disk_full:
        return "disk full";
      case errc::permission_denied:
        return "permission denied";
      case errc::not_found:
        return "not found";
      case errc::invalid_batch:
        return "invalid record batch";
      case errc::crc_mismatch:
        return "record batch CRC mismatch";
      case errc::batch_too_large:
        return "record batch too large";
      case errc::offset_out_of_range:
        return "offset out of range";
      case errc::log_closed:
        return "log closed";
      case errc::corrupt_segment:
        return "corrupt segment";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::offset_mismatch:
        return "batch offsets do not continue the log";
      case errc::corrupt_checkpoint:
        return "corrupt checkpoint file";
      case errc::stale_leader_epoch:
        return "stale leader epoch";
    }
    return "unknown storage error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

std::error_code from_errno(int e) noexcept {
  switch (e) {
    case ENOSPC:
    case EDQUOT:
      return errc::disk_full;
    case EACCES:
    case EPERM:
    case EROFS:
      return errc::permission_denied;
    case ENOENT:
      return errc::not_found;
    default:
      return {e, std::system_category()};
  }
}

}  // namespace actormq::storage
