#include "actormq/client/admin.h"

#include <set>
#include <thread>

#include "cluster_router.h"
#include "connection_impl.h"
#include "coordinator_call.h"

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
  out.replication_factor = c.getReplicationFactor();
  out.producer_byte_rate = c.getProducerByteRate();
  out.producer_message_rate = c.getProducerMessageRate();
  return out;
}

topic_info from_rpc(rpc::TopicInfo::Reader t) {
  topic_info out;
  out.name = t.getName();
  out.config = from_rpc(t.getConfig());
  for (auto p : t.getPartitions()) {
    out.partitions.push_back({p.getPartition(), p.getLogStartOffset(), p.getHighWatermark(),
                              p.getSizeBytes(),
                              p.hasError() ? detail::error_from_rpc(p.getError()) : error{}});
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

/// A reply carrying an Error that may name the right broker.
struct routed_reply {
  error err;
  detail::leader_hint hint;
};

template <typename Response>
routed_reply routed_error(Response&& r) {
  return {error_from_rpc(r.getError()), detail::hint_from_rpc(r.getError())};
}

/// Runs a topic change on the controller. On notController (or a
/// controller that cannot be reached) it follows the hint or asks for
/// metadata again, and tries twice more.
template <typename Make>
result<void> on_controller(detail::connection_impl& ci, Make make) {
  auto& router = ci.router();
  error last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
    auto where = router.controller_address();
    if (!where) return where.err();
    auto r = ci.call_sync_at<routed_reply>(*where, make);
    last = r ? r->err : r.err();
    if (!last) return {};
    if (detail::is_not_controller(last)) {
      if (r->hint.id >= 0) {
        router.apply_controller_hint(r->hint);
        continue;
      }
    } else if (!detail::is_connection_error(last)) {
      return last;
    }
    (void)router.fetch_metadata({});
  }
  return last;
}

using detail::on_coordinator;

/// A metadata request needs a topic list; an empty one means every topic.
/// list_groups only wants the brokers, so it names one topic (that need not
/// exist: it comes back as unknown).
constexpr const char* group_list_probe_topic = "__consumer_offsets";

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
  return on_controller(conn_->impl(), [name, cfg](rpc::Broker::Client& c) {
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
    tc.setReplicationFactor(cfg.replication_factor);
    tc.setProducerByteRate(cfg.producer_byte_rate);
    tc.setProducerMessageRate(cfg.producer_message_rate);
    return req.send().then([](auto&& resp) { return routed_error(resp); });
  });
}

result<void> admin::delete_topic(const std::string& name) {
  return on_controller(conn_->impl(), [name](rpc::Broker::Client& c) {
    auto req = c.deleteTopicRequest();
    req.setName(name);
    return req.send().then([](auto&& resp) { return routed_error(resp); });
  });
}

