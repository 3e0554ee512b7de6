#include "actormq/client/idempotent_processor.h"

namespace actormq::client {

result<idempotent_processor::outcome> idempotent_processor::process(const message& m,
                                                                    const handler& fn) {
  if (m.id.empty()) {
    if (auto r = fn(m); !r) return r.err();
    ++without_id_;
    ++processed_;
    return outcome::processed;
  }
  auto seen = store_.seen(m.id);
  if (!seen) return seen.err();
  if (*seen) {
    ++skipped_;
    return outcome::skipped;
  }
  if (auto r = fn(m); !r) return r.err();
  if (auto r = store_.mark(m.id); !r) return r.err();
  ++processed_;
  return outcome::processed;
}

}  // namespace actormq::client
