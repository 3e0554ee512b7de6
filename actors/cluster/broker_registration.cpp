#include "actors/cluster/broker_registration.h"

#include <fmt/format.h>

#include "actors/key_value_text.h"

namespace actormq::cluster {

std::string broker_registration::encode() const {
  return fmt::format("id = {}\nrpc = {}\ncluster = {}\nincarnation = {}\n", id, rpc_address,
                     cluster_address, incarnation);
}

std::optional<broker_registration> broker_registration::decode(std::string_view text) {
  broker_registration r;
  bool have_id = false;
  for (auto [key, val] : parse_key_value_lines(text)) {
    if (key == "id") {
      auto v = parse_int64(val);
      if (!v || *v < 0 || *v > INT32_MAX) return std::nullopt;
      r.id = static_cast<broker_id>(*v);
      have_id = true;
    } else if (key == "rpc") {
      r.rpc_address = std::string(val);
    } else if (key == "cluster") {
      r.cluster_address = std::string(val);
    } else if (key == "incarnation") {
      // A count of starts: negative is corruption, and would come back from
      // encode() as a number parse_int64 refuses (found by the fuzzer).
      auto v = parse_int64(val);
      if (!v || *v < 0) return std::nullopt;
      r.incarnation = static_cast<uint64_t>(*v);
    }
  }
  if (!have_id || r.rpc_address.empty()) return std::nullopt;
  // Addresses are HOST:PORT in printable ASCII: a blank, control byte or '='
  // in one is corruption, and would not survive encode() (found by the
  // coordinator_records fuzzer).
  auto malformed = [](const std::string& a) {
    for (unsigned char c : a)
      if (c <= ' ' || c >= 0x7f || c == '=') return true;
    return false;
  };
  if (malformed(r.rpc_address) || malformed(r.cluster_address)) return std::nullopt;
  return r;
}

}  // namespace actormq::cluster
