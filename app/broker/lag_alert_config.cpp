#include "app/broker/lag_alert_config.h"

#include <fmt/format.h>

#include "actors/delay/delay_levels.h"

namespace actormq::broker {

namespace {

using view = toml::node_view<const toml::node>;

std::optional<std::string> read_thresholds(view section, const std::string& where,
                                           const group::lag_thresholds& base,
                                           group::lag_thresholds& out) {
  out = base;
  if (auto n = section["max_messages"]) {
    auto v = n.value_exact<int64_t>();
    if (!v || *v < 0) return fmt::format("{}.max_messages must be an integer >= 0", where);
    out.max_messages = *v;
  }
  if (auto n = section["max_age"]) {
    auto text = n.value<std::string>();
    if (!text) return fmt::format("{}.max_age must be a duration such as \"5m\"", where);
    if (*text == "0" || *text == "0s") {
      out.max_age_ms = 0;
    } else {
      auto d = delay::parse_duration(*text);
      if (!d) return fmt::format("{}.max_age: '{}' is not a duration", where, *text);
      out.max_age_ms = d->count();
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> load_lag_alert_config(const toml::table& t,
                                                 group::lag_alert_policy& out) {
  const view s = t["lag_alerts"];
  if (!s) return std::nullopt;
  if (auto err = read_thresholds(s, "[lag_alerts]", out.defaults, out.defaults)) return err;
  if (auto n = s["check_interval"]) {
    const char* bad = "[lag_alerts].check_interval must be a duration from 250ms to 1h";
    auto text = n.value<std::string>();
    if (!text) return bad;
    auto d = delay::parse_duration(*text);
    if (!d || d->count() < 250 || d->count() > 3600000) return bad;
    out.check_interval = *d;
  }
  if (auto groups = s["groups"].as_table()) {
    for (const auto& [name, node] : *groups) {
      std::string g(name.str());
      group::lag_thresholds th;
      if (auto err = read_thresholds(view(node), fmt::format("[lag_alerts.groups.{}]", g),
                                     out.defaults, th)) {
        return err;
      }
      out.groups[g] = th;
    }
  }
  return std::nullopt;
}

}  // namespace actormq::broker
