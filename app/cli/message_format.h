#pragma once
// message_format: renders a consumed message for `actormq consume --format`.
// Placeholders: %k key, %v value, %p partition, %o offset, %t timestamp (ms),
// %T topic, %i message id (32 hex digits, empty for a record without one),
// %h headers (K=V,K=V; a null value as K alone), %% a percent sign; escapes \n, \t and \\ are
// expanded. A null key or value renders as nothing. Each rendered message ends with a newline.

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
  static void render_headers(const client::message& m, std::string& out);
  std::string pattern_;
};

}  // namespace actormq::cli
