#include "diversion_checkpoint.h"

#include <charconv>
#include <vector>

namespace actormq::client::detail {

namespace {

std::optional<int64_t> to_int(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  if (s.empty()) return out;
  size_t pos = 0;
  while (true) {
    auto i = s.find(sep, pos);
    out.push_back(s.substr(pos, i == std::string_view::npos ? std::string_view::npos : i - pos));
    if (i == std::string_view::npos) break;
    pos = i + 1;
  }
  return out;
}

template <typename F>
std::string join(const std::map<uint32_t, F>& m, const auto& fmt) {
  std::string out;
  for (const auto& [k, v] : m) {
    if (!out.empty()) out += ',';
    out += std::to_string(k) + ':' + fmt(v);
  }
  return out;
}

/// "P:A[:B],..." into fn(P, fields after P); false on anything malformed.
template <typename Fn>
bool parse_list(std::string_view s, size_t fields, Fn fn) {
  for (auto item : split(s, ',')) {
    auto parts = split(item, ':');
    if (parts.size() != fields + 1) return false;
    auto p = to_int(parts[0]);
    if (!p || *p < 0 || *p > 100000) return false;
    std::vector<int64_t> vs;
    for (size_t i = 1; i < parts.size(); ++i) {
      auto v = to_int(parts[i]);
      if (!v || *v < 0) return false;
      vs.push_back(*v);
    }
    fn(static_cast<uint32_t>(*p), vs);
  }
  return true;
}

}  // namespace

uint64_t diversion_checkpoint::backlog() const {
  uint64_t n = 0;
  for (const auto& [p, r] : ranges) n += static_cast<uint64_t>(r.end - r.from);
  return n;
}

uint64_t diversion_checkpoint::moved() const {
  uint64_t n = 0;
  for (const auto& [p, r] : ranges) {
    auto it = next.find(p);
    int64_t at = it == next.end() ? r.from : std::min(std::max(it->second, r.from), r.end);
    n += static_cast<uint64_t>(at - r.from);
  }
  return n;
}

std::string diversion_checkpoint::encode() const {
  auto num = [](int64_t v) { return std::to_string(v); };
  auto rng = [](const range& r) { return std::to_string(r.from) + ':' + std::to_string(r.end); };
  return "version=1\ntopic=" + topic + "\ngroup=" + group + "\ndrain_group=" + drain_group +
         "\ntemp=" + temp + "\npartitions=" + std::to_string(partitions) +
         "\nstarted_ms=" + std::to_string(started_ms) + "\nrange=" + join(ranges, rng) +
         "\nnext=" + join(next, num) + "\ntemp_end=" + join(temp_end, num) + "\n";
}

std::optional<diversion_checkpoint> diversion_checkpoint::decode(std::string_view text) {
  diversion_checkpoint c;
  bool version = false;
  for (auto line : split(text, '\n')) {
    if (line.empty()) continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    auto key = line.substr(0, eq);
    auto val = line.substr(eq + 1);
    bool ok = true;
    if (key == "version") {
      version = val == "1";
      ok = version;
    } else if (key == "topic") {
      c.topic = val;
    } else if (key == "group") {
      c.group = val;
    } else if (key == "drain_group") {
      c.drain_group = val;
    } else if (key == "temp") {
      c.temp = val;
    } else if (key == "partitions") {
      auto v = to_int(val);
      ok = v && *v > 0 && *v <= 100000;
      if (ok) c.partitions = static_cast<uint32_t>(*v);
    } else if (key == "started_ms") {
      auto v = to_int(val);
      ok = v.has_value();
      if (ok) c.started_ms = *v;
    } else if (key == "range") {
      ok = parse_list(val, 2, [&](uint32_t p, const std::vector<int64_t>& v) {
        c.ranges[p] = {v[0], v[1]};
      });
    } else if (key == "next") {
      ok = parse_list(val, 1, [&](uint32_t p, const std::vector<int64_t>& v) { c.next[p] = v[0]; });
    } else if (key == "temp_end") {
      ok = parse_list(val, 1,
                      [&](uint32_t p, const std::vector<int64_t>& v) { c.temp_end[p] = v[0]; });
    }
    if (!ok) return std::nullopt;
  }
  if (!version || c.topic.empty() || c.group.empty() || c.temp.empty() || c.partitions == 0) {
    return std::nullopt;
  }
  for (const auto& [p, r] : c.ranges) {
    if (r.end < r.from) return std::nullopt;
  }
  return c;
}

}  // namespace actormq::client::detail
