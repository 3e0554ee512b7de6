// actormq: the command line of ActorMQ.
//
// --broker takes one address or a bootstrap list HOST:PORT[,HOST:PORT...]:
// the first reachable broker answers, the others are found through metadata.
//
//   actormq [--broker HOST:PORT] topic create NAME --partitions N [--replication-factor R]
//           [--max-messages N --full-policy reject-new|dead-letter-oldest] [--ttl-ms T]
//           [--producer-byte-rate B] [--producer-message-rate M]
//   actormq [--broker HOST:PORT] topic list | describe NAME | delete NAME
//   actormq [--broker HOST:PORT] topic alter NAME [--partitions N]
//           [--producer-byte-rate B] [--producer-message-rate M]
//   actormq [--broker HOST:PORT] produce TOPIC [--key K | --key-separator SEP]
//                                              [--acks none|leader|fsync|all]
//                                              [--delay 90s | --delay-level N |
//                                               --deliver-at RFC3339]
//                                              [--header K=V]... [--print-ids]
//   actormq [--broker HOST:PORT] consume TOPIC --group G [--from-beginning]
//           [--max-messages N] [--timeout-ms T] [--format FMT]
//           [--fail-pattern REGEX] [--reject-pattern REGEX]
//   actormq [--broker HOST:PORT] consume TOPIC [--partition P]
//           [--offset O | --from-time T | --from-beginning] ... (no group;
//           read_commands.h)
//   actormq [--broker HOST:PORT] message find TOPIC --id ID (read_commands.h)
//   actormq [--broker HOST:PORT] group list | describe G | delete G
//   actormq [--broker HOST:PORT] group reset-offsets G --topic T ... (group_reset_command.h)
//   actormq [--broker HOST:PORT] cluster status [TOPIC...] (cluster_commands.h)
//   actormq [--broker HOST:PORT] dlq list | show | redrive | stats (dlq_commands.h)
//   actormq [--broker HOST:PORT] txn list | resolve ID commit|rollback (txn_commands.h)
//   actormq [--broker HOST:PORT] backlog divert | resume | status | finish
//           (backlog_commands.h)
//   actormq [--broker HOST:PORT] inspect [--once] [--json] | inspect actor PATH
//           (inspect_commands.h)
//
// Errors go to stderr as "actormq: error: ..." with exit status 1; bad
// flags exit non-zero with CLI11's message.

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <regex>
#include <string>

#include "actormq/client/admin.h"
#include "actormq/client/consumer.h"
#include "actormq/client/producer.h"
#include "backlog_commands.h"
#include "cli_common.h"
#include "cluster_commands.h"
#include "delay_option.h"
#include "dlq_commands.h"
#include "group_reset_command.h"
#include "inspect_commands.h"
#include "message_format.h"
#include "read_commands.h"
#include "txn_commands.h"

