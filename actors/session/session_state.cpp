#include <fmt/format.h>

#include <atomic>

#include "actors/errc.h"
#include "actors/logger.h"
#include "actors/session/session_actor.h"
#include "storage/batch_split.h"
#include "storage/record_batch.h"

namespace actormq {

namespace {

/// Collects n results in order, then calls done once.
template <typename T>
struct gather {
  std::vector<T> results;
  size_t pending;
  std::function<void(std::vector<T>)> done;
  gather(size_t n, std::function<void(std::vector<T>)> d)
      : results(n), pending(n), done(std::move(d)) {}
  void set(size_t i, T v) {
    results[i] = std::move(v);
    if (--pending == 0) done(std::move(results));
  }
};

/// How often outstanding requests are checked against their deadline.
constexpr auto deadline_tick = std::chrono::milliseconds(500);

}  // namespace

void session_state::init(caf::event_based_actor* self, session_settings settings) {
  self_ = self;
  settings_ = std::move(settings);
}

session_state::~session_state() {
  // The connection is gone: leave groups now rather than after a session timeout.
  for (const auto& [group, member] : members_) {
    if (auto it = groups_.find(group); it != groups_.end()) {
      caf::anon_send(it->second, leave_atom::value, member);
    }
  }
}

request_deadlines::ticket session_state::deadline(std::function<void()> on_timeout) {
  return deadline(settings_.request_timeout, std::move(on_timeout));
}

request_deadlines::ticket session_state::deadline(caf::timespan timeout,
                                                  std::function<void()> on_timeout) {
  auto t = deadlines_.add(request_deadlines::clock::now() + timeout, std::move(on_timeout));
  if (!ticking_) {
    ticking_ = true;
    self_->delayed_send(self_, deadline_tick, tick_atom::value);
  }
  return t;
}

void session_state::tick() {
  if (auto n = deadlines_.expire(request_deadlines::clock::now()); n > 0) {
    actor_log().warn("session {}: {} requests got no answer by their deadline", settings_.peer, n);
  }
  ticking_ = !deadlines_.empty();
  if (ticking_) self_->delayed_send(self_, deadline_tick, tick_atom::value);
}

void session_state::with_topic(const std::string& name,
                               std::function<void(caf::expected<topic_handle>)> k) {
  topics_.with(self_, settings_.registry, name, std::move(k));
}

void session_state::with_topic(const std::string& name, uint32_t partition,
                               std::function<void(caf::expected<topic_handle>)> k) {
  topics_.with(self_, settings_.registry, name, std::move(k), partition);
}

void session_state::with_group(const std::string& name,
                               std::function<void(caf::expected<group_actor>)> k) {
  // In call order: a commit must not overtake an earlier one still waiting
  // for the group's lookup.
  if (group_lookups_.join(name, k)) return;
  if (auto it = groups_.find(name); it != groups_.end()) return k(it->second);
  if (auto why = invalid_topic_name(name, true)) {
    return k(make_error(errc::invalid_request, "group name: " + *why));
  }
  group_lookups_.start(name, std::move(k));
  self_->request(settings_.coordinator, group_timeout, group_atom::value, name)
      .then(
          [this, name](group_actor& g) {
            groups_[name] = g;
            group_lookups_.settle(name, g);
          },
          [this, name](caf::error& e) { group_lookups_.settle(name, std::move(e)); });
}

caf::error session_state::group_error(const std::string& name, const group_actor& g, caf::error e) {
  if (e.category() == errc_category) return e;
  // The GROUP actor is gone: its coordinator handed the group's state
  // partition over or reloaded it. The next request looks the group up anew.
  if (auto it = groups_.find(name); it != groups_.end() && it->second == g) groups_.erase(it);
  return make_error(
      errc::not_coordinator,
      fmt::format("group '{}' moved ({}); find its coordinator again", name, text_of(e)));
}

// --- admin ---

void session_state::create_topic(const std::string& name, topic_config cfg, done_fn<bool> done) {
  self_->request(settings_.registry, settings_.request_timeout, create_atom::value, name, cfg)
      .then([done](topic_handle&) { done(true); }, [done](caf::error& e) { done(std::move(e)); });
}

void session_state::delete_topic(const std::string& name, done_fn<bool> done) {
  forget_topic(name);
  self_->request(settings_.registry, settings_.request_timeout, delete_atom::value, name)
      .then([done](bool ok) { done(ok); }, [done](caf::error& e) { done(std::move(e)); });
}

void session_state::add_partitions(const std::string& name, uint32_t total, done_fn<bool> done) {
  self_->request(settings_.registry, settings_.request_timeout, grow_atom::value, name, total)
      .then(
          [this, name, done](topic_handle& h) {
            topics_.put(name, h);
            done(true);
          },
          [done](caf::error& e) { done(std::move(e)); });
}

void session_state::set_quota(const std::string& name, int64_t byte_rate, int64_t message_rate,
                              done_fn<bool> done) {
  self_
      ->request(settings_.registry, settings_.request_timeout, quota_atom::value, name, byte_rate,
                message_rate)
      .then([done](topic_handle&) { done(true); }, [done](caf::error& e) { done(std::move(e)); });
}

void session_state::describe_handles(std::vector<topic_handle> handles,
                                     done_fn<std::vector<topic_description>> done) {
  size_t total = 0;
  for (const auto& h : handles) total += h.partitions.size();
  std::vector<topic_description> out;
  for (const auto& h : handles) {
    out.push_back({h.name, h.config, std::vector<partition_offsets>(h.partitions.size()),
                   std::vector<caf::error>(h.partitions.size())});
  }
  if (total == 0) return done(std::move(out));
  auto shared = std::make_shared<std::vector<topic_description>>(std::move(out));
  auto g = std::make_shared<gather<caf::error>>(
      total, [shared, done](std::vector<caf::error>) { done(std::move(*shared)); });
  size_t i = 0;
  for (size_t t = 0; t < handles.size(); ++t) {
    for (size_t p = 0; p < handles[t].partitions.size(); ++p, ++i) {
      self_->request(handles[t].partitions[p], settings_.request_timeout, offsets_atom::value)
          .then(
              [shared, g, t, p, i](partition_offsets& o) {
                (*shared)[t].partitions[p] = o;
                g->set(i, caf::error{});
              },
              [this, shared, g, t, p, i](caf::error& e) {
                if (e.category() != errc_category) topics_.forget((*shared)[t].name);
                (*shared)[t].unavailable[p] = e;
                g->set(i, std::move(e));
              });
    }
  }
}

void session_state::describe_topic(const std::string& name, done_fn<topic_description> done) {
  self_->request(settings_.registry, settings_.request_timeout, lookup_atom::value, name)
      .then(
          [this, name, done](topic_handle& h) {
            topics_.put(name, h);
            describe_handles({h}, [done](caf::expected<std::vector<topic_description>> r) {
              if (!r) return done(r.error());
              done(std::move(r->front()));
            });
          },
          [done](caf::error& e) { done(std::move(e)); });
}

void session_state::list_topics(done_fn<std::vector<topic_description>> done) {
  self_->request(settings_.registry, settings_.request_timeout, list_atom::value)
      .then([this, done](std::vector<topic_handle>& hs) { describe_handles(std::move(hs), done); },
            [done](caf::error& e) { done(std::move(e)); });
}

void session_state::list_groups(done_fn<std::vector<std::string>> done) {
  self_->request(settings_.coordinator, group_timeout, list_atom::value)
      .then([done](std::vector<std::string>& gs) { done(std::move(gs)); },
            [done](caf::error& e) { done(std::move(e)); });
}

void session_state::describe_group(const std::string& group, done_fn<group_info> done) {
  with_group(group, [this, done](caf::expected<group_actor> g) {
    if (!g) return done(g.error());
    self_->request(*g, group_timeout, describe_atom::value)
        .then([done](group_info& info) { done(std::move(info)); },
              [done](caf::error& e) { done(std::move(e)); });
  });
}

void session_state::delete_group(const std::string& group, done_fn<bool> done) {
  groups_.erase(group);  // its actor quits with the delete
  self_->request(settings_.coordinator, group_timeout, delete_atom::value, group)
      .then([done](bool ok) { done(ok); }, [done](caf::error& e) { done(std::move(e)); });
}

// --- produce / fetch ---

void session_state::init_producer(done_fn<producer_identity> done) {
  self_->request(settings_.registry, settings_.request_timeout, pid_atom::value)
      .then([done](producer_identity& id) { done(id); },
            [done](caf::error& e) { done(std::move(e)); });
}

void session_state::produce(const std::string& topic, uint32_t partition, acks_level acks,
                            std::shared_ptr<std::string> batch, done_fn<produce_reply> done) {
  with_topic(topic, partition, [=, this](caf::expected<topic_handle> h) {
    if (!h) return done(h.error());
    if (partition >= h->partitions.size()) {
      return done(make_error(errc::unknown_partition,
                             fmt::format("topic {} has {} partitions; there is no partition {}",
                                         topic, h->partitions.size(), partition)));
    }
    // The common case, no quota on the topic and nothing held for it: no
    // resume closure, no record count, on the produce path.
    const auto& dest = h->partitions[partition];
    const auto& budget = h->budgets[partition];
    if (!under_quota(*h)) {
      return send_produce(topic, partition, dest, budget, acks, batch, done,
                          std::chrono::milliseconds{0});
    }
    // Resumed with the partition it was held for, not one resolved again: a
    // lookup would let produces that arrived later overtake it. Its
    // partition actor gone meanwhile is an error the client retries.
    auto resume = [=, this](std::chrono::milliseconds held) {
      send_produce(topic, partition, dest, budget, acks, batch, done, held);
    };
    switch (hold_for_quota(*h, *batch, resume)) {
      case quota_verdict::pass:
        return send_produce(topic, partition, dest, budget, acks, batch, done,
                            std::chrono::milliseconds{0});
      case quota_verdict::held:
        return;
      case quota_verdict::refused:
        return done(over_held_bytes(topic));
    }
  });
}

void session_state::send_produce(const std::string& topic, uint32_t partition,
                                 const partition_actor& dest,
                                 std::shared_ptr<inflight_budget> budget, acks_level acks,
                                 std::shared_ptr<std::string> batch, done_fn<produce_reply> done,
                                 std::chrono::milliseconds held) {
  auto throttled_ms = static_cast<uint32_t>(held.count());
  auto bytes = static_cast<int64_t>(batch->size());
  if (!budget->try_acquire(bytes)) {
    return done(make_error(errc::busy, fmt::format("partition {}/{} has too much data in flight; "
                                                   "retry later",
                                                   topic, partition)));
  }
  if (acks == acks_level::none) done(produce_reply{-1, -1, false, throttled_ms});
  auto on_error = [=, this](caf::error e) {
    budget->release(bytes);
    if (e.category() != errc_category) forget_topic(topic);  // actor gone?
    if (acks != acks_level::none) {
      done(std::move(e));
    } else {
      actor_log().warn("session {}: acks=none produce to {}/{} failed: {}", settings_.peer, topic,
                       partition, text_of(e));
    }
  };
  auto t = deadline([on_error] { on_error(caf::make_error(caf::sec::request_timeout)); });
  self_->request(dest, caf::infinite, produce_atom::value, produce_request{std::move(batch), acks})
      .then(
          [=](produce_reply& r) {
            if (!t.settle()) return;
            budget->release(bytes);
            r.throttled_ms = throttled_ms;
            if (acks != acks_level::none) done(r);
          },
          [=](caf::error& e) {
            if (t.settle()) on_error(std::move(e));
          });
}

void session_state::produce_delayed(const std::string& topic, uint32_t partition, acks_level acks,
                                    int64_t deliver_at_ms, delay::delay_class cls,
                                    std::shared_ptr<std::string> batch,
                                    done_fn<schedule_reply> done,
                                    std::shared_ptr<const std::vector<int64_t>> dues) {
  // The quota counts delayed messages when they are produced (a flood of
  // them loads the schedule as much as plain ones load a partition). A
  // topic unknown here is left for the DELAY actor to judge, as before.
  with_topic(topic, [=, this](caf::expected<topic_handle> h) {
    auto held = [=, this](std::chrono::milliseconds ms) {
      send_delayed(topic, partition, acks, deliver_at_ms, cls, batch, done, ms, dues);
    };
    if (!h) return held(std::chrono::milliseconds{0});
    switch (hold_for_quota(*h, *batch, held)) {
      case quota_verdict::pass:
        return held(std::chrono::milliseconds{0});
      case quota_verdict::held:
        return;
      case quota_verdict::refused:
        return done(over_held_bytes(topic));
    }
  });
}

void session_state::send_delayed(const std::string& topic, uint32_t partition, acks_level acks,
                                 int64_t deliver_at_ms, delay::delay_class cls,
                                 std::shared_ptr<std::string> batch, done_fn<schedule_reply> done,
                                 std::chrono::milliseconds held,
                                 std::shared_ptr<const std::vector<int64_t>> dues) {
  auto throttled_ms = static_cast<uint32_t>(held.count());
  delayed_produce req{topic, partition, deliver_at_ms, nullptr, acks, cls};
  if (dues) {
    // Split here, on the connection's actor, not in the one DELAY SCHEDULE
    // actor every connection shares.
    const std::span<const uint8_t> bytes{reinterpret_cast<const uint8_t*>(batch->data()),
                                         batch->size()};
    if (auto h = storage::validate_batch(bytes, bytes.size(), storage::validation::full_records);
        !h || h->size_bytes() != bytes.size()) {
      return done(make_error(errc::invalid_batch,
                             h ? "one batch expected" : "the delayed batch: " + h.message()));
    }
    auto parts = storage::split_batch(bytes, *dues);
    if (!parts) return done(make_error(errc::invalid_request, parts.message()));
    req.parts.reserve(parts->size());
    for (auto& p : *parts) req.parts.push_back({p.key, std::move(p.batch)});
  } else {
    req.batch = std::move(batch);
  }
  auto t = deadline([done] { done(caf::make_error(caf::sec::request_timeout)); });
  self_->request(settings_.delay, caf::infinite, produce_atom::value, std::move(req))
      .then(
          [=](schedule_reply& r) {
            if (!t.settle()) return;
            r.throttled_ms = throttled_ms;
            done(r);
          },
          [=](caf::error& e) {
            if (t.settle()) done(std::move(e));
          });
}

bool session_state::under_quota(const topic_handle& h) const {
  return (h.quota && h.quota->limited()) || throttles_.count(h.name) > 0;
}

caf::error session_state::over_held_bytes(const std::string& topic) const {
  return make_error(errc::busy,
                    fmt::format("this connection has {} bytes of produce requests held for produce "
                                "quotas (topic {} is over its quota); retry later",
                                held_bytes_, topic));
}

session_state::quota_verdict session_state::hold_for_quota(const topic_handle& h,
                                                           const std::string& batch,
                                                           resume_fn resume) {
  const auto& quota = h.quota;
  auto it = throttles_.find(h.name);
  bool queued = it != throttles_.end() && !it->second.held.empty();
  if (!queued && (!quota || !quota->limited())) {
    // Unlimited: forget the buckets, so a later limit starts full.
    if (it != throttles_.end()) throttles_.erase(it);
    return quota_verdict::pass;
  }
  if (it == throttles_.end()) {
    it = throttles_
             .emplace(h.name, topic_throttle{produce_throttle{settings_.quota_burst,
                                                              settings_.quota_max_delay},
                                             {},
                                             false,
                                             0})
             .first;
  }
  auto& tt = it->second;
  auto now = produce_throttle::clock::now();
  auto bytes = static_cast<int64_t>(batch.size());
  auto messages = static_cast<int64_t>(
      storage::count_records({reinterpret_cast<const uint8_t*>(batch.data()), batch.size()}));
  auto release = quota ? tt.buckets.admit(now, quota->byte_rate(), quota->message_rate(), bytes,
                                          std::max<int64_t>(messages, 1))
                       : now;
  if (!queued && release <= now) return quota_verdict::pass;
  // Refused past the bound, and still charged: a client this far past its
  // quota only waits longer for its next requests.
  if (held_bytes_ + bytes > settings_.quota_max_held_bytes) return quota_verdict::refused;
  held_bytes_ += bytes;
  tt.held.push_back({release, now, quota, std::move(resume), bytes});
  ++tt.held_total;
  if (!tt.armed) {
    tt.armed = true;
    auto wait = std::max(release - now, produce_throttle::clock::duration::zero());
    self_->delayed_send(self_, std::chrono::duration_cast<caf::timespan>(wait),
                        throttle_atom::value, h.name);
  }
  return quota_verdict::held;
}

void session_state::release_throttled(const std::string& topic) {
  auto it = throttles_.find(topic);
  if (it == throttles_.end()) return;
  auto& tt = it->second;
  tt.armed = false;
  auto now = produce_throttle::clock::now();
  // Take the due requests out first: resuming one may queue another.
  std::vector<held_request> due;
  while (!tt.held.empty() && tt.held.front().release <= now) {
    due.push_back(std::move(tt.held.front()));
    tt.held.pop_front();
  }
  if (!tt.held.empty()) {
    tt.armed = true;
    auto wait = tt.held.front().release - now;
    self_->delayed_send(self_, std::chrono::duration_cast<caf::timespan>(wait),
                        throttle_atom::value, topic);
  }
  for (auto& r : due) {
    held_bytes_ -= r.bytes;
    auto held = std::chrono::duration_cast<std::chrono::microseconds>(now - r.since);
    if (r.quota) r.quota->on_throttled(held);
    r.resume(std::chrono::duration_cast<std::chrono::milliseconds>(held));
  }
}

void session_state::fetch_item_of(std::shared_ptr<std::vector<fetch_item>> items, size_t i,
                                  caf::timespan park_wait, uint64_t park_token,
                                  std::function<bool(const partition_actor&)> sending,
                                  std::function<void(fetch_item_result)> k) {
  const auto& first = (*items)[i];
  with_topic(first.topic, first.partition, [=, this](caf::expected<topic_handle> h) {
    const auto& item = (*items)[i];
    fetch_item_result res;
    if (!h) {
      res.error = h.error();
      return k(std::move(res));
    }
    if (item.partition >= h->partitions.size()) {
      res.error = make_error(errc::unknown_partition,
                             fmt::format("{} has no partition {}", item.topic, item.partition));
      return k(std::move(res));
    }
    auto p = h->partitions[item.partition];
    if (sending && !sending(p)) return k(std::move(res));
    fetch_request req{item.offset, item.max_bytes};
    req.park_token = park_token;
    // A parked fetch is answered by its wait; its deadline only covers a
    // partition that is stuck.
    const bool parks = park_wait.count() > 0;
    auto t = parks ? deadline(park_wait + std::chrono::seconds(5),
                              [k] { k(failed(caf::make_error(caf::sec::request_timeout))); })
                   : deadline([k] { k(failed(caf::make_error(caf::sec::request_timeout))); });
    auto on_reply = [t, k](fetch_reply& r) {
      if (t.settle()) k(fetched(r));
    };
    auto on_error = [=, this](caf::error& e) {
      if (t.settle()) k(failed_fetch((*items)[i].topic, std::move(e)));
    };
    if (parks) {
      self_->request(p, caf::infinite, wait_atom::value, req, park_wait).then(on_reply, on_error);
    } else {
      self_->request(p, caf::infinite, fetch_atom::value, req).then(on_reply, on_error);
    }
  });
}

void session_state::fetch_once(std::shared_ptr<std::vector<fetch_item>> items,
                               done_fn<std::vector<fetch_item_result>> done) {
  if (items->empty()) return done(std::vector<fetch_item_result>{});
  auto g = std::make_shared<gather<fetch_item_result>>(
      items->size(), [done](std::vector<fetch_item_result> r) { done(std::move(r)); });
  for (size_t i = 0; i < items->size(); ++i) {
    fetch_item_of(items, i, caf::timespan{0}, 0, {},
                  [g, i](fetch_item_result r) { g->set(i, std::move(r)); });
  }
}

void session_state::fetch(std::vector<fetch_item> items, uint32_t max_wait_ms, uint32_t min_bytes,
                          done_fn<std::vector<fetch_item_result>> done) {
  auto shared = std::make_shared<std::vector<fetch_item>>(std::move(items));
  max_wait_ms = std::min(max_wait_ms, settings_.max_fetch_wait_ms);
  // A first look at every partition (one round, in parallel); the long poll
  // only when it found too little.
  fetch_once(shared, [=, this](caf::expected<std::vector<fetch_item_result>> r) {
    if (!r) return done(std::move(r));
    uint64_t total = 0;
    bool any_error = false;
    for (const auto& x : *r) {
      total += x.slice.length;
      any_error |= static_cast<bool>(x.error);
    }
    if (total >= std::max<uint32_t>(min_bytes, 1) || max_wait_ms == 0 || any_error) {
      return done(std::move(r));
    }
    park_fetches(shared, std::move(*r), max_wait_ms, done);
  });
}

uint64_t session_state::next_park_token() {
  // Unique within the broker: partitions are local to their session, and a
  // clash would only answer another session's long poll early.
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

void session_state::park_fetches(std::shared_ptr<std::vector<fetch_item>> items,
                                 std::vector<fetch_item_result> first_look, uint32_t max_wait_ms,
                                 done_fn<std::vector<fetch_item_result>> done) {
  // One parked fetch per partition, all with one token. The first answer
  // with data (or an error) is the reply, the other partitions as the first
  // look found them (nothing new); those are unparked, and what they answer
  // is dropped (their next poll reads it). So an append reaches the client
  // in one hop to this session and back, and nothing stays parked behind
  // the reply. Every partition answering empty (the wait elapsed): the
  // reply once all have.
  struct poll {
    std::vector<fetch_item_result> results;
    std::vector<partition_actor> partitions;  ///< set once its topic resolves
    size_t pending;
    bool replied = false;
    uint64_t token;
    done_fn<std::vector<fetch_item_result>> done;
  };
  const size_t n = items->size();
  auto st = std::make_shared<poll>(poll{std::move(first_look), std::vector<partition_actor>(n), n,
                                        false, next_park_token(), std::move(done)});
  auto answer = [this, st](size_t i, fetch_item_result r) {
    --st->pending;
    if (st->replied) return;
    const bool news = r.slice.length > 0 || r.error;
    if (news) {
      st->replied = true;
      st->results[i] = std::move(r);
      for (size_t j = 0; j < st->partitions.size(); ++j) {
        if (j != i && st->partitions[j])
          self_->send(st->partitions[j], unpark_atom::value, st->token);
      }
      return st->done(std::move(st->results));
    }
    st->results[i] = std::move(r);  // nothing new, as of now
    if (st->pending == 0) {
      st->replied = true;
      st->done(std::move(st->results));
    }
  };
  const auto wait = caf::timespan(std::chrono::milliseconds(max_wait_ms));
  for (size_t i = 0; i < n; ++i) {
    // A topic resolved after the reply: nothing to park, the item is done.
    auto sending = [st, i](const partition_actor& p) {
      if (st->replied) return false;
      st->partitions[i] = p;
      return true;
    };
    fetch_item_of(items, i, wait, st->token, sending,
                  [answer, i](fetch_item_result r) { answer(i, std::move(r)); });
  }
}

fetch_item_result session_state::failed(caf::error e) {
  fetch_item_result r;
  r.error = std::move(e);
  return r;
}

fetch_item_result session_state::fetched(fetch_reply& r) {
  return fetch_item_result{{}, std::move(r.slice), r.high_watermark, r.log_start_offset};
}

fetch_item_result session_state::failed_fetch(const std::string& topic, caf::error e) {
  if (e.category() != errc_category) forget_topic(topic);  // the partition actor is gone?
  fetch_item_result bad;
  bad.error = std::move(e);
  return bad;
}

void session_state::list_offsets(const std::string& topic, uint32_t partition, int64_t ts,
                                 done_fn<int64_t> done) {
  with_topic(topic, partition, [=, this](caf::expected<topic_handle> h) {
    if (!h) return done(h.error());
    if (partition >= h->partitions.size()) {
      return done(make_error(errc::unknown_partition,
                             fmt::format("{} has no partition {}", topic, partition)));
    }
    self_->request(h->partitions[partition], settings_.request_timeout, time_atom::value, ts)
        .then([done](int64_t o) { done(o); }, [done](caf::error& e) { done(std::move(e)); });
  });
}

// --- groups ---

void session_state::join_group(const std::string& group, group::join_request req,
                               std::string strategy, done_fn<group::join_result> done) {
  with_group(group, [=, this](caf::expected<group_actor> g) {
    if (!g) return done(g.error());
    self_->request(*g, group_timeout, join_atom::value, req, strategy)
        .then(
            [=, this](group::join_result& r) {
              members_.insert({group, r.id});
              done(std::move(r));
            },
            [=, this](caf::error& e) { done(group_error(group, *g, std::move(e))); });
  });
}

void session_state::heartbeat(const std::string& group, const std::string& member,
                              int32_t generation, done_fn<group::heartbeat_result> done) {
  with_group(group, [=, this](caf::expected<group_actor> g) {
    if (!g) return done(g.error());
    self_->request(*g, group_timeout, heartbeat_atom::value, member, generation)
        .then([done](group::heartbeat_result& r) { done(std::move(r)); },
              [=, this](caf::error& e) { done(group_error(group, *g, std::move(e))); });
  });
}

void session_state::leave_group(const std::string& group, const std::string& member,
                                done_fn<bool> done) {
  with_group(group, [=, this](caf::expected<group_actor> g) {
    if (!g) return done(g.error());
    members_.erase({group, member});
    self_->request(*g, group_timeout, leave_atom::value, member)
        .then([done](bool ok) { done(ok); },
              [=, this](caf::error& e) { done(group_error(group, *g, std::move(e))); });
  });
}

void session_state::commit(const std::string& group, const std::string& member, int32_t generation,
                           std::vector<committed_offset> offsets, done_fn<bool> done) {
  with_group(group, [=, this](caf::expected<group_actor> g) {
    if (!g) return done(g.error());
    self_->request(*g, group_timeout, commit_atom::value, member, generation, offsets)
        .then([done](bool ok) { done(ok); },
              [=, this](caf::error& e) { done(group_error(group, *g, std::move(e))); });
  });
}

void session_state::committed(const std::string& group,
                              std::vector<group::topic_partition> partitions,
                              done_fn<std::vector<committed_offset>> done) {
  with_group(group, [=, this](caf::expected<group_actor> g) {
    if (!g) return done(g.error());
    self_->request(*g, group_timeout, committed_atom::value, partitions)
        .then([done](std::vector<committed_offset>& r) { done(std::move(r)); },
              [=, this](caf::error& e) { done(group_error(group, *g, std::move(e))); });
  });
}

}  // namespace actormq
