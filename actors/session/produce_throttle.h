#pragma once
// produce_throttle: the produce quota of one producer session for one topic
// (topic_config::producer_byte_rate / producer_message_rate), as two token
// buckets. Pure logic: the SESSION actor asks when a request may pass and
// holds it until then (docs/operations.md, "Throttle a flooding producer").
//
// Each bucket fills at its rate and holds at most rate x burst: a producer
// idle for a while may send one burst at once. A request takes its bytes
// (messages) from the bucket even when that leaves it negative: the debt is
// the wait, debt / rate, before the request may pass; the next request
// waits for that debt too. Release times are therefore in request order
// (a request is never let through before an earlier one of the topic), and
// over any long run the session sends at most the rate plus one burst.
//
// A request is held at most max_delay: debt beyond rate x max_delay is
// forgiven, so that a held request is still answered well within the
// client's request timeout (30 s by default). The quota is therefore exact
// while one request is smaller than rate x max_delay (1 MiB batches at
// 100 KiB/s with the 10 s default); a producer with larger requests than
// that gets one request per max_delay.

#include <chrono>
#include <cstdint>

namespace actormq {

class produce_throttle {
 public:
  using clock = std::chrono::steady_clock;

  produce_throttle(std::chrono::milliseconds burst, std::chrono::milliseconds max_delay)
      : burst_(burst), max_delay_(max_delay) {}

  /// Charges a request of `bytes` and `messages` against the rates (0 =
  /// unlimited) and returns when it may pass: now when it is within both.
  clock::time_point admit(clock::time_point now, int64_t byte_rate, int64_t message_rate,
                          int64_t bytes, int64_t messages);

 private:
  struct bucket {
    int64_t rate = 0;  ///< the rate tokens was last filled at; 0 = unused
    double tokens = 0;
    clock::time_point filled{};
    /// Charges amount at rate; the wait until the bucket is not in debt.
    clock::duration charge(clock::time_point now, int64_t rate, int64_t amount,
                           std::chrono::milliseconds burst, std::chrono::milliseconds max_delay);
  };
  std::chrono::milliseconds burst_;
  std::chrono::milliseconds max_delay_;
  bucket bytes_;
  bucket messages_;
};

}  // namespace actormq
