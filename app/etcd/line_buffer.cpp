#include "app/etcd/line_buffer.h"

namespace actormq::etcd {

std::optional<std::string> line_buffer::next_line() {
  for (;;) {
    auto nl = buf_.find('\n', start_);
    if (nl == std::string::npos) {
      // Drop consumed bytes so the buffer only holds the partial line.
      buf_.erase(0, start_);
      start_ = 0;
      return std::nullopt;
    }
    auto end = nl;
    if (end > start_ && buf_[end - 1] == '\r') --end;
    std::string line = buf_.substr(start_, end - start_);
    start_ = nl + 1;
    if (!line.empty()) return line;
  }
}

}  // namespace actormq::etcd
