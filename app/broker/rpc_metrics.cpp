#include "app/broker/rpc_metrics.h"

#include <capnp/schema.h>

#include "schema/actormq.capnp.h"
#include "storage/record_batch.h"

namespace actormq::broker {

namespace {

constexpr uint16_t produce_method = 9;  // Broker.produce @9
constexpr uint16_t fetch_method = 10;   // Broker.fetch @10

/// Method names by ordinal, from the schema itself.
const std::vector<std::string>& method_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (auto m : capnp::Schema::from<rpc::Broker>().getMethods()) {
      out.emplace_back(m.getProto().getName().cStr());
    }
    return out;
  }();
  return names;
}

}  // namespace

void rpc_metrics::on_call(uint16_t method, std::chrono::nanoseconds d, bool failed) {
  if (method >= max_methods) return;
  calls_[method].fetch_add(1, std::memory_order_relaxed);
  if (failed) errors_[method].fetch_add(1, std::memory_order_relaxed);
  if (method == produce_method) produce_latency_.observe(d);
  if (method == fetch_method) fetch_latency_.observe(d);
}

void rpc_metrics::on_produce(std::span<const uint8_t> batches) {
  produce_bytes_.fetch_add(batches.size(), std::memory_order_relaxed);
  produce_messages_.fetch_add(storage::count_records(batches), std::memory_order_relaxed);
}

void rpc_metrics::samples(std::vector<metric_sample>& out) const {
  const auto& names = method_names();
  for (size_t i = 0; i < names.size() && i < max_methods; ++i) {
    auto calls = calls_[i].load(std::memory_order_relaxed);
    auto errors = errors_[i].load(std::memory_order_relaxed);
    if (calls == 0) continue;
    add_metric(out, "actormq_rpc_requests_total", {{"method", names[i]}},
               static_cast<double>(calls));
    add_metric(out, "actormq_rpc_errors_total", {{"method", names[i]}},
               static_cast<double>(errors));
  }
  add_metric(out, "actormq_produce_requests_total", {},
             static_cast<double>(calls_[produce_method].load(std::memory_order_relaxed)));
  add_metric(out, "actormq_fetch_requests_total", {},
             static_cast<double>(calls_[fetch_method].load(std::memory_order_relaxed)));
  add_metric(out, "actormq_produce_bytes_total", {},
             static_cast<double>(produce_bytes_.load(std::memory_order_relaxed)));
  add_metric(out, "actormq_produce_messages_total", {},
             static_cast<double>(produce_messages_.load(std::memory_order_relaxed)));
  add_metric(out, "actormq_connections", {},
             static_cast<double>(connections_.load(std::memory_order_relaxed)));
  for (auto [reason, n] : {std::pair{"refused", &refused_}, std::pair{"evicted", &evicted_},
                           std::pair{"idle", &idle_closed_}}) {
    add_metric(out, "actormq_connections_closed_total", {{"reason", reason}},
               static_cast<double>(n->load(std::memory_order_relaxed)));
  }
  add_metric(out, "actormq_connections_paused", {},
             static_cast<double>(paused_.load(std::memory_order_relaxed)));
  add_metric(out, "actormq_connection_pauses_total", {},
             static_cast<double>(pauses_.load(std::memory_order_relaxed)));
  produce_latency_.samples("actormq_produce_latency_seconds", {}, out);
  fetch_latency_.samples("actormq_fetch_latency_seconds", {}, out);
}

}  // namespace actormq::broker
