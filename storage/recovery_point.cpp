#include "storage/recovery_point.h"

namespace actormq::storage {

result<std::optional<offset>> recovery_point::load() {
  std::lock_guard lock(mu_);
  auto v = file_.read();
  if (!v) return v.error();
  written_ = v->has_value();
  if (*v) value_ = **v;
  return *v;
}

offset recovery_point::value() const {
  std::lock_guard lock(mu_);
  return value_;
}

uint64_t recovery_point::epoch() const {
  std::lock_guard lock(mu_);
  return epoch_;
}

status recovery_point::advance(offset o, uint64_t epoch) {
  std::lock_guard lock(mu_);
  if (epoch != epoch_ || (written_ && o <= value_)) return {};
  return store(o);
}

status recovery_point::lower(offset o) {
  std::lock_guard lock(mu_);
  ++epoch_;
  if (written_ && o >= value_) return {};
  return store(o);
}

status recovery_point::reset(offset o) {
  std::lock_guard lock(mu_);
  ++epoch_;
  return store(o);
}

status recovery_point::store(offset o) {
  if (auto st = file_.write(o); !st) return st;
  value_ = o;
  written_ = true;
  return {};
}

}  // namespace actormq::storage