namespace {

using namespace actormq;
using cli::connection_for;
using cli::describe_topic_error;
using cli::fail;
using client::errc;

std::atomic<bool> g_stop{false};

void on_signal(int) {
  g_stop = true;
}

std::string join_tps(const std::vector<client::topic_partition>& tps) {
  std::string s;
  for (const auto& tp : tps) {
    if (!s.empty()) s += ",";
    s += tp.topic + "-" + std::to_string(tp.partition);
  }
  return s.empty() ? "-" : s;
}

// ---- topic ----

int topic_create(const std::string& broker, const std::string& name,
                 const client::topic_config& cfg) {
  auto adm = client::admin::create(connection_for(broker));
  if (!adm) return fail("", adm.err());
  if (auto r = (*adm)->create_topic(name, cfg); !r) {
    if (r.err().is(errc::topic_exists)) return fail("topic '" + name + "' already exists");
    return fail("cannot create topic '" + name + "'", r.err());
  }
  std::printf("created topic %s with %u partitions\n", name.c_str(), cfg.partitions);
  if (cfg.replication_factor > 1) std::printf("replication factor %u\n", cfg.replication_factor);
  return 0;
}

int topic_list(const std::string& broker, bool verbose, bool internal) {
  auto adm = client::admin::create(connection_for(broker));
  if (!adm) return fail("", adm.err());
  auto topics = (*adm)->list_topics(internal);
  if (!topics) return fail("cannot list topics", topics.err());
  for (const auto& t : *topics) {
    if (verbose) {
      std::printf("%s\t%zu\n", t.name.c_str(), t.partitions.size());
    } else {
      std::printf("%s\n", t.name.c_str());
    }
  }
  return 0;
}

int topic_describe(const std::string& broker, const std::string& name) {
  auto adm = client::admin::create(connection_for(broker));
  if (!adm) return fail("", adm.err());
  auto t = (*adm)->describe_topic(name);
  if (!t) return fail(describe_topic_error(name, t.err()));
  std::printf("Topic: %s\tPartitions: %zu\tRetentionMs: %lld\tRetentionBytes: %lld",
              t->name.c_str(), t->partitions.size(), static_cast<long long>(t->config.retention_ms),
              static_cast<long long>(t->config.retention_bytes));
  if (t->config.max_messages > 0) {
    std::printf(
        "\tMaxMessages: %lld\tFullPolicy: %s", static_cast<long long>(t->config.max_messages),
        t->config.when_full == client::full_policy::dead_letter_oldest ? "dead-letter-oldest"
                                                                       : "reject-new");
  }
  if (t->config.ttl_ms > 0) std::printf("\tTtlMs: %lld", static_cast<long long>(t->config.ttl_ms));
  if (t->config.producer_byte_rate > 0) {
    std::printf("\tProducerByteRate: %lld", static_cast<long long>(t->config.producer_byte_rate));
  }
  if (t->config.producer_message_rate > 0) {
    std::printf("\tProducerMessageRate: %lld",
                static_cast<long long>(t->config.producer_message_rate));
  }
  // Leaders and replicas from the cluster metadata (a single broker is
  // broker 0, leader of every partition).
  auto m = (*adm)->metadata({name});
  const client::topic_metadata* tm = nullptr;
  if (m) {
    for (const auto& x : m->topics) {
      if (x.name == name && !x.err) tm = &x;
    }
  }
  if (tm != nullptr) std::printf("\tReplicationFactor: %u", tm->replication_factor);
  std::printf("\n");
  std::printf("%-10s %-15s %-15s %-12s %-7s %-6s %-12s %s\n", "PARTITION", "LOG-START",
              "HIGH-WATERMARK", "SIZE-BYTES", "LEADER", "EPOCH", "REPLICAS", "ISR");
  for (const auto& p : t->partitions) {
    client::partition_metadata pm;
    if (tm != nullptr) {
      for (const auto& x : tm->partitions) {
        if (x.partition == p.partition) pm = x;
      }
    }
    std::printf(
        "%-10u %-15lld %-15lld %-12llu %-7s %-6s %-12s %s\n", p.partition,
        static_cast<long long>(p.log_start_offset), static_cast<long long>(p.high_watermark),
        static_cast<unsigned long long>(p.size_bytes),
        tm != nullptr ? cli::format_leader(pm.leader).c_str() : "?",
        tm != nullptr ? std::to_string(pm.leader_epoch).c_str() : "?",
        cli::format_broker_ids(pm.replicas).c_str(), cli::format_broker_ids(pm.isr).c_str());
    if (p.unavailable) {
      std::printf("%-10s unavailable: %s\n", "", p.unavailable.to_string().c_str());
    }
  }
  if (!m)
    std::fprintf(stderr, "actormq: warning: no cluster metadata: %s\n",
                 m.err().to_string().c_str());
  return 0;
}

int topic_delete(const std::string& broker, const std::string& name) {
  auto adm = client::admin::create(connection_for(broker));
  if (!adm) return fail("", adm.err());
  if (auto r = (*adm)->delete_topic(name); !r) return fail(describe_topic_error(name, r.err()));
  std::printf("deleted topic %s\n", name.c_str());
  return 0;
}

/// partitions 0 and a rate of -1 leave that setting as it is.
int topic_alter(const std::string& broker, const std::string& name, uint32_t partitions,
                int64_t byte_rate, int64_t message_rate) {
  if (partitions == 0 && byte_rate < 0 && message_rate < 0) {
    return fail("topic alter needs --partitions, --producer-byte-rate or --producer-message-rate");
  }
  auto adm = client::admin::create(connection_for(broker));
  if (!adm) return fail("", adm.err());
  if (partitions > 0) {
    if (auto r = (*adm)->add_partitions(name, partitions); !r) {
      return fail(describe_topic_error(name, r.err()));
    }
    std::printf("topic %s now has %u partitions\n", name.c_str(), partitions);
  }
  if (byte_rate >= 0 || message_rate >= 0) {
    if (auto r = (*adm)->set_topic_quota(name, byte_rate, message_rate); !r) {
      return fail(describe_topic_error(name, r.err()));
    }
    auto rate = [](int64_t v, const char* unit) {
      return v > 0    ? std::to_string(v) + " " + unit
             : v == 0 ? std::string("unlimited ") + unit
                      : std::string(unit) + " unchanged";
    };
    std::printf("topic %s produce quota per producer: %s, %s\n", name.c_str(),
                rate(byte_rate, "bytes/s").c_str(), rate(message_rate, "messages/s").c_str());
  }
  return 0;
}

// ---- produce ----

struct produce_options {
  std::string topic;
  std::optional<std::string> key;
  std::optional<std::string> key_separator;
  std::string acks = "all";
  cli::delay_flags delay;
  std::vector<std::string> headers;  ///< K=V
  bool print_ids = false;
};

int produce(const std::string& broker, const produce_options& o) {
  client::producer_config cfg;
  cfg.connection = connection_for(broker);
  cfg.acks = o.acks == "none"     ? client::acks::none
             : o.acks == "fsync"  ? client::acks::fsync
             : o.acks == "leader" ? client::acks::leader
                                  : client::acks::all;
  std::string why;
  auto delay = cli::check_delay_flags(o.delay, &why);
  if (!delay) return fail(why);
  std::vector<client::header> headers;
  for (const auto& kv : o.headers) {
    auto eq = kv.find('=');
    if (eq == 0 || eq == std::string::npos)
      return fail("--header '" + kv + "': expected KEY=VALUE");
    auto key = kv.substr(0, eq);
    if (key == client::message_id::header_key) {
      return fail("--header " + key + ": the producer sets the message id itself");
    }
    headers.push_back({key, kv.substr(eq + 1)});
  }
  auto prod = client::producer::create(cfg);
  if (!prod) return fail("", prod.err());
  if (auto n = (*prod)->partition_count(o.topic); !n) {
    return fail(describe_topic_error(o.topic, n.err()));
  }
  std::atomic<uint64_t> failed{0};
  std::mutex first_mu;
  std::string first_error;
  uint64_t lines = 0;
  // --print-ids: "PARTITION OFFSET ID" per line, in input order, at the end.
  std::mutex ids_mu;
  std::vector<std::string> id_lines;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    client::producer_record rec;
    rec.topic = o.topic;
    if (o.key_separator) {
      auto at = line.find(*o.key_separator);
      if (at != std::string::npos) {
        rec.key = line.substr(0, at);
        rec.value = line.substr(at + o.key_separator->size());
      } else {
        rec.value = line;
      }
    } else {
      rec.key = o.key;
      rec.value = line;
    }
    // Scheduled counts as acknowledged: the broker stored the line durably.
    rec.delay_level = delay->level;
    rec.deliver_at_ms = delay->deliver_at_ms;
    if (delay->delay_ms) {
      rec.deliver_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count() +
                          *delay->delay_ms;
    }
    rec.headers = headers;
    const uint64_t n = lines++;
    if (o.print_ids) {
      std::lock_guard lk(ids_mu);
      id_lines.emplace_back();
    }
    (*prod)->send(std::move(rec), [&, n](const client::delivery_report& r) {
      if (o.print_ids && r.ok()) {
        std::lock_guard lk(ids_mu);
        id_lines[n] =
            std::to_string(r.partition) + " " + std::to_string(r.offset) + " " + r.id.to_string();
      }
      if (r.ok()) return;
      if (failed++ == 0) {
        std::lock_guard lk(first_mu);
        first_error = r.err.to_string();
      }
    });
  }
  auto closed = (*prod)->close();
  if (failed > 0) {
    std::lock_guard lk(first_mu);
    return fail(std::to_string(failed.load()) + " of " + std::to_string(lines) +
                " messages not acknowledged (first error: " + first_error + ")");
  }
  if (o.print_ids) {
    std::lock_guard lk(ids_mu);
    for (const auto& l : id_lines) std::printf("%s\n", l.c_str());
  }
  if (!closed) return fail("flush failed", closed.err());
  return 0;
}