result<std::vector<topic_info>> admin::list_topics(bool include_internal) {
  return conn_->impl().call_sync<std::vector<topic_info>>(
      [include_internal](rpc::Broker::Client& c) {
        return c.listTopicsRequest().send().then([include_internal](auto&& resp) {
          std::vector<topic_info> out;
          for (auto t : resp.getTopics()) {
            if (!include_internal && is_internal_topic(t.getName().cStr())) continue;
            out.push_back(from_rpc(t));
          }
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
  return on_controller(conn_->impl(), [name, total_partitions](rpc::Broker::Client& c) {
    auto req = c.addPartitionsRequest();
    req.setName(name);
    req.setTotalPartitions(total_partitions);
    return req.send().then([](auto&& resp) { return routed_error(resp); });
  });
}

result<void> admin::set_topic_quota(const std::string& name, int64_t producer_byte_rate,
                                    int64_t producer_message_rate) {
  return on_controller(conn_->impl(), [name, producer_byte_rate,
                                       producer_message_rate](rpc::Broker::Client& c) {
    auto req = c.setTopicQuotaRequest();
    req.setName(name);
    req.setProducerByteRate(producer_byte_rate);
    req.setProducerMessageRate(producer_message_rate);
    return req.send().then([](auto&& resp) { return routed_error(resp); });
  });
}

result<std::string> admin::inspect(bool cluster) {
  using R = std::pair<std::string, error>;
  auto r = conn_->impl().call_sync<R>([cluster](rpc::Broker::Client& c) {
    auto req = c.inspectRequest();
    req.setCluster(cluster);
    return req.send().then([](auto&& resp) {
      return R{std::string{resp.getJson().cStr()}, detail::error_from_rpc(resp.getError())};
    });
  });
  if (!r) return r.err();
  if (r->second) return r->second;
  return std::move(r->first);
}

result<std::vector<std::string>> admin::list_groups() {
  auto make = [](rpc::Broker::Client& c) {
    return c.listGroupsRequest().send().then([](auto&& resp) {
      std::vector<std::string> out;
      for (auto g : resp.getGroups()) out.emplace_back(g.cStr());
      return out;
    });
  };
  // Each broker lists the groups it coordinates: in a cluster ask every
  // live one (a broker that does not answer fails the call rather than
  // giving a partial list).
  auto md = conn_->impl().router().fetch_metadata({group_list_probe_topic});
  if (!md || md->cluster_id.empty() || md->brokers.size() <= 1) {
    return conn_->impl().call_sync<std::vector<std::string>>(make);
  }
  std::set<std::string> all;
  for (const auto& b : md->brokers) {
    if (!b.alive) continue;
    auto r = conn_->impl().call_sync_at<std::vector<std::string>>(b.address, make);
    if (!r) return r.err();
    all.insert(r->begin(), r->end());
  }
  return std::vector<std::string>(all.begin(), all.end());
}

result<coordinator_info> admin::find_coordinator(const std::string& group) {
  return find(group, false);
}

result<coordinator_info> admin::find_txn_coordinator(const std::string& producer_group) {
  return find(producer_group, true);
}

result<coordinator_info> admin::find(const std::string& group, bool transaction) {
  using R = std::pair<coordinator_info, error>;
  auto r = conn_->impl().call_sync<R>([group, transaction](rpc::Broker::Client& c) {
    auto req = c.findCoordinatorRequest();
    req.setGroup(group);
    if (transaction) req.setKind(rpc::CoordinatorKind::TRANSACTION);
    return req.send().then([](auto&& resp) {
      R out;
      out.second = error_from_rpc(resp.getError());
      out.first.broker_id = resp.getBrokerId();
      out.first.address = resp.getAddress();
      return out;
    });
  });
  if (!r) return r.err();
  if (r->second) return r->second;
  return std::move(r->first);
}

result<group_info> admin::describe_group(const std::string& group) {
  using R = std::pair<group_info, error>;
  auto r = on_coordinator<R>(
      conn_->impl(), group,
      [group](rpc::Broker::Client& c) {
        auto req = c.describeGroupRequest();
        req.setGroup(group);
        return req.send().then([](auto&& resp) {
          R out;
          out.second = error_from_rpc(resp.getError());
          if (!out.second) out.first = from_rpc(resp.getGroup());
          return out;
        });
      },
      [](const R& v) { return v.second; });
  if (!r) return r.err();
  if (r->second) return r->second;
  return std::move(r->first);
}

result<int64_t> admin::list_offsets(const topic_partition& tp, int64_t timestamp_ms) {
  struct R {
    int64_t offset = -1;
    routed_reply reply;
  };
  auto& ci = conn_->impl();
  auto max_age = std::chrono::milliseconds(30000);
  error last;
  // The leader answers; after notLeader (or a lost leader) once more at
  // the new one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto where = ci.router().leader_address(tp, max_age);
    if (!where) return where.err();
    auto r = ci.call_sync_at<R>(*where, [tp, timestamp_ms](rpc::Broker::Client& c) {
      auto req = c.listOffsetsRequest();
      req.setTopic(tp.topic);
      req.setPartition(tp.partition);
      req.setTimestampMs(timestamp_ms);
      return req.send().then([](auto&& resp) { return R{resp.getOffset(), routed_error(resp)}; });
    });
    last = r ? r->reply.err : r.err();
    if (!last) return r->offset;
    if (detail::is_not_leader(last)) {
      ci.router().apply_leader_hint(tp, r->reply.hint);
    } else if (detail::is_connection_error(last) || last.is(errc::unknown_topic) ||
               last.is(errc::unknown_partition)) {
      ci.router().invalidate(tp.topic);
      if (!detail::is_connection_error(last)) return last;
    } else {
      return last;
    }
  }
  return last;
}

result<std::vector<topic_partition_offset>> admin::fetch_offsets(
    const std::string& group, const std::vector<topic_partition>& partitions) {
  using R = std::pair<std::vector<topic_partition_offset>, error>;
  auto r = on_coordinator<R>(
      conn_->impl(), group,
      [group, partitions](rpc::Broker::Client& c) {
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
      },
      [](const R& v) { return v.second; });
  if (!r) return r.err();
  if (r->second) return r->second;
  return std::move(r->first);
}

result<void> admin::delete_group(const std::string& group) {
  struct reply {
    error err;
  };
  auto r = on_coordinator<reply>(
      conn_->impl(), group,
      [group](rpc::Broker::Client& c) {
        auto req = c.deleteGroupRequest();
        req.setGroup(group);
        return req.send().then([](auto&& resp) { return reply{error_from_rpc(resp.getError())}; });
      },
      [](const reply& v) { return v.err; });
  if (!r) return r.err();
  if (r->err) return r->err;
  return {};
}

result<void> admin::commit_offsets(const std::string& group,
                                   const std::vector<topic_partition_offset>& offsets) {
  struct reply {
    error err;
  };
  auto r = on_coordinator<reply>(
      conn_->impl(), group,
      [group, offsets](rpc::Broker::Client& c) {
        auto req = c.commitOffsetsRequest();
        req.setGroup(group);
        req.setMemberId("");  // standalone: only while the group has no members
        req.setGeneration(-1);
        auto list = req.initOffsets(static_cast<unsigned>(offsets.size()));
        for (size_t i = 0; i < offsets.size(); ++i) {
          auto o = list[static_cast<unsigned>(i)];
          o.setTopic(offsets[i].topic);
          o.setPartition(offsets[i].partition);
          o.setOffset(offsets[i].offset);
        }
        return req.send().then([](auto&& resp) { return reply{error_from_rpc(resp.getError())}; });
      },
      [](const reply& v) { return v.err; });
  if (!r) return r.err();
  if (r->err) return r->err;
  return {};
}

result<cluster_metadata> admin::metadata(const std::vector<std::string>& topics,
                                         bool include_internal) {
  auto m = conn_->impl().router().fetch_metadata(topics);
  if (m && topics.empty() && !include_internal) {
    std::erase_if(m->topics, [](const topic_metadata& t) { return is_internal_topic(t.name); });
  }
  return m;
}

}  // namespace actormq::client
