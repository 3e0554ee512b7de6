#include "actors/cluster/cluster_node.h"

#include <caf/io/middleman.hpp>

#include "actors/group/group_actor.h"
#include "actors/logger.h"

namespace actormq {

namespace {

// CAF 0.17 serializes a type marked CAF_ALLOW_UNSAFE_MESSAGE_TYPE as nothing
// (data_processor skips it): such a type would arrive empty on the other
// node, without an error. group_actor.h is included so that a marking there
// (where vector<topic_partition> used to be marked) fails here.
template <class T>
constexpr bool crosses_nodes = !caf::allowed_unsafe_message_type<T>::value &&
                               !caf::allowed_unsafe_message_type<std::vector<T>>::value;
static_assert(crosses_nodes<topic_partition>);
static_assert(crosses_nodes<node_info>);
static_assert(crosses_nodes<partition_stats>);
static_assert(crosses_nodes<actor_report>);
static_assert(crosses_nodes<broker_report>);

}  // namespace

void add_cluster_message_types(caf::actor_system_config& cfg) {
  // add_message_type<T> also announces std::vector<T> (as "std::vector<name>").
  cfg.add_message_type<topic_partition>("actormq.topic_partition");
  cfg.add_message_type<node_info>("actormq.node_info");
  cfg.add_message_type<partition_stats>("actormq.partition_stats");
  cfg.add_message_type<epoch_entry>("actormq.epoch_entry");
  cfg.add_message_type<replica_fetch_request>("actormq.replica_fetch_request");
  cfg.add_message_type<replica_fetch_reply>("actormq.replica_fetch_reply");
  cfg.add_message_type<epoch_end>("actormq.epoch_end");
  cfg.add_message_type<remote_produce>("actormq.remote_produce");
  cfg.add_message_type<remote_produce_reply>("actormq.remote_produce_reply");
  cfg.add_message_type<metric_label>("actormq.metric_label");
  cfg.add_message_type<metric_sample>("actormq.metric_sample");
  cfg.add_message_type<actor_report>("actormq.actor_report");
  cfg.add_message_type<broker_report>("actormq.broker_report");
}

std::string app_identifier(const std::string& cluster_id) {
  return "actormq:" + cluster_id;
}

void configure_middleman(caf::actor_system_config& cfg, const cluster_settings& settings) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", settings.heartbeat_interval);
  cfg.set("middleman.connection-timeout", settings.connection_timeout);
  cfg.set("middleman.app-identifiers",
          std::vector<std::string>{app_identifier(settings.cluster_id)});
  add_cluster_message_types(cfg);
}

caf::expected<uint16_t> publish_node(caf::actor_system& sys, const node_actor& node,
                                     const std::string& host, uint16_t port) {
  auto bound = sys.middleman().publish(node, port, host.c_str(), true);
  if (!bound) {
    return make_error(errc::internal, "cannot publish the node actor on " + host + ":" +
                                          std::to_string(port) + ": " + sys.render(bound.error()));
  }
  actor_log().info("node: published on {}:{}", host, *bound);
  return *bound;
}

caf::error unpublish_node(caf::actor_system& sys, const node_actor& node, uint16_t port) {
  if (auto r = sys.middleman().unpublish(node, port); !r) return std::move(r.error());
  return caf::none;
}

}  // namespace actormq