// ---- consume ----

struct consume_options {
  std::string topic;
  std::string group;
  bool from_beginning = false;
  int64_t max_messages = -1;
  int64_t timeout_ms = -1;
  std::string format = "%v";
  std::string fail_pattern;    ///< nack messages whose value matches (retry later)
  std::string reject_pattern;  ///< reject messages whose value matches (dead-letter now)
};

int consume(const std::string& broker, const consume_options& o) {
  client::consumer_config cfg;
  cfg.connection = connection_for(broker);
  cfg.group_id = o.group;
  cfg.auto_offset_reset =
      o.from_beginning ? client::offset_reset::earliest : client::offset_reset::latest;
  cfg.session_timeout_ms = 10000;
  {
    auto adm = client::admin::create(cfg.connection);
    if (!adm) return fail("", adm.err());
    if (auto t = (*adm)->describe_topic(o.topic); !t) {
      return fail(describe_topic_error(o.topic, t.err()));
    }
  }
  auto cons = client::consumer::create(cfg);
  if (!cons) return fail("", cons.err());
  auto& c = **cons;
  if (auto r = c.subscribe({o.topic}); !r)
    return fail("cannot join group '" + o.group + "'", r.err());

  std::optional<std::regex> fail_re, reject_re;
  try {
    if (!o.fail_pattern.empty()) fail_re.emplace(o.fail_pattern);
    if (!o.reject_pattern.empty()) reject_re.emplace(o.reject_pattern);
  } catch (const std::regex_error& e) {
    return fail(std::string("bad pattern: ") + e.what());
  }
  cli::message_format fmt(o.format);
  int64_t printed = 0;
  auto last_message = std::chrono::steady_clock::now();
  std::string out;
  int rc = 0;
  while (!g_stop && (o.max_messages < 0 || printed < o.max_messages)) {
    auto msgs = c.poll(std::chrono::milliseconds(200));
    if (!msgs) {
      auto e = msgs.err();
      if (!client::is_retriable(e.value())) {
        rc = fail("consume failed", e);
        break;
      }
    } else if (!msgs->empty()) {
      out.clear();
      std::map<client::topic_partition, int64_t> next;
      for (const auto& m : *msgs) {
        if (o.max_messages >= 0 && printed >= o.max_messages) break;
        auto value = m.value.value_or("");
        if (reject_re && std::regex_search(value, *reject_re)) {
          if (auto r = c.reject(m, "matched --reject-pattern"); !r) {
            rc = fail("reject failed", r.err());
            break;
          }
          next[{m.topic, m.partition}] = m.offset + 1;
          continue;
        }
        if (fail_re && std::regex_search(value, *fail_re)) {
          if (auto r = c.nack(m, "matched --fail-pattern"); !r) {
            rc = fail("nack failed", r.err());
            break;
          }
          next[{m.topic, m.partition}] = m.offset + 1;
          continue;
        }
        fmt.render(m, out);
        next[{m.topic, m.partition}] = m.offset + 1;
        ++printed;
      }
      if (rc != 0) break;  // a failed nack/reject: commit nothing of this batch
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
      // Commit exactly what was printed (a cut batch commits only its head).
      std::vector<client::topic_partition_offset> offsets;
      for (const auto& [tp, off] : next) offsets.push_back({tp.topic, tp.partition, off});
      if (auto r = c.commit_sync(offsets); !r) {
        std::fprintf(stderr, "actormq: warning: commit failed: %s\n", r.err().to_string().c_str());
      }
      last_message = std::chrono::steady_clock::now();
      continue;
    }
    if (o.timeout_ms >= 0 && std::chrono::steady_clock::now() - last_message >=
                                 std::chrono::milliseconds(o.timeout_ms)) {
      break;
    }
  }
  (void)c.close();
  return rc;
}

