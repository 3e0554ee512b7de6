#include "app/etcd/etcd_errc.h"

#include <string>

namespace actormq::etcd {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "actormq.etcd"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::success:
        return "success";
      case errc::unavailable:
        return "etcd unavailable";
      case errc::timeout:
        return "etcd request timed out";
      case errc::lease_not_found:
        return "etcd lease not found";
      case errc::compacted:
        return "etcd revision compacted";
      case errc::protocol_error:
        return "unexpected answer from the etcd gateway";
      case errc::request_failed:
        return "etcd request failed";
      case errc::invalid_argument:
        return "invalid argument";
    }
    return "unknown etcd error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace actormq::etcd
