#include "app/broker/rpc_service.h"

#include <fmt/format.h>

#include <random>

#include "actors/errc.h"
#include "actors/session/session_actor.h"
#include "app/broker/cluster/controller.h"
#include "app/broker/cluster/producer_id_allocator.h"
#include "app/broker/logger.h"
#include "app/broker/rpc_helpers.h"
#include "storage/log_config.h"
#include "storage/record_batch.h"

namespace actormq::broker {

namespace {

topic_config to_config(rpc::TopicConfig::Reader r, const topic_config& defaults) {
  topic_config c = defaults;
  if (r.getPartitions() > 0) c.partitions = r.getPartitions();
  if (r.getRetentionMs() != -2) c.retention_ms = r.getRetentionMs();
  if (r.getRetentionBytes() != -2) c.retention_bytes = r.getRetentionBytes();
  if (r.getSegmentBytes() > 0) c.segment_bytes = r.getSegmentBytes();
  if (r.getSegmentMs() > 0) c.segment_ms = r.getSegmentMs();
  if (r.getFlushMessages() >= 0) c.flush_messages = r.getFlushMessages();
  if (r.getFlushMs() >= 0) c.flush_ms = r.getFlushMs();
  if (r.getMaxMessages() >= 0) c.max_messages = r.getMaxMessages();
  switch (r.getFullPolicy()) {
    case rpc::FullPolicy::BROKER_DEFAULT:
      break;
    case rpc::FullPolicy::REJECT_NEW:
      c.when_full = full_policy::reject_new;
      break;
    case rpc::FullPolicy::DEAD_LETTER_OLDEST:
      c.when_full = full_policy::dead_letter_oldest;
      break;
  }
  if (r.getTtlMs() >= 0) c.ttl_ms = r.getTtlMs();
  if (r.getReplicationFactor() > 0) c.replication_factor = r.getReplicationFactor();
  // A negative rate other than -1 is left for the registry to refuse.
  if (r.getProducerByteRate() != -1) c.producer_byte_rate = r.getProducerByteRate();
  if (r.getProducerMessageRate() != -1) c.producer_message_rate = r.getProducerMessageRate();
  return c;
}

void fill_config(rpc::TopicConfig::Builder b, const topic_config& c) {
  b.setPartitions(c.partitions);
  b.setRetentionMs(c.retention_ms);
  b.setRetentionBytes(c.retention_bytes);
  b.setSegmentBytes(c.segment_bytes);
  b.setSegmentMs(c.segment_ms);
  b.setFlushMessages(c.flush_messages);
  b.setFlushMs(c.flush_ms);
  b.setMaxMessages(c.max_messages);
  b.setFullPolicy(c.when_full == full_policy::dead_letter_oldest
                      ? rpc::FullPolicy::DEAD_LETTER_OLDEST
                      : rpc::FullPolicy::REJECT_NEW);
  b.setTtlMs(c.ttl_ms);
  b.setReplicationFactor(c.replication_factor);
  b.setProducerByteRate(c.producer_byte_rate);
  b.setProducerMessageRate(c.producer_message_rate);
}

}  // namespace

void fill_topic(rpc::TopicInfo::Builder b, const topic_description& t) {
  b.setName(t.name);
  fill_config(b.initConfig(), t.config);
  auto ps = b.initPartitions(static_cast<unsigned>(t.partitions.size()));
  for (size_t i = 0; i < t.partitions.size(); ++i) {
    ps[i].setPartition(static_cast<uint32_t>(i));
    ps[i].setLogStartOffset(t.partitions[i].log_start_offset);
    ps[i].setHighWatermark(t.partitions[i].high_watermark);
    ps[i].setSizeBytes(t.partitions[i].size_bytes);
    if (i < t.unavailable.size() && t.unavailable[i]) {
      set_error(ps[i].initError(), t.unavailable[i]);
    }
  }
}

namespace {

template <typename B>
void fill_assignment(B b, const std::vector<group::topic_partition>& tps) {
  auto list = b.initAssignment(static_cast<unsigned>(tps.size()));
  for (size_t i = 0; i < tps.size(); ++i) {
    list[i].setTopic(tps[i].topic);
    list[i].setPartition(static_cast<uint32_t>(tps[i].partition));
  }
}

/// The largest single record in a batch, or an error text if it does not parse.
std::optional<std::string> check_record_sizes(std::span<const uint8_t> batch, uint64_t max) {
  std::optional<std::string> err;
  auto st = storage::for_each_batch(batch, [&](const storage::batch_header&, auto b) {
    (void)storage::for_each_record(b, [&](const storage::record_view& r) {
      uint64_t n = (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
      for (const auto& h : r.headers) n += h.key.size() + (h.value ? h.value->size() : 0);
      if (n > max && !err) {
        err = fmt::format("record at offset delta {} has {} bytes; the limit is {}",
                          r.record_offset(), n, max);
      }
    });
  });
  (void)st;
  return err;
}

}  // namespace

std::string stream_registry::add(rpc_service* s) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string token(16, '\0');
  for (size_t i = 0; i < 16; i += 8) {
    uint64_t v = rng();
    std::memcpy(token.data() + i, &v, 8);
  }
  sessions_[token] = s;
  return token;
}

rpc_service::rpc_service(const service_context& ctx, std::string peer,
                         std::shared_ptr<connection_flow> flow)
    : ctx_(ctx), peer_(std::move(peer)), flow_(std::move(flow)) {
  session_settings ss;
  ss.registry = caf::actor_cast<topic_registry_actor>(ctx_.registry);
  ss.coordinator = caf::actor_cast<group_coordinator_actor>(ctx_.coordinator);
  ss.delay = caf::actor_cast<delay_actor>(ctx_.delay);
  ss.retry = caf::actor_cast<retry_actor>(ctx_.retry);
  ss.txn = caf::actor_cast<txn_coordinator_actor>(ctx_.txn);
  ss.peer = peer_;
  ss.quota_burst = std::chrono::milliseconds(ctx_.config->quota_burst_ms);
  ss.quota_max_delay = std::chrono::milliseconds(ctx_.config->quota_max_delay_ms);
  ss.quota_max_held_bytes = ctx_.config->quota_max_held_bytes;
  session_ = spawn_session(*ctx_.system, std::move(ss));
  enlist(ctx_.directory, session_, "session/" + peer_, "session");
  if (ctx_.rpc_stats) ctx_.rpc_stats->connection_opened();
  broker_log().debug("session {}: connected", peer_);
}

fetch_stream* rpc_service::usable_stream() {
  KJ_IF_MAYBE (s, stream_) {
    if (!(*s)->broken()) return s->get();
  }
  return nullptr;
}

void rpc_service::attach_stream(kj::Own<fetch_stream> stream) {
  stream_ = kj::mv(stream);
  for (auto& w : stream_waiters_) w->fulfill();
  stream_waiters_.clear();
}

rpc_service::~rpc_service() {
  if (!stream_token_.empty()) ctx_.streams->remove(stream_token_);
  caf::anon_send_exit(session_, caf::exit_reason::user_shutdown);
  broker_log().debug("session {}: closed", peer_);
  if (ctx_.rpc_stats) ctx_.rpc_stats->connection_closed();
}

capnp::Capability::Server::DispatchCallResult rpc_service::dispatchCall(
    uint64_t interface_id, uint16_t method_id,
    capnp::CallContext<capnp::AnyPointer, capnp::AnyPointer> context) {
  auto started = std::chrono::steady_clock::now();
  auto stats = ctx_.rpc_stats;
  if (!stats && !flow_) return rpc::Broker::Server::dispatchCall(interface_id, method_id, context);
  // Ends the call for the connection's flow when the call's promise goes:
  // answered, failed or cancelled by the client.
  struct call_token {
    std::shared_ptr<connection_flow> flow;
    uint64_t reserved;
    uint64_t reply_bytes = 0;
    call_token(std::shared_ptr<connection_flow> f, uint64_t r) : flow(std::move(f)), reserved(r) {
      if (flow) flow->call_started(reserved);
    }
    ~call_token() {
      if (flow) flow->call_ended(reply_bytes, reserved);
    }
  };
  // A fetch's reply may take up to its maximum bytes (64 MiB per partition,
  // as fetch() caps them), reserved until it is answered; at most a quarter
  // of the bound per call, so that one long poll alone never stops the
  // connection's other requests (heartbeats, commits) from being read.
  uint64_t reserved = 0;
  if (flow_ && interface_id == capnp::typeId<rpc::Broker>() && method_id == 10) {  // fetch @10
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() {
                   for (auto fp :
                        context.getParams().getAs<rpc::Broker::FetchParams>().getPartitions()) {
                     reserved += std::min<uint32_t>(fp.getMaxBytes(), 64u << 20);
                   }
                 })) {
      reserved = 0;  // a malformed request fails in fetch() itself
    }
    reserved = std::min<uint64_t>(reserved, ctx_.config->max_unwritten_reply_bytes / 4);
  }
  auto token = kj::heap<call_token>(flow_, reserved);
  auto result = rpc::Broker::Server::dispatchCall(interface_id, method_id, context);
  result.promise =
      result.promise
          .then(
              [stats, method_id, started, context, t = token.get()]() mutable {
                if (stats) {
                  stats->on_call(method_id, std::chrono::steady_clock::now() - started, false);
                }
                // The reply's message, which waits in Cap'n Proto's
                // queue until the socket takes it.
                if (t->flow) {
                  t->reply_bytes = context.getResults().asReader().targetSize().wordCount * 8;
                }
              },
              [stats, method_id, started](kj::Exception&& e) {
                if (stats) {
                  stats->on_call(method_id, std::chrono::steady_clock::now() - started, true);
                }
                kj::throwFatalException(kj::mv(e));
              })
          .attach(kj::mv(token));
  return result;
}

