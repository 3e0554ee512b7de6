#include "actors/inspect/prometheus_text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "actors/inspect/metric_catalog.h"

namespace actormq {

namespace {

void escape_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void escape_help(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

}  // namespace

std::string prometheus_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int prec = 15; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string prometheus_text(const std::vector<metric_sample>& samples) {
  struct entry {
    std::string_view family;
    const metric_family* meta;
    const metric_sample* sample;
  };
  std::vector<entry> entries;
  entries.reserve(samples.size());
  for (const auto& s : samples) {
    auto* meta = find_metric_family(s.name);
    entries.push_back({meta ? meta->name : std::string_view{s.name}, meta, &s});
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const entry& a, const entry& b) { return a.family < b.family; });
  std::string out;
  out.reserve(entries.size() * 80);
  std::string_view current;
  bool first = true;
  for (const auto& e : entries) {
    if (first || e.family != current) {
      first = false;
      current = e.family;
      out += "# HELP ";
      out += e.family;
      out += ' ';
      escape_help(out, e.meta ? e.meta->help : std::string_view{"(not in the catalog)"});
      out += "\n# TYPE ";
      out += e.family;
      out += ' ';
      out += e.meta ? e.meta->type : std::string_view{"untyped"};
      out += '\n';
    }
    out += e.sample->name;
    if (!e.sample->labels.empty()) {
      out += '{';
      bool first_label = true;
      for (const auto& l : e.sample->labels) {
        if (!first_label) out += ',';
        first_label = false;
        out += l.name;
        out += "=\"";
        escape_label_value(out, l.value);
        out += '"';
      }
      out += '}';
    }
    out += ' ';
    out += prometheus_value(e.sample->value);
    out += '\n';
  }
  return out;
}

}  // namespace actormq
