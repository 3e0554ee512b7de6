#include "broker_address.h"

#include <algorithm>
#include <charconv>
#include <string_view>

namespace actormq::client::detail {

result<std::pair<std::string, uint16_t>> parse_host_port(const std::string& s) {
  using R = result<std::pair<std::string, uint16_t>>;
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) {
    return R(errc::invalid_argument, "expected HOST:PORT, got '" + s + "'");
  }
  std::string host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  auto tail = std::string_view(s).substr(colon + 1);
  auto [p, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), port);
  if (ec != std::errc() || p != tail.data() + tail.size() || port == 0 || port > 65535) {
    return R(errc::invalid_argument, "bad port in '" + s + "'");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

result<std::vector<std::string>> parse_broker_list(const std::string& s) {
  using R = result<std::vector<std::string>>;
  std::vector<std::string> out;
  size_t from = 0;
  for (;;) {
    auto comma = s.find(',', from);
    auto entry = s.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
    auto first = entry.find_first_not_of(" \t");
    auto last = entry.find_last_not_of(" \t");
    entry = first == std::string::npos ? std::string() : entry.substr(first, last - first + 1);
    if (entry.empty()) {
      return R(errc::invalid_argument, "empty entry in broker list '" + s + "'");
    }
    if (auto hp = parse_host_port(entry); !hp) return hp.err();
    if (std::find(out.begin(), out.end(), entry) == out.end()) out.push_back(entry);
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  return out;
}

std::string bootstrap_list::to_string() const {
  std::string s;
  for (const auto& a : addresses_) {
    if (!s.empty()) s += ",";
    s += a;
  }
  return s;
}

}  // namespace actormq::client::detail
