#include "group_reset_command.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>

#include "actormq/client/admin.h"
#include "cli_common.h"
#include "delay_option.h"

namespace actormq::cli {

namespace {

struct reset_options {
  std::string group;
  std::string topic;
  std::optional<uint32_t> partition;
  bool to_earliest = false;
  bool to_latest = false;
  std::optional<std::string> to_datetime;
  std::optional<int64_t> shift_by;
  std::optional<int64_t> to_offset;
  bool dry_run = false;
};

/// The new offset of one partition; nullopt with *why on error.
std::optional<int64_t> target(client::admin& adm, const reset_options& o,
                              const client::topic_partition& tp, int64_t current,
                              std::optional<int64_t> at_time, std::string* why) {
  auto start = adm.list_offsets(tp, client::admin::earliest_timestamp);
  auto end = adm.list_offsets(tp, client::admin::latest_timestamp);
  if (!start || !end) {
    *why = (start ? end.err() : start.err()).to_string();
    return std::nullopt;
  }
  int64_t want = 0;
  if (o.to_earliest) {
    want = *start;
  } else if (o.to_latest) {
    want = *end;
  } else if (at_time) {
    auto t = adm.list_offsets(tp, *at_time);
    if (!t) {
      *why = t.err().to_string();
      return std::nullopt;
    }
    want = *t;
  } else if (o.shift_by) {
    // From the committed offset; a partition without one from its start.
    want = (current < 0 ? *start : current) + *o.shift_by;
  } else {
    want = *o.to_offset;
  }
  return std::clamp(want, *start, std::max(*start, *end));
}

int reset(const std::string& broker, const reset_options& o) {
  std::optional<int64_t> at_time;
  if (o.to_datetime) {
    at_time = parse_rfc3339(*o.to_datetime);
    if (!at_time) return fail("--to-datetime '" + *o.to_datetime + "': expected RFC 3339");
  }
  auto adm = client::admin::create(connection_for(broker));
  if (!adm) return fail("", adm.err());
  auto& a = **adm;
  auto g = a.describe_group(o.group);
  if (g && !g->members.empty()) {
    return fail("group '" + o.group + "' has " + std::to_string(g->members.size()) +
                " live member(s); stop its consumers first (their commits would overwrite the "
                "reset)");
  }
  auto t = a.describe_topic(o.topic);
  if (!t) return fail(describe_topic_error(o.topic, t.err()));
  std::vector<client::topic_partition> tps;
  for (const auto& p : t->partitions) {
    if (!o.partition || *o.partition == p.partition) tps.push_back({o.topic, p.partition});
  }
  if (tps.empty()) {
    return fail("topic '" + o.topic + "' has no partition " + std::to_string(*o.partition));
  }
  auto current = a.fetch_offsets(o.group, tps);
  if (!current) return fail("offsets of group '" + o.group + "'", current.err());
  std::vector<client::topic_partition_offset> next;
  std::printf("%-20s %-10s %-12s %s\n", "TOPIC", "PARTITION", "CURRENT", "NEW");
  for (const auto& tp : tps) {
    int64_t cur = -1;
    for (const auto& c : *current) {
      if (c.topic == tp.topic && c.partition == tp.partition) cur = c.offset;
    }
    std::string why;
    auto to = target(a, o, tp, cur, at_time, &why);
    if (!to) return fail(tp.topic + "-" + std::to_string(tp.partition) + ": " + why);
    next.push_back({tp.topic, tp.partition, *to});
    std::printf("%-20s %-10u %-12s %lld\n", tp.topic.c_str(), tp.partition,
                cur < 0 ? "-" : std::to_string(cur).c_str(), static_cast<long long>(*to));
  }
  if (o.dry_run) {
    std::printf("(dry run: nothing committed)\n");
    return 0;
  }
  if (auto r = a.commit_offsets(o.group, next); !r) {
    if (r.err().is(client::errc::unknown_member)) {
      return fail("group '" + o.group + "' got a live member meanwhile; nothing committed");
    }
    return fail("commit for group '" + o.group + "'", r.err());
  }
  return 0;
}

}  // namespace

std::function<int(const std::string& broker)> add_group_reset_command(CLI::App& group) {
  auto o = std::make_shared<reset_options>();
  auto* cmd = group.add_subcommand(
      "reset-offsets", "move a group's committed offsets (the group must have no live members)");
  cmd->add_option("group", o->group, "group name")->required();
  cmd->add_option("--topic", o->topic, "topic")->required();
  cmd->add_option("--partition", o->partition, "only this partition (default: all)");
  auto* earliest = cmd->add_flag("--to-earliest", o->to_earliest, "to the log start");
  auto* latest = cmd->add_flag("--to-latest", o->to_latest, "to the log end (skip everything)");
  auto* datetime = cmd->add_option("--to-datetime", o->to_datetime,
                                   "to the first message at or after this RFC 3339 time");
  auto* shift =
      cmd->add_option("--shift-by", o->shift_by, "by N from the committed offset (negative: back)");
  auto* offset = cmd->add_option("--to-offset", o->to_offset, "to this offset");
  auto modes = std::vector<CLI::Option*>{earliest, latest, datetime, shift, offset};
  for (auto* a : modes) {
    for (auto* b : modes) {
      if (a != b) a->excludes(b);
    }
  }
  cmd->add_flag("--dry-run", o->dry_run, "print the new offsets, commit nothing");
  return [cmd, o](const std::string& broker) -> int {
    if (!cmd->parsed()) return -1;
    if (!o->to_earliest && !o->to_latest && !o->to_datetime && !o->shift_by && !o->to_offset) {
      return fail("give one of --to-earliest, --to-latest, --to-datetime, --shift-by, --to-offset");
    }
    return reset(broker, *o);
  };
}

}  // namespace actormq::cli
