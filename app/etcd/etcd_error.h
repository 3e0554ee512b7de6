#pragma once
// error: what a failed etcd call resolves with. The code says what kind of
// failure (etcd_errc.h) and is what callers branch on; the message carries the
// detail for logs (the endpoint, etcd's own text, the kj exception).

#include <cstdint>
#include <string>
#include <system_error>

#include "app/etcd/etcd_errc.h"

namespace actormq::etcd {

struct error {
  std::error_code code;
  std::string message;
  /// For errc::compacted: the oldest revision still available (etcd's
  /// compact_revision), so the caller can re-read and re-watch from there.
  int64_t compact_revision = 0;

  /// "etcd unavailable: connect 127.0.0.1:2379: Connection refused"
  std::string to_string() const {
    return message.empty() ? code.message() : code.message() + ": " + message;
  }
};

inline error make_error(errc e, std::string message = {}) {
  return error{make_error_code(e), std::move(message), 0};
}

}  // namespace actormq::etcd