kj::Promise<void> rpc_service::info(InfoContext ctx) {
  auto i = ctx.getResults().initInfo();
  i.setVersion("0.1.0");
  i.setBrokerId(ctx_.broker_id);
  i.setMaxBatchBytes(ctx_.config->max_batch_bytes);
  i.setMaxMessageBytes(ctx_.config->max_message_bytes);
  i.setStreamPort(ctx_.stream_port);
  return kj::READY_NOW;
}

kj::Promise<void> rpc_service::createTopic(CreateTopicContext ctx) {
  auto p = ctx.getParams();
  auto name = text(p.getName());
  auto cfg = to_config(p.getConfig(), ctx_.config->topic_defaults);
  if (ctx_.cluster != nullptr) {
    return through_controller([name, cfg](controller& c) { return c.create_topic(name, cfg); })
        .then([ctx](std::optional<redirect> r) mutable {
          if (r) fill_redirect(ctx.getResults().initError(), *r);
        });
  }
  if (cfg.replication_factor > 1) {
    set_error(ctx.getResults().initError(), errc::invalid_topic,
              "replication factor " + std::to_string(cfg.replication_factor) +
                  " needs a cluster of at least as many brokers; this broker runs alone");
    return kj::READY_NOW;
  }
  return call<bool>(session_, [name, cfg](session_state& s,
                                          done_fn<bool> d) { s.create_topic(name, cfg, d); })
      .then([ctx](caf::expected<bool> r) mutable {
        if (!r) set_error(ctx.getResults().initError(), r.error());
      });
}

