#include "actormq/client/admin.h"

#include "connection_impl.h"

namespace actormq::client {

namespace {

using detail::error_from_rpc;

topic_config from_rpc(rpc::TopicConfig::Reader c) {
  topic_config out;
  out.partitions = c.getPartitions();
  out.retention_ms = c.getRetentionMs();
  out.retention_bytes = c.getRetentionBytes();
  out.segment_bytes = c.getSegmentBytes();
  out.segment_ms = c.getSegmentMs();
  out.flush_messages = c.getFlushMessages();
  out.flush_ms = c.getFlushMs();
  out.max_messages = c.getMaxMessages();
  switch (c.getFullPolicy()) {
    case rpc::FullPolicy::BROKER_DEFAULT:
      out.when_full = full_policy::broker_default;
      break;
    case rpc::FullPolicy::REJECT_NEW:
      out.when_full = full_policy::reject_new;
      break;
    case rpc::FullPolicy::DEAD_LETTER_OLDEST:
      out.when_full = full_policy::dead_letter_oldest;
      break;
  }
  out.ttl_ms = c.getTtlMs();
  return out;
}

topic_info from_rpc(rpc::TopicInfo::Reader t) {
  topic_info out;
  out.name = t.getName();
  out.config = from_rpc(t.getConfig());
  for (auto p : t.getPartitions()) {
    out.partitions.push_back(
        {p.getPartition(), p.getLogStartOffset(), p.getHighWatermark(), p.getSizeBytes()});
  }
  return out;
}

topic_partition from_rpc(rpc::TopicPartition::Reader tp) {
  return {std::string(tp.getTopic().cStr()), tp.getPartition()};
}

group_info from_rpc(rpc::GroupInfo::Reader g) {
  group_info out;
  out.name = g.getName();
  out.generation = g.getGeneration();
  out.strategy = g.getStrategy();
  for (auto m : g.getMembers()) {
    member_info mi;
    mi.member_id = m.getMemberId();
    mi.client_id = m.getClientId();
    for (auto tp : m.getAssignment()) mi.assignment.push_back(from_rpc(tp));
    mi.last_heartbeat_ms_ago = m.getLastHeartbeatMsAgo();
    out.members.push_back(std::move(mi));
  }
  for (auto p : g.getPartitions()) {
    out.partitions.push_back({p.getTopic(), p.getPartition(), p.getCommitted(),
                              p.getHighWatermark(), p.getLag(), p.getMember()});
  }
  return out;
}

/// Replies carrying only an Error.
template <typename Response>
detail::status_reply only_error(Response&& r) {
  return {error_from_rpc(r.getError())};
}

result<void> to_result(result<detail::status_reply> r) {
  if (!r) return r.err();
  if (r->err) return r->err;
  return {};
}

}  // namespace

result<std::unique_ptr<admin>> admin::create(const connection_config& cfg) {
  auto c = connection::connect(cfg);
  if (!c) return c.err();
  return std::make_unique<admin>(std::move(*c));
}

admin::admin(std::shared_ptr<connection> conn) : conn_(std::move(conn)) {}

result<client::broker_info> admin::broker_info() {
  return conn_->broker_info();
}

result<void> admin::create_topic(const std::string& name, const topic_config& cfg) {
  auto r = conn_->impl().call_sync<detail::status_reply>([name, cfg](rpc::Broker::Client& c) {
    auto req = c.createTopicRequest();
    req.setName(name);
    auto tc = req.initConfig();
    tc.setPartitions(cfg.partitions);
    tc.setRetentionMs(cfg.retention_ms);
    tc.setRetentionBytes(cfg.retention_bytes);
    tc.setSegmentBytes(cfg.segment_bytes);
    tc.setSegmentMs(cfg.segment_ms);
    tc.setFlushMessages(cfg.flush_messages);
    tc.setFlushMs(cfg.flush_ms);
    tc.setMaxMessages(cfg.max_messages);
    tc.setFullPolicy(cfg.when_full == full_policy::reject_new ? rpc::FullPolicy::REJECT_NEW
                     : cfg.when_full == full_policy::dead_letter_oldest
                         ? rpc::FullPolicy::DEAD_LETTER_OLDEST
                         : rpc::FullPolicy::BROKER_DEFAULT);
    tc.setTtlMs(cfg.ttl_ms);
    return req.send().then([](auto&& resp) { return only_error(resp); });
  });
  return to_result(std::move(r));
}

result<void> admin::delete_topic(const std::string& name) {
  auto r = conn_->impl().call_sync<detail::status_reply>([name](rpc::Broker::Client& c) {
    auto req = c.deleteTopicRequest();
    req.setName(name);
    return req.send().then([](auto&& resp) { return only_error(resp); });
  });
  return to_result(std::move(r));
}

result<std::vector<topic_info>> admin::list_topics() {
  return conn_->impl().call_sync<std::vector<topic_info>>([](rpc::Broker::Client& c) {
    return c.listTopicsRequest().send().then([](auto&& resp) {
      std::vector<topic_info> out;
      for (auto t : resp.getTopics()) out.push_back(from_rpc(t));
      return out;
    });
  });
}

result<topic_info> admin::describe_topic(const std::string& name) {
  using R = std::pair<topic_info, error>;
  auto r = conn_->impl().call_sync<R>([name](rpc::Broker::Client& c) {
    auto req = c.describeTopicRequest();
    req.setName(name);
    return req.send().then([](auto&& resp) {
      R out;
      out.second = error_from_rpc(resp.getError());
      if (!out.second) out.first = from_rpc(resp.getTopic());
      return out;
    });
  });
  if (!r) return r.err();
  if (r->second) return r->second;
  return std::move(r->first);
}

result<void> admin::add_partitions(const std::string& name, uint32_t total_partitions) {
  auto r = conn_->impl().call_sync<detail::status_reply>(
      [name, total_partitions](rpc::Broker::Client& c) {
        auto req = c.addPartitionsRequest();
        req.setName(name);
        req.setTotalPartitions(total_partitions);
        return req.send().then([](auto&& resp) { return only_error(resp); });
      });
  return to_result(std::move(r));
}

result<std::vector<std::string>> admin::list_groups() {
  return conn_->impl().call_sync<std::vector<std::string>>([](rpc::Broker::Client& c) {
    return c.listGroupsRequest().send().then([](auto&& resp) {
      std::vector<std::string> out;
      for (auto g : resp.getGroups()) out.emplace_back(g.cStr());
      return out;
    });
  });
}

result<group_info> admin::describe_group(const std::string& group) {
  using R = std::pair<group_info, error>;
  auto r = conn_->impl().call_sync<R>([group](rpc::Broker::Client& c) {
    auto req = c.describeGroupRequest();
    req.setGroup(group);
    return req.send().then([](auto&& resp) {
      R out;
      out.second = error_from_rpc(resp.getError());
      if (!out.second) out.first = from_rpc(resp.getGroup());
      return out;
    });
  });
  if (!r) return r.err();
  if (r->second) return r->second;
  return std::move(r->first);
}

result<int64_t> admin::list_offsets(const topic_partition& tp, int64_t timestamp_ms) {
  using R = std::pair<int64_t, error>;
  auto r = conn_->impl().call_sync<R>([tp, timestamp_ms](rpc::Broker::Client& c) {
    auto req = c.listOffsetsRequest();
    req.setTopic(tp.topic);
    req.setPartition(tp.partition);
    req.setTimestampMs(timestamp_ms);
    return req.send().then([](auto&& resp) {
      return R{resp.getOffset(), error_from_rpc(resp.getError())};
    });
  });
  if (!r) return r.err();
  if (r->second) return r->second;
  return r->first;
}

result<std::vector<topic_partition_offset>> admin::fetch_offsets(
    const std::string& group, const std::vector<topic_partition>& partitions) {
  using R = std::pair<std::vector<topic_partition_offset>, error>;
  auto r = conn_->impl().call_sync<R>([group, partitions](rpc::Broker::Client& c) {
    auto req = c.fetchOffsetsRequest();
    req.setGroup(group);
    auto list = req.initPartitions(static_cast<unsigned>(partitions.size()));
    for (size_t i = 0; i < partitions.size(); ++i) {
      list[static_cast<unsigned>(i)].setTopic(partitions[i].topic);
      list[static_cast<unsigned>(i)].setPartition(partitions[i].partition);
    }
    return req.send().then([](auto&& resp) {
      R out;
      out.second = error_from_rpc(resp.getError());
      for (auto o : resp.getOffsets()) {
        out.first.push_back({o.getTopic(), o.getPartition(), o.getOffset()});
      }
      return out;
    });
  });
  if (!r) return r.err();
  if (r->second) return r->second;
  return std::move(r->first);
}

}  // namespace actormq::client
