#include "app/broker/retry_config.h"

#include <fmt/format.h>

namespace actormq::broker {

namespace {

std::optional<std::string> read_policy(const toml::node_view<const toml::node>& section,
                                       const std::string& where, const retry::retry_policy& base,
                                       retry::retry_policy& out) {
  auto backoff = section["backoff"].value<std::string>().value_or(base.to_string());
  auto max = section["max_retries"].value_exact<int64_t>().value_or(base.max_retries());
  if (section["max_retries"] && !section["max_retries"].value_exact<int64_t>()) {
    return fmt::format("{}.max_retries must be an integer", where);
  }
  if (max < 0 || max > 1000000)
    return fmt::format("{}.max_retries = {} is out of range", where, max);
  auto p = retry::retry_policy::parse(backoff, static_cast<uint32_t>(max));
  if (!p) {
    return fmt::format(
        "{}.backoff: '{}' is neither a list of durations nor "
        "'exponential INITIAL FACTOR MAX'",
        where, backoff);
  }
  out = *p;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> load_retry_config(const toml::table& t, retry::retry_settings& retry,
                                             alert_config& alerts) {
  const toml::node_view<const toml::node> r = t["retry"];
  if (auto err = read_policy(r, "[retry]", retry.defaults, retry.defaults)) return err;
  if (auto n = r["max_redrives"]) {
    auto v = n.value_exact<int64_t>();
    if (!v || *v < 0 || *v > 1000000) return "[retry].max_redrives must be an integer >= 0";
    retry.max_redrives = static_cast<uint32_t>(*v);
  }
  if (auto groups = r["groups"].as_table()) {
    for (const auto& [name, node] : *groups) {
      std::string group(name.str());
      retry::retry_policy p;
      auto where = fmt::format("[retry.groups.{}]", group);
      if (auto err =
              read_policy(toml::node_view<const toml::node>(node), where, retry.defaults, p)) {
        return err;
      }
      retry.groups[group] = p;
    }
  }
  const toml::node_view<const toml::node> a = t["alerts"];
  if (auto hook = a["hook"].value<std::string>()) alerts.hook = *hook;
  if (auto v = a["hook_timeout_ms"].value_exact<int64_t>()) {
    if (*v < 1 || *v > 3600000) return "[alerts].hook_timeout_ms is out of range [1, 3600000]";
    alerts.hook_timeout_ms = static_cast<uint32_t>(*v);
  }
  if (auto v = a["hook_queue"].value_exact<int64_t>()) {
    if (*v < 1 || *v > 1000000) return "[alerts].hook_queue is out of range [1, 1000000]";
    alerts.hook_queue = static_cast<uint32_t>(*v);
  }
  return std::nullopt;
}

}  // namespace actormq::broker
