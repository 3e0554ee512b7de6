#pragma once
// Broker addresses as users write them: "HOST:PORT" (IPv6 as "[::1]:PORT")
// and the bootstrap list "HOST:PORT[,HOST:PORT...]" of
// connection_config::broker. Plain C++, no KJ.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "actormq/client/result.h"

namespace actormq::client::detail {

/// Splits "HOST:PORT"; fails with invalid_argument.
result<std::pair<std::string, uint16_t>> parse_host_port(const std::string& s);

/// Splits "HOST:PORT[,HOST:PORT...]" (blanks around entries ignored) and
/// checks every entry; fails with invalid_argument on an empty list or a
/// bad entry. Duplicates are dropped, order is kept.
result<std::vector<std::string>> parse_broker_list(const std::string& s);

/// The bootstrap brokers of a connection, in the order given: the current
/// one is used for metadata and everything not routed to a leader,
/// coordinator or controller; when it cannot be reached or its session
/// dies, the next one (wrapping around) takes its place.
class bootstrap_list {
 public:
  explicit bootstrap_list(std::vector<std::string> addresses) : addresses_(std::move(addresses)) {}

  const std::string& current() const { return addresses_[index_]; }
  /// Moves on to the next address (the first after the last).
  void advance() { index_ = (index_ + 1) % addresses_.size(); }
  size_t size() const { return addresses_.size(); }
  const std::vector<std::string>& addresses() const { return addresses_; }
  /// "A,B,C" as given, for messages.
  std::string to_string() const;

 private:
  std::vector<std::string> addresses_;
  size_t index_ = 0;
};

}  // namespace actormq::client::detail
