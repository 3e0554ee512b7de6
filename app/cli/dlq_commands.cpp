#include "dlq_commands.h"

#include <cstdio>
#include <memory>

#include "actormq/client/dead_letters.h"
#include "cli_common.h"

namespace actormq::cli {

namespace {

struct dlq_options {
  std::string topic;
  std::string group;
  std::string dlq_topic;
  std::string reason;
  int64_t from = 0;
  int64_t to = -1;
  int64_t offset = -1;
  size_t max = 1000;

  std::string dlq() const {
    return dlq_topic.empty() ? client::dlq_topic_name(topic, group) : dlq_topic;
  }
};

std::unique_ptr<client::dlq_admin> connect(const std::string& broker) {
  auto a = client::dlq_admin::create(connection_for(broker));
  if (!a) {
    fail(a.err().to_string());
    return nullptr;
  }
  return std::move(*a);
}

int list(const std::string& broker, const dlq_options& o) {
  auto a = connect(broker);
  if (!a) return 1;
  auto dls = a->list(o.dlq(), o.max);
  if (!dls) return fail("dlq '" + o.dlq() + "': " + dls.err().to_string());
  std::printf("%-8s %-12s %-24s %-10s %-12s %-10s %-8s %s\n", "OFFSET", "REASON", "ORIGINAL-TOPIC",
              "PARTITION", "ORIG-OFFSET", "DELIVERIES", "REDRIVES", "LAST-ERROR");
  for (const auto& d : *dls) {
    std::printf("%-8lld %-12s %-24s %-10u %-12lld %-10u %-8u %s\n",
                static_cast<long long>(d.msg.offset), d.reason.c_str(), d.original_topic.c_str(),
                d.original_partition, static_cast<long long>(d.original_offset), d.deliveries,
                d.redrives, d.last_error.c_str());
  }
  return 0;
}

int show(const std::string& broker, const dlq_options& o) {
  auto a = connect(broker);
  if (!a) return 1;
  auto dls = a->list(o.dlq(), 1, o.offset);
  if (!dls) return fail("dlq '" + o.dlq() + "': " + dls.err().to_string());
  if (dls->empty() || dls->front().msg.offset != o.offset) {
    return fail("no dead letter at offset " + std::to_string(o.offset) + " of " + o.dlq());
  }
  const auto& m = dls->front().msg;
  std::printf("dlq: %s\noffset: %lld\ntimestamp: %lld\nkey: %s\nvalue: %s\n", o.dlq().c_str(),
              static_cast<long long>(m.offset), static_cast<long long>(m.timestamp_ms),
              m.key ? m.key->c_str() : "", m.value ? m.value->c_str() : "");
  for (const auto& h : m.headers) {
    std::printf("header %s: %s\n", h.key.c_str(), h.value ? h.value->c_str() : "(null)");
  }
  return 0;
}

int redrive(const std::string& broker, const dlq_options& o) {
  auto a = connect(broker);
  if (!a) return 1;
  auto r = a->redrive(o.dlq(), o.reason, o.from, o.to);
  if (!r) return fail("re-drive of '" + o.dlq() + "': " + r.err().to_string());
  std::printf("moved %llu, refused %llu (re-drive limit), cursor %lld\n",
              static_cast<unsigned long long>(r->moved),
              static_cast<unsigned long long>(r->refused), static_cast<long long>(r->next_offset));
  return 0;
}

int stats(const std::string& broker) {
  auto a = connect(broker);
  if (!a) return 1;
  auto s = a->stats();
  if (!s) return fail(s.err().to_string());
  std::printf("%-24s %-20s %-12s %s\n", "TOPIC", "GROUP", "REASON", "DEAD-LETTERS");
  for (const auto& c : *s) {
    std::printf("%-24s %-20s %-12s %llu\n", c.topic.c_str(),
                c.group.empty() ? "-" : c.group.c_str(), c.reason.c_str(),
                static_cast<unsigned long long>(c.count));
  }
  return 0;
}

}  // namespace

std::function<int(const std::string& broker)> add_dlq_commands(CLI::App& app) {
  auto o = std::make_shared<dlq_options>();
  auto* dlq = app.add_subcommand("dlq", "list, show and re-drive dead letters; counters");
  dlq->require_subcommand(1);
  auto target = [o](CLI::App* c) {
    c->add_option("topic", o->topic, "the original topic")->required();
    c->add_option("--group,-g", o->group, "the consumer group (DLQ = TOPIC.GROUP.dlq)");
    c->add_option("--dlq-topic", o->dlq_topic, "the DLQ topic itself, instead of --group");
  };
  auto* l = dlq->add_subcommand("list", "pending dead letters with reason and offsets");
  target(l);
  l->add_option("--max", o->max, "at most N")->capture_default_str();
  auto* s = dlq->add_subcommand("show", "one dead letter with all its headers");
  target(s);
  s->add_option("--offset", o->offset, "its offset in the DLQ")->required();
  auto* r = dlq->add_subcommand("redrive", "move dead letters back to their original topic");
  target(r);
  r->add_option("--reason", o->reason,
                "only this reason (max_retries, rejected, ttl_expired, "
                "queue_full)");
  r->add_option("--from", o->from, "first DLQ offset")->capture_default_str();
  r->add_option("--to", o->to, "end DLQ offset, exclusive (-1 = all)")->capture_default_str();
  auto* st = dlq->add_subcommand("stats", "dead letters per topic, group and reason");
  return [o, l, s, r, st](const std::string& broker) {
    if ((l->parsed() || s->parsed() || r->parsed()) && o->group.empty() && o->dlq_topic.empty()) {
      return fail("give --group G or --dlq-topic NAME");
    }
    if (l->parsed()) return list(broker, *o);
    if (s->parsed()) return show(broker, *o);
    if (r->parsed()) return redrive(broker, *o);
    if (st->parsed()) return stats(broker);
    return -1;
  };
}

}  // namespace actormq::cli
