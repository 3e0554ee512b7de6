#include "app/etcd/etcd_types.h"

namespace actormq::etcd {

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();  // 0xff cannot be incremented: the bound moves one byte up
  }
  return std::string(1, '\0');
}

}  // namespace actormq::etcd
