#include "group_session.h"

#include <algorithm>
#include <future>
#include <thread>

#include "cluster_router.h"

namespace actormq::client::detail {

namespace {

using ms = std::chrono::milliseconds;
/// How long join() retries a coordinator that moved or is not there yet.
constexpr auto join_retry_window = std::chrono::seconds(15);

join_state from_rpc(rpc::JoinResult::Reader r) {
  join_state s;
  s.member_id = r.getMemberId();
  s.generation = r.getGeneration();
  for (auto tp : r.getAssignment()) s.assignment.push_back({tp.getTopic(), tp.getPartition()});
  std::sort(s.assignment.begin(), s.assignment.end());
  s.session_timeout_ms = r.getSessionTimeoutMs();
  return s;
}

/// The coordinator moved or went away: find it again next time.
bool coordinator_lost(const error& e) {
  return is_not_coordinator(e) || is_connection_error(e);
}

}  // namespace

struct group_session::loop_state {
  class errors final : public kj::TaskSet::ErrorHandler {
   public:
    void taskFailed(kj::Exception&&) override {}  // heartbeats retry on their own
  } errors;
  kj::TaskSet tasks{errors};
  bool heartbeating = false;
};

group_session::group_session(std::shared_ptr<connection> conn, const consumer_config& cfg)
    : conn_(std::move(conn)), cfg_(cfg) {}

result<void> group_session::subscribe(std::vector<std::string> topics) {
  std::lock_guard lk(mu_);
  if (closed_) return error(errc::closed, "consumer closed");
  topics_ = std::move(topics);
  subscribed_ = true;
  return {};
}

error group_session::check_usable() const {
  std::lock_guard lk(mu_);
  if (closed_) return error(errc::closed, "consumer closed");
  if (!subscribed_) return error(errc::not_subscribed);
  return {};
}

bool group_session::is_closed() const {
  std::lock_guard lk(mu_);
  return closed_;
}

std::optional<std::vector<topic_partition>> group_session::assignment_since(uint64_t& seen) const {
  std::lock_guard lk(mu_);
  if (version_ == seen) return std::nullopt;
  seen = version_;
  return group_.assignment;
}

int32_t group_session::generation() const {
  std::lock_guard lk(mu_);
  return group_.generation;
}

std::string group_session::member_id() const {
  std::lock_guard lk(mu_);
  return group_.member_id;
}

void group_session::adopt(const join_state& s) {
  std::lock_guard lk(mu_);
  if (!s.member_id.empty()) group_.member_id = s.member_id;
  if (s.session_timeout_ms > 0) group_.session_timeout_ms = s.session_timeout_ms;
  if (s.generation != group_.generation || s.assignment != group_.assignment) {
    group_.generation = s.generation;
    group_.assignment = s.assignment;
    ++version_;
  }
}

void group_session::forget_member() {
  std::lock_guard lk(mu_);
  group_.member_id.clear();
}

void group_session::rejoin_now(bool forget) {
  if (forget) forget_member();
  std::weak_ptr<group_session> weak = shared_from_this();
  conn_->impl().post([weak] {
    auto self = weak.lock();
    if (!self || !self->loop_ || self->is_closed()) return;
    self->loop_->tasks.add(self->heartbeat_once());
  });
}

// ---- loop thread ----

kj::Promise<void> group_session::join_on_loop(rpc::Broker::Client c) {
  auto req = c.joinGroupRequest();
  {
    std::lock_guard lk(mu_);
    req.setGroup(cfg_.group_id);
    req.setMemberId(group_.member_id);
    auto ts = req.initTopics(static_cast<unsigned>(topics_.size()));
    for (unsigned i = 0; i < topics_.size(); ++i) ts.set(i, topics_[i]);
  }
  req.setClientId(cfg_.connection.client_id);
  req.setSessionTimeoutMs(cfg_.session_timeout_ms);
  req.setStrategy(cfg_.strategy);
  std::weak_ptr<group_session> weak = shared_from_this();
  return req.send().then([weak](auto&& resp) {
    auto self = weak.lock();
    if (!self) return;
    auto err = error_from_rpc(resp.getError());
    if (err) {
      if (err.is(errc::unknown_member)) self->forget_member();
      if (is_not_coordinator(err)) self->router().forget_coordinator(self->cfg_.group_id);
      return;
    }
    self->adopt(from_rpc(resp.getResult()));
  });
}

kj::Promise<void> group_session::heartbeat_once() {
  std::string member;
  int32_t gen = 0;
  {
    std::lock_guard lk(mu_);
    if (!subscribed_ || closed_) return kj::READY_NOW;
    member = group_.member_id;
    gen = group_.generation;
  }
  auto& ci = conn_->impl();
  std::weak_ptr<group_session> weak = shared_from_this();
  auto p = router()
               .coordinator_client(cfg_.group_id)
               .then([weak, member, gen](rpc::Broker::Client c) -> kj::Promise<void> {
                 auto self = weak.lock();
                 if (!self) return kj::READY_NOW;
                 if (member.empty()) return self->join_on_loop(c);
                 auto req = c.heartbeatRequest();
                 req.setGroup(self->cfg_.group_id);
                 req.setMemberId(member);
                 req.setGeneration(gen);
                 return req.send().then([weak, c](auto&& resp) mutable -> kj::Promise<void> {
                   auto self = weak.lock();
                   if (!self) return kj::READY_NOW;
                   auto err = error_from_rpc(resp.getError());
                   if (!err) {
                     self->adopt(from_rpc(resp.getResult()));
                     return kj::READY_NOW;
                   }
                   if (err.is(errc::unknown_member) || err.is(errc::unknown_group)) {
                     self->forget_member();
                     return self->join_on_loop(c);
                   }
                   if (err.is(errc::stale_generation) || err.is(errc::rebalance_in_progress)) {
                     return self->join_on_loop(c);
                   }
                   if (is_not_coordinator(err))
                     self->router().forget_coordinator(self->cfg_.group_id);
                   return kj::READY_NOW;
                 });
               });
  // Connection trouble: find the coordinator again at the next beat.
  return ci.with_timeout<void>(kj::mv(p), ci.request_timeout()).catch_([weak](kj::Exception&&) {
    if (auto self = weak.lock()) self->router().forget_coordinator(self->cfg_.group_id);
  });
}

kj::Promise<void> group_session::heartbeat_loop() {
  uint32_t session;
  {
    std::lock_guard lk(mu_);
    session = group_.session_timeout_ms > 0 ? group_.session_timeout_ms : cfg_.session_timeout_ms;
  }
  auto interval = std::max<uint32_t>(session / 3, 10);
  std::weak_ptr<group_session> weak = shared_from_this();
  return conn_->impl()
      .timer()
      .afterDelay(interval * kj::MILLISECONDS)
      .then([weak]() -> kj::Promise<void> {
        auto self = weak.lock();
        if (!self) return kj::READY_NOW;
        return self->heartbeat_once();
      })
      .then([weak]() -> kj::Promise<void> {
        auto self = weak.lock();
        if (!self) return kj::READY_NOW;
        return self->heartbeat_loop();
      });
}

void group_session::start_heartbeat() {
  conn_->impl().post([this] {
    if (!loop_) loop_ = std::make_shared<loop_state>();
    if (loop_->heartbeating) return;
    loop_->heartbeating = true;
    loop_->tasks.add(heartbeat_loop());
  });
}

// ---- user thread ----

result<void> group_session::join() {
  error last;
  // Bounded by time, not attempts: a coordinator failover (a lease TTL and
  // the state partition's reload) takes seconds.
  const auto until = std::chrono::steady_clock::now() + join_retry_window;
  for (int attempt = 0; attempt == 0 || std::chrono::steady_clock::now() < until; ++attempt) {
    auto coordinator = router().coordinator(cfg_.group_id);
    if (!coordinator) {
      last = coordinator.err();
      if (!is_retriable(last.value())) break;
      std::this_thread::sleep_for(ms(100));
      continue;
    }
    auto r = conn_->impl().call_sync_at<std::pair<join_state, error>>(
        *coordinator, [self = shared_from_this()](rpc::Broker::Client& c) {
          auto req = c.joinGroupRequest();
          {
            std::lock_guard lk(self->mu_);
            req.setGroup(self->cfg_.group_id);
            req.setMemberId(self->group_.member_id);
            auto ts = req.initTopics(static_cast<unsigned>(self->topics_.size()));
            for (unsigned i = 0; i < self->topics_.size(); ++i) ts.set(i, self->topics_[i]);
          }
          req.setClientId(self->cfg_.connection.client_id);
          req.setSessionTimeoutMs(self->cfg_.session_timeout_ms);
          req.setStrategy(self->cfg_.strategy);
          return req.send().then([](auto&& resp) {
            auto err = error_from_rpc(resp.getError());
            return std::make_pair(err ? join_state{} : from_rpc(resp.getResult()), err);
          });
        });
    if (!r) {
      last = r.err();
    } else if (r->second) {
      last = r->second;
      if (last.is(errc::unknown_member)) forget_member();
    } else {
      adopt(r->first);
      return {};
    }
    bool moved = coordinator_lost(last);
    if (moved) router().forget_coordinator(cfg_.group_id);
    if (!moved && !last.is(errc::rebalance_in_progress) && !last.is(errc::unknown_member) &&
        !is_retriable(last.value())) {
      break;
    }
    std::this_thread::sleep_for(ms(100));
  }
  std::lock_guard lk(mu_);
  subscribed_ = false;
  return last;
}

void group_session::commit(const std::vector<topic_partition_offset>& offsets,
                           std::function<void(result<status_reply>)> done) {
  std::string member;
  int32_t gen;
  {
    std::lock_guard lk(mu_);
    member = group_.member_id;
    gen = group_.generation;
  }
  auto group_id = cfg_.group_id;
  auto coordinator = router().coordinator(group_id);
  if (!coordinator) {
    done(result<status_reply>(coordinator.err()));
    return;
  }
  std::weak_ptr<group_session> weak = shared_from_this();
  auto forget_if_moved = [weak, group_id, done = std::move(done)](result<status_reply> r) {
    auto err = r ? r->err : r.err();
    if (coordinator_lost(err)) {
      if (auto self = weak.lock()) self->router().forget_coordinator(group_id);
    }
    if (err.is(errc::unknown_member) || err.is(errc::stale_generation)) {
      if (auto self = weak.lock()) self->rejoin_now(err.is(errc::unknown_member));
    }
    done(std::move(r));
  };
  conn_->impl().call_at<status_reply>(
      *coordinator,
      [offsets, member, gen, group_id](rpc::Broker::Client& c) {
        auto req = c.commitOffsetsRequest();
        req.setGroup(group_id);
        req.setMemberId(member);
        req.setGeneration(gen);
        auto list = req.initOffsets(static_cast<unsigned>(offsets.size()));
        for (unsigned i = 0; i < offsets.size(); ++i) {
          list[i].setTopic(offsets[i].topic);
          list[i].setPartition(offsets[i].partition);
          list[i].setOffset(offsets[i].offset);
        }
        return req.send().then(
            [](auto&& resp) { return status_reply{error_from_rpc(resp.getError())}; });
      },
      std::function<void(result<status_reply>)>(std::move(forget_if_moved)));
}

result<void> group_session::nack(const std::vector<nack_record>& recs) {
  std::string member;
  int32_t gen;
  {
    std::lock_guard lk(mu_);
    if (closed_) return error(errc::closed, "consumer closed");
    member = group_.member_id;
    gen = group_.generation;
  }
  auto group_id = cfg_.group_id;
  auto coordinator = router().coordinator(group_id);
  if (!coordinator) return coordinator.err();
  auto r = conn_->impl().call_sync_at<status_reply>(
      *coordinator,
      [recs, member, gen, group_id](rpc::Broker::Client& c) {
        auto req = c.nackRequest();
        req.setGroup(group_id);
        req.setMemberId(member);
        req.setGeneration(gen);
        auto list = req.initRecords(static_cast<unsigned>(recs.size()));
        for (unsigned i = 0; i < recs.size(); ++i) {
          list[i].setTopic(recs[i].tp.topic);
          list[i].setPartition(recs[i].tp.partition);
          list[i].setOffset(recs[i].offset);
          list[i].setReject(recs[i].reject);
          list[i].setReason(recs[i].reason);
          list[i].setError(recs[i].error);
          list[i].setDeliveries(recs[i].deliveries);
        }
        return req.send().then(
            [](auto&& resp) { return status_reply{error_from_rpc(resp.getError())}; });
      },
      ms(60000));
  auto err = r ? r->err : r.err();
  if (coordinator_lost(err)) router().forget_coordinator(group_id);
  if (err) return err;
  return {};
}

result<void> group_session::close() {
  std::string member;
  {
    std::lock_guard lk(mu_);
    if (closed_) return {};
    closed_ = true;
    member = group_.member_id;
  }
  // The heartbeat's tasks end with the loop state, on the loop thread.
  conn_->impl().post([this] { loop_ = nullptr; });
  if (member.empty()) return {};
  auto group_id = cfg_.group_id;
  auto coordinator = router().coordinator(group_id);
  if (!coordinator) return coordinator.err();
  auto r = conn_->impl().call_sync_at<status_reply>(
      *coordinator, [group_id, member](rpc::Broker::Client& c) {
        auto req = c.leaveGroupRequest();
        req.setGroup(group_id);
        req.setMemberId(member);
        return req.send().then(
            [](auto&& resp) { return status_reply{error_from_rpc(resp.getError())}; });
      });
  if (!r) return r.err();
  if (r->err) return r->err;
  return {};
}

}  // namespace actormq::client::detail
