#pragma once
// What the actor inspector learns of one actor and of one broker
// (docs/inspector.md). Every actor kind answers inspect_atom with an
// actor_report built by its state class; the INSPECTOR (actors/cluster/
// inspector_actor.h) gathers them into a broker_report per broker, and the
// HTTP endpoint, the web page, Prometheus and `actormq inspect` render those.
//
// Both types cross nodes (a broker answers for the whole cluster by asking
// its peers), so each has an inspect() overload and is announced by
// add_cluster_message_types.

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace actormq {

struct metric_label {
  std::string name;
  std::string value;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metric_label& x) {
  return f(caf::meta::type_name("metric_label"), x.name, x.value);
}

/// One Prometheus sample. Its type, help text and unit come from the
/// catalog (metric_catalog.h), keyed by name, never from the sender.
struct metric_sample {
  std::string name;
  std::vector<metric_label> labels;
  double value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metric_sample& x) {
  return f(caf::meta::type_name("metric_sample"), x.name, x.labels, x.value);
}

/// One actor, as it answered (or did not answer) an inspection.
struct actor_report {
  /// Where the actor sits in its broker's tree: "partition/orders/3",
  /// "group/billing", "session/7", "delay", ... (the directory's name).
  std::string path;
  /// partition, replica_fetcher, topic_registry, group, group_coordinator,
  /// session, txn_coordinator, delay_schedule, retry, flusher, node, peers,
  /// isr_writer, inspector.
  std::string kind;
  /// False when the actor did not answer in time (a stuck or overloaded
  /// actor: error says so); the rest is then empty.
  bool answered = true;
  std::string error;
  /// Messages waiting in its mailbox when it answered (behind the inspect).
  uint64_t mailbox = 0;
  /// Messages it has handled since it started, and per second over the
  /// last second or more.
  uint64_t handled = 0;
  double handled_per_s = 0;
  /// One line for the terminal view: "log 0..1234 hw 1234 isr 1,2,3".
  std::string summary;
  /// Its whole domain state, one JSON object (docs/inspector.md lists the
  /// fields of each kind).
  std::string state_json = "{}";
  /// What it contributes to /metrics.
  std::vector<metric_sample> metrics;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_report& x) {
  return f(caf::meta::type_name("actor_report"), x.path, x.kind, x.answered, x.error, x.mailbox,
           x.handled, x.handled_per_s, x.summary, x.state_json, x.metrics);
}

/// One broker: every actor it runs, and broker-wide samples (process CPU,
/// memory and descriptors; RPC counters and latency histograms).
struct broker_report {
  int32_t broker_id = 0;
  /// HOST:PORT of its RPC listener.
  std::string address;
  /// False when the broker could not be asked or did not answer in time.
  bool up = true;
  std::string error;
  /// Wall clock of the answer, ms since the epoch.
  int64_t taken_at_ms = 0;
  std::vector<actor_report> actors;
  std::vector<metric_sample> metrics;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, broker_report& x) {
  return f(caf::meta::type_name("broker_report"), x.broker_id, x.address, x.up, x.error,
           x.taken_at_ms, x.actors, x.metrics);
}

/// Adds a sample to a report's list.
inline void add_metric(std::vector<metric_sample>& out, std::string name,
                       std::vector<metric_label> labels, double value) {
  out.push_back({std::move(name), std::move(labels), value});
}

}  // namespace actormq
