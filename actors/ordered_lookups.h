#pragma once
// The calls that wait for a lookup in flight, kept per key so they run in
// the order they were made.
//
// Why: an actor that caches handles (topics, groups) and looks up a missing
// one asynchronously must not let a later call overtake an earlier one. With
// a lookup per call, the first reply fills the cache, and a call that
// arrives before the second reply is answered from the cache at once, ahead
// of the call still waiting for that reply: two produces to a topic the
// session had not seen yet were stored in the wrong order. Here one lookup
// per key is in flight; every call made meanwhile queues behind it, and the
// reply answers them all, in call order.
//
// Use:
//
//   if (lookups_.join(key, k)) return;             // queued behind a lookup
//   if (cached) return k(value);
//   lookups_.start(key, std::move(k));
//   self->request(...).then(
//       [=](V& v) { cache[key] = v; lookups_.settle(key, v); },
//       [=](caf::error& e) { lookups_.settle(key, std::move(e)); });
//
// Every waiter gets the lookup's answer, also the error of a failed lookup.
// The key is no longer in flight while its waiters run: a waiter that calls
// again for the same key is answered at once (from the cache the reply just
// filled), ahead of the waiters after it. Callers answer asynchronously, so
// none does today.
// Not thread-safe: one actor owns it.

#include <caf/expected.hpp>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace actormq {

template <typename V>
class ordered_lookups {
 public:
  using continuation = std::function<void(caf::expected<V>)>;

  /// Queues k behind the lookup of key in flight, if there is one. Returns
  /// whether it did (k is moved from only then).
  bool join(const std::string& key, continuation& k) {
    auto it = waiters_.find(key);
    if (it == waiters_.end()) return false;
    it->second.push_back(std::move(k));
    return true;
  }

  /// Marks a lookup of key as in flight, with k as its first waiter.
  void start(const std::string& key, continuation k) { waiters_[key].push_back(std::move(k)); }

  /// Ends the lookup of key: runs its waiters in call order with r. A
  /// waiter may start a new lookup of the same key; calls made from then on
  /// queue behind that one.
  void settle(const std::string& key, const caf::expected<V>& r) {
    auto it = waiters_.find(key);
    if (it == waiters_.end()) return;
    auto ks = std::move(it->second);
    waiters_.erase(it);
    for (auto& k : ks) k(r);
  }

  /// How many keys have a lookup in flight.
  size_t in_flight() const { return waiters_.size(); }

 private:
  std::map<std::string, std::vector<continuation>> waiters_;
};

}  // namespace actormq