kj::Promise<void> rpc_service::deleteTopic(DeleteTopicContext ctx) {
  auto name = text(ctx.getParams().getName());
  if (ctx_.cluster != nullptr) {
    return through_controller([name](controller& c) { return c.delete_topic(name); })
        .then([ctx](std::optional<redirect> r) mutable {
          if (r) fill_redirect(ctx.getResults().initError(), *r);
        });
  }
  return call<bool>(session_,
                    [name](session_state& s, done_fn<bool> d) { s.delete_topic(name, d); })
      .then([ctx](caf::expected<bool> r) mutable {
        if (!r) set_error(ctx.getResults().initError(), r.error());
      });
}

kj::Promise<void> rpc_service::setTopicQuota(SetTopicQuotaContext ctx) {
  auto p = ctx.getParams();
  auto name = text(p.getName());
  int64_t bytes = p.getProducerByteRate();
  int64_t messages = p.getProducerMessageRate();
  if (ctx_.cluster != nullptr) {
    return through_controller([name, bytes, messages](controller& c) {
             return c.set_quota(name, bytes, messages);
           })
        .then([ctx](std::optional<redirect> r) mutable {
          if (r) fill_redirect(ctx.getResults().initError(), *r);
        });
  }
  return call<bool>(session_,
                    [name, bytes, messages](session_state& s, done_fn<bool> d) {
                      s.set_quota(name, bytes, messages, d);
                    })
      .then([ctx](caf::expected<bool> r) mutable {
        if (!r) set_error(ctx.getResults().initError(), r.error());
      });
}

