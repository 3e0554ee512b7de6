#pragma once
// message_format: renders a consumed message for `actormq consume --format`.
// Placeholders: %k key, %v value, %p partition, %o offset, %t timestamp (ms),
// %T topic, %% a percent sign; escapes \n, \t and \\ are expanded. A null key
// or value renders as nothing. Each rendered message ends with a newline.

#include <string>
#include <string_view>

#include "actormq/client/types.h"

namespace actormq::cli {

class message_format {
 public:
  explicit message_format(std::string_view pattern);
  /// Appends the rendering of m (and a newline) to out.
  void render(const client::message& m, std::string& out) const;

 private:
  std::string pattern_;
};

}  // namespace actormq::cli
