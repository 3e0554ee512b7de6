#pragma once
// Hands out the message ids of one producer instance (message_id.h): a
// random 64-bit prefix drawn at construction (std::random_device, which
// reads the kernel's random source here) and a counter from 1.
// Thread-safe.

#include <atomic>
#include <cstdint>
#include <random>

#include "actormq/client/message_id.h"
#include "actormq/client/producer.h"

namespace actormq::client::detail {

class message_id_source {
 public:
  message_id_source() {
    std::random_device rd;
    do {
      prefix_ = (uint64_t{rd()} << 32) | rd();
    } while (prefix_ == 0);  // never the empty id
  }
  message_id next() { return message_id(prefix_, counter_.fetch_add(1) + 1); }
  uint64_t prefix() const { return prefix_; }

 private:
  uint64_t prefix_ = 0;
  std::atomic<uint64_t> counter_{0};
};

/// The id rec is sent with: rec.id, else the value of an amq-id header of
/// rec (a copied record's), else a new one from src. Callers write it as
/// the record's first header and skip rec's own amq-id headers.
template <class Record>
message_id record_message_id(const Record& rec, message_id_source& src) {
  if (rec.id && !rec.id->empty()) return *rec.id;
  for (const auto& h : rec.headers) {
    if (h.key != message_id::header_key || !h.value) continue;
    if (auto id = message_id::from_header(*h.value); id && !id->empty()) return *id;
  }
  return src.next();
}

}  // namespace actormq::client::detail