kj::Promise<void> rpc_service::addPartitions(AddPartitionsContext ctx) {
  auto name = text(ctx.getParams().getName());
  auto n = ctx.getParams().getTotalPartitions();
  if (ctx_.cluster != nullptr) {
    return through_controller([name, n](controller& c) { return c.add_partitions(name, n); })
        .then([ctx](std::optional<redirect> r) mutable {
          if (r) fill_redirect(ctx.getResults().initError(), *r);
        });
  }
  return call<bool>(session_,
                    [name, n](session_state& s, done_fn<bool> d) { s.add_partitions(name, n, d); })
      .then([ctx](caf::expected<bool> r) mutable {
        if (!r) set_error(ctx.getResults().initError(), r.error());
      });
}

kj::Promise<void> rpc_service::listTopics(ListTopicsContext ctx) {
  return call<std::vector<topic_description>>(
             session_,
             [](session_state& s, done_fn<std::vector<topic_description>> d) { s.list_topics(d); })
      .then([ctx](caf::expected<std::vector<topic_description>> r) mutable {
        if (!r) KJ_FAIL_REQUIRE("listing topics failed", text_of(r.error()));
        auto list = ctx.getResults().initTopics(static_cast<unsigned>(r->size()));
        for (size_t i = 0; i < r->size(); ++i) fill_topic(list[i], (*r)[i]);
      });
}

kj::Promise<void> rpc_service::describeTopic(DescribeTopicContext ctx) {
  auto name = text(ctx.getParams().getName());
  if (ctx_.cluster != nullptr) {
    auto res = ctx.getResults();
    return describe_cluster_topic(name, res.initTopic(), res.initError());
  }
  return call<topic_description>(
             session_,
             [name](session_state& s, done_fn<topic_description> d) { s.describe_topic(name, d); })
      .then([ctx](caf::expected<topic_description> r) mutable {
        if (!r) return set_error(ctx.getResults().initError(), r.error());
        fill_topic(ctx.getResults().initTopic(), *r);
      });
}

kj::Promise<void> rpc_service::listGroups(ListGroupsContext ctx) {
  return call<std::vector<std::string>>(
             session_,
             [](session_state& s, done_fn<std::vector<std::string>> d) { s.list_groups(d); })
      .then([ctx](caf::expected<std::vector<std::string>> r) mutable {
        if (!r) KJ_FAIL_REQUIRE("listing groups failed", text_of(r.error()));
        auto list = ctx.getResults().initGroups(static_cast<unsigned>(r->size()));
        for (size_t i = 0; i < r->size(); ++i) list.set(static_cast<unsigned>(i), (*r)[i]);
      });
}

kj::Promise<void> rpc_service::describeGroup(DescribeGroupContext ctx) {
  auto name = text(ctx.getParams().getGroup());
  return call<group_info>(session_, [name](session_state& s,
                                           done_fn<group_info> d) { s.describe_group(name, d); })
      .then([ctx](caf::expected<group_info> r) mutable {
        if (!r) return set_error(ctx.getResults().initError(), r.error());
        auto g = ctx.getResults().initGroup();
        const auto& m = r->membership;
        g.setName(m.group_id);
        g.setGeneration(m.generation());
        g.setStrategy(m.protocol);
        auto members = g.initMembers(static_cast<unsigned>(m.members.size()));
        for (size_t i = 0; i < m.members.size(); ++i) {
          members[i].setMemberId(m.members[i].id);
          members[i].setClientId(m.members[i].client_id);
          fill_assignment(members[i], m.members[i].assigned);
        }
        auto parts = g.initPartitions(static_cast<unsigned>(r->partitions.size()));
        for (size_t i = 0; i < r->partitions.size(); ++i) {
          const auto& p = r->partitions[i];
          parts[i].setTopic(p.topic);
          parts[i].setPartition(static_cast<uint32_t>(p.partition));
          parts[i].setCommitted(p.committed);
          parts[i].setHighWatermark(p.high_watermark);
          parts[i].setLag(p.lag);
          parts[i].setMember(p.member);
        }
      });
}

