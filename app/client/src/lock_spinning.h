#pragma once
// lock_spinning: take a mutex that is held only briefly without going to
// sleep for it.
//
// Why: the producer's lock is taken by the user thread for every record
// (a ~1 KiB copy into the open batch), by the loop thread twice a reply
// and by the sender on each pass, each holding it for a short while. With
// std::mutex a thread that finds it taken sleeps in futex() at once, and
// the holder's unlock then wakes it: on the 2-core VM of
// docs/benchmarks.md a hand-off like that costs 10-12 µs of CPU ("W4: the
// floor of a hand-off"). Trying a bounded number of times first (100
// tries with a pause between, a few µs on x86; glibc's adaptive mutex does
// the same) avoids most of them (W2: 1,343 sleeps of the send() thread on
// the lock -> 353, "W2: the producer's lock"); after that the thread
// sleeps as before, so a holder that was preempted costs little more than
// it did.

#include <mutex>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace actormq::client::detail {

/// Locks lk's mutex: tries up to `tries` times, pausing between tries,
/// then waits for it as lock() does. lk must not own its mutex.
template <typename Mutex>
void lock_spinning(std::unique_lock<Mutex>& lk, int tries = 100) {
  for (int i = 0; i < tries; ++i) {
    if (lk.try_lock()) return;
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  }
  lk.lock();
}

/// A lock held on return, taken by lock_spinning().
template <typename Mutex>
std::unique_lock<Mutex> spinning_lock(Mutex& m) {
  std::unique_lock<Mutex> lk(m, std::defer_lock);
  lock_spinning(lk);
  return lk;
}

}  // namespace actormq::client::detail