// ---- group ----

int group_list(const std::string& broker) {
  auto adm = client::admin::create(connection_for(broker));
  if (!adm) return fail("", adm.err());
  auto groups = (*adm)->list_groups();
  if (!groups) return fail("cannot list groups", groups.err());
  for (const auto& g : *groups) std::printf("%s\n", g.c_str());
  return 0;
}

int group_delete(const std::string& broker, const std::string& name) {
  auto adm = client::admin::create(connection_for(broker));
  if (!adm) return fail("", adm.err());
  auto r = (*adm)->delete_group(name);
  if (!r) {
    if (r.err().is(errc::unknown_group)) {
      return fail("unknown group '" + name + "' (no members and no committed offsets)");
    }
    return fail("group '" + name + "'", r.err());
  }
  std::printf("deleted group %s\n", name.c_str());
  return 0;
}

int group_describe(const std::string& broker, const std::string& name) {
  auto adm = client::admin::create(connection_for(broker));
  if (!adm) return fail("", adm.err());
  auto g = (*adm)->describe_group(name);
  if (!g) {
    if (g.err().is(errc::unknown_group)) return fail("unknown group '" + name + "'");
    return fail("group '" + name + "'", g.err());
  }
  std::printf("Group: %s\tGeneration: %d\tStrategy: %s\tMembers: %zu\n", g->name.c_str(),
              g->generation, g->strategy.c_str(), g->members.size());
  std::printf("%-40s %-20s %-10s %s\n", "MEMBER", "CLIENT", "HB-AGO-MS", "ASSIGNMENT");
  for (const auto& m : g->members) {
    std::printf("%-40s %-20s %-10lld %s\n", m.member_id.c_str(), m.client_id.c_str(),
                static_cast<long long>(m.last_heartbeat_ms_ago), join_tps(m.assignment).c_str());
  }
  std::printf("%-20s %-10s %-12s %-15s %-10s %s\n", "TOPIC", "PARTITION", "COMMITTED",
              "HIGH-WATERMARK", "LAG", "MEMBER");
  for (const auto& p : g->partitions) {
    std::string committed = p.committed < 0 ? "-" : std::to_string(p.committed);
    std::printf("%-20s %-10u %-12s %-15lld %-10lld %s\n", p.topic.c_str(), p.partition,
                committed.c_str(), static_cast<long long>(p.high_watermark),
                static_cast<long long>(p.lag), p.member.empty() ? "-" : p.member.c_str());
  }
  return 0;
}