kj::Promise<void> rpc_service::deleteGroup(DeleteGroupContext ctx) {
  auto name = text(ctx.getParams().getGroup());
  if (auto r = not_coordinated_here(name)) {
    fill_redirect(ctx.getResults().initError(), *r);
    return kj::READY_NOW;
  }
  return call<bool>(session_,
                    [name](session_state& s, done_fn<bool> d) { s.delete_group(name, d); })
      .then([ctx](caf::expected<bool> r) mutable {
        if (!r) set_error(ctx.getResults().initError(), r.error());
      });
}

kj::Promise<void> rpc_service::initProducer(InitProducerContext ctx) {
  if (ctx_.producer_ids != nullptr) {
    return ctx_.producer_ids->next().then([ctx](caf::expected<int64_t> r) mutable {
      auto res = ctx.getResults();
      if (!r) {
        res.setProducerId(-1);
        return set_error(res.initError(), r.error());
      }
      res.setProducerId(*r);
      res.setEpoch(0);
    });
  }
  return call<producer_identity>(
             session_, [](session_state& s, done_fn<producer_identity> d) { s.init_producer(d); })
      .then([ctx](caf::expected<producer_identity> r) mutable {
        auto res = ctx.getResults();
        if (!r) {
          res.setProducerId(-1);
          return set_error(res.initError(), r.error());
        }
        res.setProducerId(r->producer_id);
        res.setEpoch(r->epoch);
      });
}

kj::Promise<void> rpc_service::produce(ProduceContext ctx) {
  auto p = ctx.getParams();
  auto data = p.getBatch();
  auto results = ctx.getResults();
  const auto& cfg = *ctx_.config;
  if (data.size() == 0) {
    set_error(results.initError(), errc::invalid_batch, "empty batch");
    return kj::READY_NOW;
  }
  if (data.size() > cfg.max_batch_bytes) {
    set_error(results.initError(), errc::batch_too_large,
              fmt::format("batch of {} bytes exceeds the broker limit of {} bytes", data.size(),
                          cfg.max_batch_bytes));
    return kj::READY_NOW;
  }
  std::span<const uint8_t> bytes{data.begin(), data.size()};
  if (ctx_.rpc_stats) ctx_.rpc_stats->on_produce(bytes);
  if (data.size() > cfg.max_message_bytes) {
    if (auto err = check_record_sizes(bytes, cfg.max_message_bytes)) {
      set_error(results.initError(), errc::message_too_large, *err);
      return kj::READY_NOW;
    }
  }
  auto batch =
      std::make_shared<std::string>(reinterpret_cast<const char*>(data.begin()), data.size());
  auto topic = text(p.getTopic());
  auto partition = p.getPartition();
  if (auto r = not_led_here(topic, partition)) {
    fill_redirect(results.initError(), *r);
    return kj::READY_NOW;
  }
  auto acks = static_cast<acks_level>(p.getAcks());
  if (p.getAcks() > rpc::Acks::ALL) {
    set_error(results.initError(), errc::invalid_request, "unknown acks level");
    return kj::READY_NOW;
  }
  int64_t deliver_at = p.getDeliverAtMs();
  auto cls = delay::level_class(p.getDelayLevel());  // deliver_at without a level
  std::shared_ptr<const std::vector<int64_t>> dues;
  if (p.hasDeliverAtList() && p.getDeliverAtList().size() > 0) {
    auto list = p.getDeliverAtList();
    if (p.getDelayLevel() > 0 || p.getDeliverAtMs() != 0) {
      set_error(results.initError(), errc::invalid_request,
                "deliverAtList is given instead of deliverAtMs and delayLevel, not with them");
      return kj::READY_NOW;
    }
    if (auto n = storage::count_records(bytes); n != list.size()) {
      set_error(
          results.initError(), errc::invalid_request,
          fmt::format("deliverAtList has {} due times for a batch of {} records", list.size(), n));
      return kj::READY_NOW;
    }
    auto v = std::make_shared<std::vector<int64_t>>();
    v->reserve(list.size());
    for (auto at : list) v->push_back(at);
    deliver_at = *std::min_element(v->begin(), v->end());
    dues = std::move(v);
  } else if (p.getDelayLevel() > 0) {
    auto d = cfg.delay_levels.delay_of(p.getDelayLevel());
    if (!d) {
      set_error(results.initError(), errc::invalid_request,
                fmt::format("delay level {} does not exist (levels 1..{}: {})", p.getDelayLevel(),
                            cfg.delay_levels.size(), cfg.delay_levels.to_string()));
      return kj::READY_NOW;
    }
    deliver_at = storage::system_now()() + d->count();
  }
  if (dues || deliver_at > storage::system_now()()) {
    return call<schedule_reply>(session_,
                                [topic, partition, acks, deliver_at, cls, batch, dues](
                                    session_state& s, done_fn<schedule_reply> d) {
                                  s.produce_delayed(topic, partition, acks, deliver_at, cls, batch,
                                                    d, dues);
                                })
        .then([ctx](caf::expected<schedule_reply> r) mutable {
          auto res = ctx.getResults();
          if (!r) return set_error(res.initError(), r.error());
          res.setBaseOffset(-1);
          res.setLastOffset(-1);
          res.setScheduled(true);
          res.setDeliverAtMs(r->deliver_at_ms);
          res.setThrottledMs(r->throttled_ms);
        });
  }
  return call<produce_reply>(
             session_,
             [topic, partition, acks, batch](session_state& s, done_fn<produce_reply> d) {
               s.produce(topic, partition, acks, batch, d);
             })
      .then([ctx](caf::expected<produce_reply> r) mutable {
        auto res = ctx.getResults();
        if (!r) return set_error(res.initError(), r.error());
        res.setBaseOffset(r->base_offset);
        res.setLastOffset(r->last_offset);
        res.setDuplicate(r->duplicate);
        res.setThrottledMs(r->throttled_ms);
      });
}

