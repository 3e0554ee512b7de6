#include "app/broker/cluster/local_topics.h"

#include "actors/cluster/stray_topics.h"
#include "actors/errc.h"
#include "actors/topic/topic_registry_actor.h"
#include "app/broker/actor_call.h"
#include "app/broker/cluster/control_plane.h"
#include "app/broker/logger.h"

namespace actormq::broker {

namespace {
constexpr std::chrono::seconds registry_timeout{30};

// A continuation below that throws is a bug; say so instead of dropping it.
void log_failure(kj::Exception&& e) {
  broker_log().error("cluster: local topic sync failed: {}", e.getDescription().cStr());
}
}  // namespace

void local_topics::sync() {
  auto& view = cp_.view();
  auto self = cp_.self();
  auto registry = caf::actor_cast<topic_registry_actor>(registry_);
  std::set<std::string> wanted;
  for (auto& [name, cfg] : view.topics()) {
    bool mine = false;
    for (uint32_t p = 0; p < cfg.partitions && !mine; ++p) {
      auto* s = view.partition(name, p);
      mine = s != nullptr && s->has_replica(self);
    }
    if (mine) wanted.insert(name);
  }
  for (auto& name : wanted) {
    if (held_.count(name) || busy_.count(name)) continue;
    busy_.insert(name);
    auto cfg = view.topics().at(name);
    cfg.replicated = true;  // served where it leads, replicated elsewhere
    // Internal topics (__consumer_offsets) through the registry's internal
    // create, which also returns one that exists.
    auto created =
        name.starts_with("__")
            ? ask<topic_handle>(sys_, registry, registry_timeout, create_atom::value, name, cfg,
                                internal_atom::value)
            : ask<topic_handle>(sys_, registry, registry_timeout, create_atom::value, name, cfg);
    kj::mv(created)
        .then([this, name](caf::expected<topic_handle> r) {
          busy_.erase(name);
          if (r || code_of(r.error()) == errc::topic_exists) {
            held_.insert(name);
            broker_log().info("cluster: holding topic {} here", name);
            if (on_created_) on_created_();
            return;
          }
          broker_log().error("cluster: cannot create topic {} here: {}", name, text_of(r.error()));
        })
        .detach(log_failure);
  }
  for (auto it = held_.begin(); it != held_.end();) {
    if (wanted.count(*it) || busy_.count(*it)) {
      ++it;
      continue;
    }
    auto name = *it;
    it = held_.erase(it);
    busy_.insert(name);
    ask<bool>(sys_, registry, registry_timeout, delete_atom::value, name)
        .then([this, name](caf::expected<bool> r) {
          busy_.erase(name);
          if (r || code_of(r.error()) == errc::unknown_topic) {
            broker_log().info("cluster: topic {} deleted here", name);
          } else {
            broker_log().error("cluster: cannot delete topic {} here: {}", name,
                               text_of(r.error()));
          }
        })
        .detach(log_failure);
  }
  grow_held();
  set_quotas();
}

void local_topics::set_quotas() {
  auto& view = cp_.view();
  auto registry = caf::actor_cast<topic_registry_actor>(registry_);
  std::erase_if(quotas_here_, [this](auto& e) { return !held_.count(e.first); });
  for (auto& name : held_) {
    auto t = view.topics().find(name);
    if (t == view.topics().end() || busy_.count(name)) continue;
    auto want = std::make_pair(t->second.producer_byte_rate, t->second.producer_message_rate);
    if (auto it = quotas_here_.find(name); it != quotas_here_.end() && it->second == want) continue;
    busy_.insert(name);
    ask<topic_handle>(sys_, registry, registry_timeout, quota_atom::value, name, want.first,
                      want.second)
        .then([this, name, want](caf::expected<topic_handle> h) {
          busy_.erase(name);
          if (!h) {
            broker_log().error("cluster: cannot set the produce quota of topic {} here: {}", name,
                               text_of(h.error()));
            return;
          }
          quotas_here_[name] = want;
          set_quotas();  // the quota may have changed again meanwhile
        })
        .detach(log_failure);
  }
}

void local_topics::grow_held() {
  auto& view = cp_.view();
  auto registry = caf::actor_cast<topic_registry_actor>(registry_);
  std::erase_if(partitions_here_, [this](auto& e) { return !held_.count(e.first); });
  for (auto& name : held_) {
    auto t = view.topics().find(name);
    if (t == view.topics().end() || busy_.count(name)) continue;
    uint32_t want = t->second.partitions;
    if (auto it = partitions_here_.find(name); it != partitions_here_.end() && it->second >= want)
      continue;
    busy_.insert(name);
    ask<topic_handle>(sys_, registry, registry_timeout, lookup_atom::value, name)
        .then([this, registry, name,
               want](caf::expected<topic_handle> h) -> kj::Promise<caf::expected<topic_handle>> {
          if (!h || h->partitions.size() >= want) return kj::mv(h);
          broker_log().info("cluster: topic {} grows from {} to {} partitions here", name,
                            h->partitions.size(), want);
          return ask<topic_handle>(sys_, registry, registry_timeout, grow_atom::value, name, want);
        })
        .then([this, name](caf::expected<topic_handle> h) {
          busy_.erase(name);
          if (!h) {
            broker_log().error("cluster: cannot add partitions of topic {} here: {}", name,
                               text_of(h.error()));
            return;
          }
          partitions_here_[name] = static_cast<uint32_t>(h->partitions.size());
          grow_held();  // the count may have risen again meanwhile
          set_quotas();
        })
        .detach(log_failure);
  }
}

kj::Promise<void> local_topics::set_aside_strays() {
  auto registry = caf::actor_cast<topic_registry_actor>(registry_);
  return ask<std::vector<topic_handle>>(sys_, registry, registry_timeout, list_atom::value)
      .then([this, registry](caf::expected<std::vector<topic_handle>> r) -> kj::Promise<void> {
        if (!r) {
          broker_log().error("cluster: cannot list local topics to find stray ones: {}",
                             text_of(r.error()));
          return kj::READY_NOW;
        }
        std::vector<std::string> local;
        std::set<std::string> unreplicated;
        for (auto& h : *r) {
          local.push_back(h.name);
          if (!h.config.replicated) unreplicated.insert(h.name);
        }
        std::set<std::string> known;
        for (auto& [name, _] : cp_.view().topics()) known.insert(name);
        kj::Vector<kj::Promise<void>> moves;
        for (auto& name : cluster::stray_topics::find(local, known, unreplicated)) {
          if (held_.count(name) || busy_.count(name)) continue;
          busy_.insert(name);
          moves.add(ask<std::string>(sys_, registry, registry_timeout, stray_atom::value, name)
                        .then([this, name](caf::expected<std::string> to) {
                          busy_.erase(name);
                          if (!to) {
                            broker_log().error("cluster: cannot set stray topic {} aside: {}", name,
                                               text_of(to.error()));
                            return;
                          }
                          broker_log().warn(
                              "cluster: topic {} is not in the cluster (deleted while this "
                              "broker was away, or the control plane lost it), or its copy here "
                              "was made by a run alone; not served, its data moved to {}",
                              name, *to);
                        }));
        }
        return kj::joinPromises(moves.releaseAsArray());
      });
}

}  // namespace actormq::broker
