#pragma once
// delivered_retention: how far a schedule partition's collection may
// delete. Records nothing pending needs any more (delivered envelopes, the
// dispatches that delivered them) are kept `keep` after they stopped being
// needed, so /api/trace still shows a message's way through the delay
// wheel a while after its delivery, and then go. The partition's bytes
// bound the time: past `keep_bytes` collection deletes all it may.
//
// It remembers the lowest needed offset each time that moved (one sample
// per collection round at most, dropped once older than keep): memory is
// keep / the collection interval samples, whatever the traffic.

#include <chrono>
#include <cstdint>
#include <deque>

namespace actormq::delay {

class delivered_retention {
 public:
  delivered_retention() = default;
  delivered_retention(std::chrono::milliseconds keep, uint64_t keep_bytes)
      : keep_(keep), keep_bytes_(keep_bytes) {}

  /// At now_ms nothing below lowest is needed, and the partition holds
  /// size_bytes: the offset below which its records may be deleted (at
  /// most lowest; lower while what was delivered is younger than keep; 0
  /// when nothing has been unneeded for keep yet).
  int64_t floor(int64_t now_ms, int64_t lowest, uint64_t size_bytes);

  /// A new leader (or none): what an earlier one saw is not known here.
  void reset() { samples_.clear(); }

  size_t samples() const { return samples_.size(); }
  std::chrono::milliseconds keep() const { return keep_; }
  uint64_t keep_bytes() const { return keep_bytes_; }

 private:
  struct sample {
    int64_t at_ms;
    int64_t lowest;
  };
  std::chrono::milliseconds keep_{0};
  uint64_t keep_bytes_ = 0;
  std::deque<sample> samples_;  ///< lowest ascending, first seen at at_ms
};

}  // namespace actormq::delay