kj::Promise<void> rpc_service::fetch(FetchContext ctx) {
  auto p = ctx.getParams();
  std::vector<fetch_item> items;
  uint64_t total = 0;
  for (auto fp : p.getPartitions()) {
    uint32_t max = std::min<uint32_t>(fp.getMaxBytes(), 64u << 20);
    total += max;
    items.push_back({text(fp.getTopic()), fp.getPartition(), fp.getOffset(), max});
  }
  if (items.size() > 10000 || total > (1ull << 30)) {
    KJ_FAIL_REQUIRE("fetch asks for too many partitions or bytes");
  }
  bool use_stream = p.getUseStream();
  if (use_stream && usable_stream() == nullptr) {
    KJ_REQUIRE(!stream_token_.empty(), "useStream set but this session never opened a stream");
    // The client connects the stream right after openStream (or again after
    // the last one broke); its token may still be in flight on the other
    // socket. Wait (bounded) for it.
    auto paf = kj::newPromiseAndFulfiller<void>();
    stream_waiters_.push_back(kj::mv(paf.fulfiller));
    return ctx_.timer->timeoutAfter(5 * kj::SECONDS, kj::mv(paf.promise))
        .then([this, ctx]() mutable { return fetch(ctx); });
  }
  auto wait = p.getMaxWaitMs();
  auto min_bytes = p.getMinBytes();
  // In a cluster, partitions led elsewhere are answered notLeader here and
  // the rest is fetched; results keep the request's order.
  auto all_items = std::make_shared<std::vector<fetch_item>>(std::move(items));
  auto moved = std::make_shared<std::vector<std::optional<redirect>>>(all_items->size());
  std::vector<fetch_item> local;
  for (size_t i = 0; i < all_items->size(); ++i) {
    auto& it = (*all_items)[i];
    (*moved)[i] = not_led_here(it.topic, it.partition);
    if (!(*moved)[i]) local.push_back(it);
  }
  if (local.size() < all_items->size()) wait = 0;  // the client must re-route now
  kj::Promise<caf::expected<std::vector<fetch_item_result>>> fetched =
      local.empty()
          ? kj::Promise<caf::expected<std::vector<fetch_item_result>>>(
                std::vector<fetch_item_result>{})
          : call<std::vector<fetch_item_result>>(
                session_, [local = std::move(local), wait, min_bytes](
                              session_state& s, done_fn<std::vector<fetch_item_result>> d) {
                  s.fetch(local, wait, min_bytes, d);
                });
  return fetched.then(
      [this, ctx, all_items, moved,
       use_stream](caf::expected<std::vector<fetch_item_result>> r) mutable -> kj::Promise<void> {
        if (!r) KJ_FAIL_REQUIRE("fetch failed", text_of(r.error()));
        auto list = ctx.getResults().initResults(static_cast<unsigned>(all_items->size()));
        std::vector<storage::read_slice> to_stream;
        size_t next_local = 0;
        for (size_t i = 0; i < all_items->size(); ++i) {
          auto b = list[static_cast<unsigned>(i)];
          b.setTopic((*all_items)[i].topic);
          b.setPartition((*all_items)[i].partition);
          if ((*moved)[i]) {
            fill_redirect(b.initError(), *(*moved)[i]);
            continue;
          }
          auto& res = (*r)[next_local++];
          b.setHighWatermark(res.high_watermark);
          b.setLogStartOffset(res.log_start_offset);
          if (res.error) {
            set_error(b.initError(), res.error);
            continue;
          }
          if (res.slice.length == 0) continue;
          if (use_stream) {
            b.setStreamBytes(res.slice.length);
            to_stream.push_back(res.slice);
            continue;
          }
          // Copying path: read the stored bytes straight into the reply.
          auto out = b.initRecords(static_cast<unsigned>(res.slice.length));
          auto st = res.slice.file->read_at(res.slice.position, {out.begin(), out.size()});
          if (!st) {
            b.initRecords(0);
            set_error(b.initError(), from_storage(st.error(), "read for fetch"));
          }
        }
        if (to_stream.empty()) return kj::READY_NOW;
        // The reply goes now and the bytes after it (fetch_stream.h: the
        // client reads them once it has the reply).
        auto* s = usable_stream();
        KJ_REQUIRE(s != nullptr, "fetch stream closed");  // it broke while the fetch waited
        s->send(std::move(to_stream));
        return kj::READY_NOW;
      });
}