int broker_info(const std::string& broker) {
  auto adm = client::admin::create(connection_for(broker));
  if (!adm) return fail("", adm.err());
  auto i = (*adm)->broker_info();
  if (!i) return fail("", i.err());
  std::printf(
      "version: %s\nbroker id: %s\nmax batch bytes: %llu\nmax message bytes: %llu\n"
      "stream port: %u\n",
      i->version.c_str(), i->broker_id.c_str(), static_cast<unsigned long long>(i->max_batch_bytes),
      static_cast<unsigned long long>(i->max_message_bytes), i->stream_port);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ActorMQ command line"};
  app.fallthrough();
  app.require_subcommand(1);
  std::string broker = client::default_broker;
  app.add_option("--broker", broker,
                 "broker address HOST:PORT, or a bootstrap list HOST:PORT[,HOST:PORT...] (the "
                 "first reachable one is used, the rest of the cluster found through it)")
      ->envname("ACTORMQ_BROKER")
      ->capture_default_str();

  // topic
  auto* topic = app.add_subcommand("topic", "create, list, describe, alter and delete topics");
  topic->require_subcommand(1);
  std::string topic_name;
  uint32_t partitions = 1;
  int64_t retention_ms = -2;
  bool verbose = false;
  auto* t_create = topic->add_subcommand("create", "create a topic");
  t_create->add_option("name", topic_name, "topic name")->required();
  t_create->add_option("--partitions,-p", partitions, "partition count")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  t_create->add_option("--retention-ms", retention_ms, "-1 keep forever, -2 broker default");
  uint32_t replication_factor = 1;
  t_create
      ->add_option("--replication-factor,-r", replication_factor,
                   "copies of each partition across the cluster's brokers (1 on a single "
                   "broker); produce's default acks=all waits for every in-sync replica")
      ->check(CLI::Range(1u, 16u))
      ->capture_default_str();
  int64_t max_messages = -1;
  std::string full_policy;
  int64_t ttl_ms = -1;
  t_create
      ->add_option("--max-messages", max_messages,
                   "bound per partition (0 unbounded); see --full-policy")
      ->check(CLI::NonNegativeNumber);
  t_create
      ->add_option("--full-policy", full_policy,
                   "at --max-messages: reject-new (produce fails with queue full, the default) or "
                   "dead-letter-oldest (the oldest move to NAME.dlq)")
      ->check(CLI::IsMember({"reject-new", "dead-letter-oldest"}));
  t_create
      ->add_option("--ttl-ms", ttl_ms,
                   "consumers dead-letter messages older than this (ttl_expired); 0 none")
      ->check(CLI::NonNegativeNumber);
  int64_t byte_rate = -1;
  int64_t message_rate = -1;
  const char* byte_rate_help =
      "produce quota: bytes/s each producer connection may send to the topic (0 unlimited); "
      "beyond it the broker holds its requests instead of failing them";
  const char* message_rate_help =
      "produce quota: messages/s each producer connection may send to the topic (0 unlimited)";
  t_create->add_option("--producer-byte-rate", byte_rate, byte_rate_help)
      ->check(CLI::NonNegativeNumber);
  t_create->add_option("--producer-message-rate", message_rate, message_rate_help)
      ->check(CLI::NonNegativeNumber);
  auto* t_list = topic->add_subcommand("list", "list topic names");
  t_list->add_flag("--verbose,-v", verbose, "also print partition counts");
  bool internal_topics = false;
  t_list->add_flag("--internal", internal_topics,
                   "also list the broker's own topics (__consumer_offsets, ...)");
  auto* t_describe = topic->add_subcommand(
      "describe", "partitions: log start, high watermark, size, leader, epoch, replicas, isr");
  t_describe->add_option("name", topic_name, "topic name")->required();
  auto* t_delete = topic->add_subcommand("delete", "delete a topic");
  t_delete->add_option("name", topic_name, "topic name")->required();
  uint32_t total_partitions = 0;
  auto* t_alter = topic->add_subcommand(
      "alter",
      "add partitions (keys may map to other partitions afterwards; in a cluster the "
      "controller places them) or change the produce quotas (live)");
  t_alter->add_option("name", topic_name, "topic name")->required();
  t_alter->add_option("--partitions,-p", total_partitions, "the new, larger partition count")
      ->check(CLI::Range(1u, 100000u));
  t_alter->add_option("--producer-byte-rate", byte_rate, byte_rate_help)
      ->check(CLI::NonNegativeNumber);
  t_alter->add_option("--producer-message-rate", message_rate, message_rate_help)
      ->check(CLI::NonNegativeNumber);

  // produce
  produce_options po;
  auto* produce_cmd = app.add_subcommand("produce", "send one message per stdin line");
  produce_cmd->add_option("topic", po.topic, "topic")->required();
  auto* key_opt = produce_cmd->add_option("--key", po.key, "key for every message");
  produce_cmd->add_option("--key-separator", po.key_separator, "split each line into KEY SEP VALUE")
      ->excludes(key_opt);
  produce_cmd
      ->add_option("--acks", po.acks,
                   "none, leader, fsync or all (every in-sync replica has it; on one broker or a "
                   "topic of replication factor 1 the same as leader)")
      ->check(CLI::IsMember({"none", "leader", "fsync", "all"}))
      ->capture_default_str();
  auto* delay_opt =
      produce_cmd->add_option("--delay", po.delay.delay,
                              "deliver each line this long after it is sent (500ms, 90s, 1h30m)");
  auto* level_opt =
      produce_cmd
          ->add_option("--delay-level", po.delay.delay_level,
                       "deliver after the broker's delay level N (1 = 1s ... 18 = 2h)")
          ->excludes(delay_opt);
  produce_cmd
      ->add_option("--deliver-at", po.delay.deliver_at,
                   "deliver at this RFC 3339 time, e.g. 2026-11-25T10:00:00Z")
      ->excludes(delay_opt)
      ->excludes(level_opt);
  produce_cmd->add_option("--header", po.headers, "KEY=VALUE header on every message (repeatable)");
  produce_cmd->add_flag("--print-ids", po.print_ids,
                        "print PARTITION OFFSET MESSAGE-ID per line once all are acknowledged "
                        "(offset -1 for a delayed message)");

  // consume
  consume_options co;
  auto* consume_cmd = app.add_subcommand("consume", "print messages and commit them");
  consume_cmd->add_option("topic", co.topic, "topic")->required();
  auto* group_opt = consume_cmd->add_option(
      "--group,-g", co.group,
      "consumer group (commits what it prints); without one the topic is read from "
      "--offset / --from-time / --from-beginning / the end and nothing is committed");
  cli::read_options ro;
  consume_cmd->add_option("--partition", ro.partition, "without --group: only this partition")
      ->excludes(group_opt);
  auto* offset_opt =
      consume_cmd->add_option("--offset", ro.offset, "without --group: start at this offset")
          ->check(CLI::NonNegativeNumber)
          ->excludes(group_opt);
  consume_cmd
      ->add_option("--from-time", ro.from_time,
                   "without --group: start at the first message at or after this time (RFC "
                   "3339 or ms since the epoch)")
      ->excludes(group_opt)
      ->excludes(offset_opt);
  consume_cmd->add_flag("--from-beginning", co.from_beginning,
                        "start at the earliest offset when the group has no committed offset");
  consume_cmd->add_option("--max-messages", co.max_messages, "exit after N messages")
      ->check(CLI::NonNegativeNumber);
  consume_cmd->add_option("--timeout-ms", co.timeout_ms, "exit after T ms without a message")
      ->check(CLI::NonNegativeNumber);
  consume_cmd
      ->add_option("--format", co.format,
                   "%k key, %v value, %p partition, %o offset, %t timestamp, %T topic, %i message "
                   "id, %h headers")
      ->capture_default_str();
  consume_cmd->add_option("--fail-pattern", co.fail_pattern,
                          "nack messages whose value matches REGEX (retried after the backoff)");
  consume_cmd->add_option("--reject-pattern", co.reject_pattern,
                          "reject messages whose value matches REGEX (dead-lettered at once)");

  // group
  auto* group =
      app.add_subcommand("group", "list, describe and delete consumer groups, reset their offsets");
  group->require_subcommand(1);
  std::string group_name;
  auto* g_list = group->add_subcommand("list", "list groups");
  auto* g_describe = group->add_subcommand("describe", "members, assignment, offsets, lag");
  g_describe->add_option("group", group_name, "group name")->required();
  auto* g_delete = group->add_subcommand(
      "delete", "delete a group without live members: its committed offsets are forgotten");
  g_delete->add_option("group", group_name, "group name")->required();
  auto run_group_reset = cli::add_group_reset_command(*group);

  auto* info_cmd = app.add_subcommand("info", "show the broker's info");
  auto run_dlq = cli::add_dlq_commands(app);
  auto run_txn = cli::add_txn_commands(app);
  auto run_cluster = cli::add_cluster_commands(app);
  auto run_inspect = cli::add_inspect_commands(app, g_stop);
  auto run_message = cli::add_message_commands(app, g_stop);
  auto run_backlog = cli::add_backlog_commands(app, g_stop);

  CLI11_PARSE(app, argc, argv);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  if (t_create->parsed()) {
    client::topic_config cfg;
    cfg.partitions = partitions;
    cfg.retention_ms = retention_ms;
    cfg.max_messages = max_messages;
    cfg.when_full = full_policy == "dead-letter-oldest" ? client::full_policy::dead_letter_oldest
                    : full_policy == "reject-new"       ? client::full_policy::reject_new
                                                        : client::full_policy::broker_default;
    cfg.ttl_ms = ttl_ms;
    cfg.replication_factor = replication_factor;
    cfg.producer_byte_rate = byte_rate;
    cfg.producer_message_rate = message_rate;
    return topic_create(broker, topic_name, cfg);
  }
  if (t_list->parsed()) return topic_list(broker, verbose, internal_topics);
  if (t_describe->parsed()) return topic_describe(broker, topic_name);
  if (t_delete->parsed()) return topic_delete(broker, topic_name);
  if (t_alter->parsed()) {
    return topic_alter(broker, topic_name, total_partitions, byte_rate, message_rate);
  }
  if (produce_cmd->parsed()) return produce(broker, po);
  if (consume_cmd->parsed() && co.group.empty()) {
    ro.topic = co.topic;
    ro.from_beginning = co.from_beginning;
    ro.max_messages = co.max_messages;
    ro.timeout_ms = co.timeout_ms;
    ro.format = co.format;
    if (!co.fail_pattern.empty() || !co.reject_pattern.empty()) {
      return fail("--fail-pattern and --reject-pattern need --group");
    }
    return cli::read_without_group(broker, ro, g_stop);
  }
  if (consume_cmd->parsed()) return consume(broker, co);
  if (g_list->parsed()) return group_list(broker);
  if (g_describe->parsed()) return group_describe(broker, group_name);
  if (g_delete->parsed()) return group_delete(broker, group_name);
  if (int rc = run_group_reset(broker); rc >= 0) return rc;
  if (info_cmd->parsed()) return broker_info(broker);
  if (int rc = run_dlq(broker); rc >= 0) return rc;
  if (int rc = run_txn(broker); rc >= 0) return rc;
  if (int rc = run_cluster(broker); rc >= 0) return rc;
  if (int rc = run_inspect(broker); rc >= 0) return rc;
  if (int rc = run_message(broker); rc >= 0) return rc;
  if (int rc = run_backlog(broker); rc >= 0) return rc;
  return fail("no command given (see --help)");
}
