#include "actors/group/errc.h"

namespace actormq::group {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "actormq.group"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::success:
        return "success";
      case errc::unknown_member:
        return "unknown member";
      case errc::stale_generation:
        return "stale generation";
      case errc::illegal_generation:
        return "illegal generation";
      case errc::invalid_session_timeout:
        return "invalid session timeout";
      case errc::unknown_protocol:
        return "unknown assignment protocol";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::not_assigned:
        return "partition not assigned to the member";
    }
    return "unknown group error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace actormq::group
