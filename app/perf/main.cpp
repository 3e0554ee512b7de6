// actormq-perf: load generator for ActorMQ (like Kafka's producer/consumer
// perf tests), built on the client library. Every run is bounded by a message
// count and a wall-clock cap and prints one result line in the format of
// ../shared/bench (see bench/run_actormq.sh for the W1-W5 workloads):
//
//   actormq-perf produce --broker H:P --topic T --size 100 --count 1000000
//       [--producers N] [--batch-bytes B] [--linger-ms L] [--acks none|leader|fsync|all]
//       [--max-in-flight K] [--rate MSGS_PER_S] [--window W]
//   actormq-perf consume --broker H:P --topic T --count 1000000 [--stream]
//   actormq-perf latency --broker H:P --topic T --size 1024 --rate 10000 --seconds 20
//
// Shared flags: --seconds (cap, 30), --server-pid PID (CPU split and broker
// peak RSS from /proc), --label W1, --peer actormq, --tags "k=v ...",
// --partitions N (when the topic is created), --no-progress.

#include <CLI/CLI.hpp>

#include "runs.h"

namespace {

using namespace actormq::perf;

void add_common(CLI::App& app, common_options& o) {
  app.add_option("--broker", o.broker, "broker HOST:PORT");
  app.add_option("--topic", o.topic, "topic (created if missing)");
  app.add_option("--partitions", o.partitions, "partitions when the topic is created");
  app.add_option("--replication-factor", o.replication_factor,
                 "copies of each partition when the topic is created (a cluster)");
  app.add_option("--seconds", o.seconds, "wall-clock cap of the measured run");
  app.add_option("--server-pid", o.server_pid, "broker pid: CPU and peak RSS figures");
  app.add_option("--peer", o.peer, "peer= value of the result line");
  app.add_option("--label", o.label, "workload= value of the result line");
  app.add_option("--tags", o.tags, "text appended to the result line");
  app.add_flag("!--no-progress", o.progress, "no progress line on stderr");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"actormq-perf: bounded load runs against an ActorMQ broker"};
  app.require_subcommand(1);
  common_options common;
  produce_options prod;
  consume_options cons;
  latency_options lat;

  auto* p = app.add_subcommand("produce", "producer throughput (W1, W2, W5)");
  add_common(*p, common);
  p->add_option("--producers", prod.producers, "producers, one connection each");
  p->add_option("--size", prod.size, "payload bytes per message");
  p->add_option("--count", prod.count, "messages over all producers");
  p->add_option("--batch-bytes", prod.batch_bytes, "producer batch size");
  p->add_option("--linger-ms", prod.linger_ms, "producer linger");
  p->add_option("--acks", prod.acks, "none, leader, fsync or all");
  p->add_option("--max-in-flight", prod.max_in_flight,
                "full batches in flight per partition (default 5, the client's)");
  p->add_option("--idempotent", prod.idempotent, "idempotent producer (1/0)");
  p->add_option("--rate", prod.rate, "target msgs/s over all producers (0 = unthrottled)");
  p->add_option("--window", prod.window, "un-acked messages per producer (0 = buffer only)");
  p->add_option("--buffer-memory", prod.buffer_memory,
                "producer buffer_memory: record bytes un-acked before send() blocks");

  auto* c = app.add_subcommand("consume", "read stored messages back (W3)");
  add_common(*c, common);
  c->add_option("--count", cons.count, "messages to read");
  c->add_flag("--stream", cons.stream, "zero-copy fetch stream instead of RPC replies");
  c->add_option("--max-poll-records", cons.max_poll_records, "messages per poll");
  c->add_option("--fetch-max-bytes", cons.fetch_max_bytes, "bytes per partition per fetch");
  c->add_option("--group", cons.group, "consumer group (default: a fresh one)");
  c->add_option("--commit", cons.commit, "commit once at the end (1/0)");

  auto* l = app.add_subcommand("latency", "publish -> consume latency at a fixed rate (W4)");
  add_common(*l, common);
  l->add_option("--size", lat.size, "payload bytes per message (>= 16)");
  l->add_option("--rate", lat.rate, "msgs/s");
  l->add_option("--linger-ms", lat.linger_ms, "producer linger");
  l->add_option("--acks", lat.acks, "none, leader, fsync or all");
  l->add_option("--max-in-flight", lat.max_in_flight,
                "full batches in flight per partition (default 5, the client's)");
  l->add_option("--fetch-max-wait-ms", lat.fetch_max_wait_ms, "consumer long-poll wait");
  l->add_flag("--stream", lat.stream, "zero-copy fetch stream for the consumer");

  CLI11_PARSE(app, argc, argv);
  if (p->parsed()) return run_produce(common, prod);
  if (c->parsed()) return run_consume(common, cons);
  return run_latency(common, lat);
}
