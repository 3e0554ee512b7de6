#pragma once
// Deadlines of in-process requests, kept by the actor that sent them.
//
// Why not CAF's request timeouts: CAF 0.17 puts every request timeout into
// its clock's multimap and leaves it there until it fires, even when the
// response arrived long before. That is about 100 bytes per request held
// for the whole timeout: the delay benchmark (24k delayed produces/s, 30 s
// timeout) kept ~80 MB of broker heap in the clock. Here an entry lives only
// while its request is outstanding: the response settles the ticket, which
// removes the entry at once.
//
// Use: send with caf::infinite and guard both handlers with the ticket:
//
//   auto t = deadlines_.add(now + timeout, [done] { done(timeout_error); });
//   self->request(dest, caf::infinite, ...).then(
//       [=](reply& r) { if (t.settle()) done(r); },
//       [=](caf::error& e) { if (t.settle()) done(std::move(e)); });
//
// and call expire(now) from a periodic tick. A request to an actor that is
// gone is still answered (CAF bounces it with an error); the deadline
// covers an actor that is alive but stuck.
//
// Not thread-safe: one actor owns it, and tickets are settled only on that
// actor. A ticket must not outlive its request_deadlines (handlers of an
// actor's requests are destroyed with the actor, before its state).

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>

namespace actormq {

class request_deadlines {
 public:
  using clock = std::chrono::steady_clock;
  using on_timeout_fn = std::function<void()>;

 private:
  struct entry;
  using map_type = std::multimap<clock::time_point, std::shared_ptr<entry>>;
  struct entry {
    request_deadlines* owner = nullptr;
    map_type::iterator it;
    bool settled = false;
    on_timeout_fn on_timeout;
  };

 public:
  /// The guard of one request: settle() returns true exactly once, to the
  /// first of response, error or timeout.
  class ticket {
   public:
    ticket() = default;
    /// True when the caller is the first to settle (so it must answer).
    bool settle() const;
    bool settled() const { return !e_ || e_->settled; }

   private:
    friend class request_deadlines;
    explicit ticket(std::shared_ptr<entry> e) : e_(std::move(e)) {}
    std::shared_ptr<entry> e_;
  };

  request_deadlines() = default;
  request_deadlines(const request_deadlines&) = delete;
  request_deadlines& operator=(const request_deadlines&) = delete;
  /// Outstanding tickets follow their entries to the new owner.
  request_deadlines(request_deadlines&& other) noexcept;
  request_deadlines& operator=(request_deadlines&& other) noexcept;
  ~request_deadlines();

  /// Registers a request due by deadline; on_timeout runs from expire() if
  /// the ticket is still unsettled then.
  ticket add(clock::time_point deadline, on_timeout_fn on_timeout);

  /// Settles every entry with deadline <= now and runs its on_timeout.
  /// Returns how many timed out.
  size_t expire(clock::time_point now);

  /// Outstanding (unsettled) requests.
  size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }

 private:
  void adopt();
  void release();
  map_type map_;
};

}  // namespace actormq