kj::Promise<void> rpc_service::openStream(OpenStreamContext ctx) {
  auto res = ctx.getResults();
  if (ctx_.stream_port == 0) {
    set_error(res.initError(), errc::invalid_request, "the zero-copy fetch stream is disabled");
    return kj::READY_NOW;
  }
  if (stream_token_.empty()) stream_token_ = ctx_.streams->add(this);
  // A client asks again when its stream broke: the old one is retired now, so
  // the fetches after this call (which arrive after it) wait for the new
  // stream instead of writing to a socket the client gave up.
  stream_ = nullptr;
  res.setToken(capnp::Data::Reader(reinterpret_cast<const uint8_t*>(stream_token_.data()),
                                   stream_token_.size()));
  res.setPort(ctx_.stream_port);
  return kj::READY_NOW;
}

kj::Promise<void> rpc_service::listOffsets(ListOffsetsContext ctx) {
  auto p = ctx.getParams();
  auto topic = text(p.getTopic());
  auto partition = p.getPartition();
  if (auto r = not_led_here(topic, partition)) {
    fill_redirect(ctx.getResults().initError(), *r);
    return kj::READY_NOW;
  }
  auto ts = p.getTimestampMs();
  return call<int64_t>(session_,
                       [topic, partition, ts](session_state& s, done_fn<int64_t> d) {
                         s.list_offsets(topic, partition, ts, d);
                       })
      .then([ctx](caf::expected<int64_t> r) mutable {
        if (!r) return set_error(ctx.getResults().initError(), r.error());
        ctx.getResults().setOffset(*r);
      });
}

kj::Promise<void> rpc_service::joinGroup(JoinGroupContext ctx) {
  auto p = ctx.getParams();
  auto group_name = text(p.getGroup());
  if (auto r = not_coordinated_here(group_name)) {
    fill_redirect(ctx.getResults().initError(), *r);
    return kj::READY_NOW;
  }
  group::join_request req;
  req.id = text(p.getMemberId());
  req.client_id = text(p.getClientId());
  req.client_host = peer_;
  for (auto t : p.getTopics()) req.topics.push_back(text(t));
  req.session_timeout_ms = p.getSessionTimeoutMs();
  auto strategy = text(p.getStrategy());
  return call<group::join_result>(
             session_,
             [group_name, req, strategy](session_state& s, done_fn<group::join_result> d) {
               s.join_group(group_name, req, strategy, d);
             })
      .then([ctx, timeout = req.session_timeout_ms](caf::expected<group::join_result> r) mutable {
        auto res = ctx.getResults();
        if (!r) return set_error(res.initError(), r.error());
        auto j = res.initResult();
        j.setMemberId(r->id);
        j.setGeneration(r->assignment.generation());
        fill_assignment(j, r->assignment.assigned);
        j.setSessionTimeoutMs(static_cast<uint32_t>(timeout));
      });
}

