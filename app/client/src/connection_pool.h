#pragma once
// connection_pool<T>: the sessions a connection holds to individual brokers
// (partition leaders, group coordinators, the controller), keyed by
// "HOST:PORT". Plain bookkeeping, no I/O: the owner opens a session lazily
// the first time find() misses and insert()s it, erase()s it when it dies,
// and every so often closes those take_idle() hands back (destroying a
// session closes it). Time is passed in, so tests advance it by hand.
//
// Not thread-safe: the connection's loop thread owns it.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace actormq::client::detail {

template <typename T>
class connection_pool {
 public:
  using clock = std::chrono::steady_clock;

  /// The session to address, marked as used now; nullptr when there is none.
  T* find(const std::string& address, clock::time_point now) {
    auto it = entries_.find(address);
    if (it == entries_.end()) return nullptr;
    it->second.last_used = now;
    return &it->second.value;
  }

  /// The session to address without marking it used; nullptr when none.
  const T* peek(const std::string& address) const {
    auto it = entries_.find(address);
    return it == entries_.end() ? nullptr : &it->second.value;
  }

  /// Adds (or replaces) the session to address, used now.
  T& insert(const std::string& address, T value, clock::time_point now) {
    auto& e = entries_[address];
    e.value = std::move(value);
    e.last_used = now;
    return e.value;
  }

  /// Removes the session to address (it died); returns it so the caller
  /// decides when it is destroyed.
  std::vector<T> erase(const std::string& address) {
    std::vector<T> out;
    auto it = entries_.find(address);
    if (it == entries_.end()) return out;
    out.push_back(std::move(it->second.value));
    entries_.erase(it);
    return out;
  }

  /// Removes and returns the sessions unused for max_idle or longer.
  std::vector<T> take_idle(clock::time_point now, std::chrono::milliseconds max_idle) {
    std::vector<T> out;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (now - it->second.last_used >= max_idle) {
        out.push_back(std::move(it->second.value));
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }

  /// The address of the first session for which pred(session) holds.
  template <typename Pred>
  std::optional<std::string> find_address(Pred pred) const {
    for (const auto& [address, e] : entries_) {
      if (pred(e.value)) return address;
    }
    return std::nullopt;
  }

  /// Calls fn(session) for each session, without marking any used.
  template <typename Fn>
  void for_each(Fn fn) const {
    for (const auto& [address, e] : entries_) fn(e.value);
  }

  size_t size() const { return entries_.size(); }
  bool contains(const std::string& address) const { return entries_.count(address) > 0; }

 private:
  struct entry {
    T value;
    clock::time_point last_used{};
  };
  std::map<std::string, entry> entries_;
};

}  // namespace actormq::client::detail
