#pragma once
// A per-actor cache of topic handles resolved through the TOPIC REGISTRY.
// Used by actors that route to partitions (sessions, the delay actor) so
// each produce does not cost a registry round trip. An entry is dropped with
// forget() when a partition actor behind it stops answering; the next use
// resolves it again.
//
// Calls are answered in the order they were made: while a lookup of a topic
// is in flight, every call for that topic waits for it, even one the cache
// could answer (see ordered_lookups). Produces routed through the cache
// reach their partition in the order they arrived.

#include <caf/all.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "actors/ordered_lookups.h"
#include "actors/topic/topic_registry_actor.h"

namespace actormq {

class topic_cache {
 public:
  using continuation = std::function<void(caf::expected<topic_handle>)>;

  /// Calls k with the handle of topic name, from the cache or the registry.
  /// With a partition the cached handle does not have yet, the registry is
  /// asked again: partitions may have been added since it was cached.
  template <typename Self>
  void with(Self* self, const topic_registry_actor& registry, const std::string& name,
            continuation k, std::optional<uint32_t> partition = std::nullopt) {
    if (lookups_.join(name, k)) return;
    if (auto it = topics_.find(name); it != topics_.end()) {
      const auto& h = it->second.handle;
      if (!partition || *partition < h.partitions.size()) return k(h);
    }
    lookups_.start(name, std::move(k));
    self->request(registry, std::chrono::seconds(30), lookup_atom::value, name)
        .then(
            [this, name, puts_before = puts_](topic_handle& h) {
              // A handle put() while the lookup was on its way (after a
              // grow) is newer than the registry's answer: it stays, and
              // it answers the calls that waited.
              if (auto it = topics_.find(name);
                  it != topics_.end() && it->second.put > puts_before) {
                return lookups_.settle(name, it->second.handle);
              }
              topics_[name] = cached{h, 0};
              lookups_.settle(name, h);
            },
            [this, name](caf::error& e) { lookups_.settle(name, std::move(e)); });
  }

  /// Caches h as the newest handle of topic name (the answer of a grow).
  void put(const std::string& name, topic_handle h) {
    topics_[name] = cached{std::move(h), ++puts_};
  }
  void forget(const std::string& name) { topics_.erase(name); }

 private:
  struct cached {
    topic_handle handle;
    uint64_t put = 0;  ///< puts_ when put() stored it; 0: a lookup's answer
  };
  std::map<std::string, cached> topics_;
  uint64_t puts_ = 0;  ///< put() calls so far
  ordered_lookups<topic_handle> lookups_;
};

}  // namespace actormq