kj::Promise<void> rpc_service::heartbeat(HeartbeatContext ctx) {
  auto p = ctx.getParams();
  auto group_name = text(p.getGroup());
  if (auto r = not_coordinated_here(group_name)) {
    fill_redirect(ctx.getResults().initError(), *r);
    return kj::READY_NOW;
  }
  auto member = text(p.getMemberId());
  auto gen = p.getGeneration();
  return call<group::heartbeat_result>(
             session_,
             [group_name, member, gen](session_state& s, done_fn<group::heartbeat_result> d) {
               s.heartbeat(group_name, member, gen, d);
             })
      .then([ctx, member](caf::expected<group::heartbeat_result> r) mutable {
        auto res = ctx.getResults();
        if (!r) return set_error(res.initError(), r.error());
        auto j = res.initResult();
        j.setMemberId(member);
        j.setGeneration(r->assignment.generation());
        fill_assignment(j, r->assignment.assigned);
      });
}

kj::Promise<void> rpc_service::leaveGroup(LeaveGroupContext ctx) {
  auto group_name = text(ctx.getParams().getGroup());
  if (auto r = not_coordinated_here(group_name)) {
    fill_redirect(ctx.getResults().initError(), *r);
    return kj::READY_NOW;
  }
  auto member = text(ctx.getParams().getMemberId());
  return call<bool>(session_,
                    [group_name, member](session_state& s, done_fn<bool> d) {
                      s.leave_group(group_name, member, d);
                    })
      .then([ctx](caf::expected<bool> r) mutable {
        if (!r) set_error(ctx.getResults().initError(), r.error());
      });
}

kj::Promise<void> rpc_service::commitOffsets(CommitOffsetsContext ctx) {
  auto p = ctx.getParams();
  auto group_name = text(p.getGroup());
  if (auto r = not_coordinated_here(group_name)) {
    fill_redirect(ctx.getResults().initError(), *r);
    return kj::READY_NOW;
  }
  auto member = text(p.getMemberId());
  auto gen = p.getGeneration();
  std::vector<committed_offset> offsets;
  for (auto o : p.getOffsets()) {
    offsets.push_back({text(o.getTopic()), static_cast<int32_t>(o.getPartition()), o.getOffset(),
                       text(o.getMetadata())});
  }
  return call<bool>(session_,
                    [group_name, member, gen, offsets](session_state& s, done_fn<bool> d) {
                      s.commit(group_name, member, gen, offsets, d);
                    })
      .then([ctx](caf::expected<bool> r) mutable {
        if (!r) set_error(ctx.getResults().initError(), r.error());
      });
}

kj::Promise<void> rpc_service::fetchOffsets(FetchOffsetsContext ctx) {
  auto p = ctx.getParams();
  auto group_name = text(p.getGroup());
  if (auto r = not_coordinated_here(group_name)) {
    fill_redirect(ctx.getResults().initError(), *r);
    return kj::READY_NOW;
  }
  std::vector<group::topic_partition> tps;
  for (auto tp : p.getPartitions()) {
    tps.push_back({text(tp.getTopic()), static_cast<int32_t>(tp.getPartition())});
  }
  return call<std::vector<committed_offset>>(
             session_,
             [group_name, tps](session_state& s, done_fn<std::vector<committed_offset>> d) {
               s.committed(group_name, tps, d);
             })
      .then([ctx](caf::expected<std::vector<committed_offset>> r) mutable {
        auto res = ctx.getResults();
        if (!r) return set_error(res.initError(), r.error());
        auto list = res.initOffsets(static_cast<unsigned>(r->size()));
        for (size_t i = 0; i < r->size(); ++i) {
          list[i].setTopic((*r)[i].topic);
          list[i].setPartition(static_cast<uint32_t>((*r)[i].partition));
          list[i].setOffset((*r)[i].offset);
          list[i].setMetadata((*r)[i].metadata);
        }
      });
}

}  // namespace actormq::broker
