#pragma once
// Batches and fetch answers for the client's decoder and queue tests
// (record_decoder_test.cpp, decoded_queue_test.cpp).

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "actormq/client/message_id.h"
#include "app/client/src/decoded_queue.h"
#include "app/client/src/fetch_types.h"
#include "app/client/src/record_decoder.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace actormq::client::test {

/// A batch of n records valued "<first + i>" with base offset base, timestamps
/// ts + i, each carrying a message id (prefix 7, counter first + i) and, when
/// with_header, a header "h" = "x".
inline std::string batch(int64_t base, int first, int n, bool with_header = false,
                         int64_t ts = 1000) {
  storage::record_batch_builder b;
  for (int i = 0; i < n; ++i) {
    message_id id(7, static_cast<uint64_t>(first + i));
    std::vector<storage::record_header> headers;
    if (with_header) headers.push_back({"h", std::string("x")});
    auto value = std::to_string(first + i);
    b.add(std::nullopt, std::string_view(value), storage::timestamp_ms(ts + i),
          storage::record_header_view{message_id::header_key, id.bytes()}, headers);
  }
  auto bytes = b.build();
  storage::set_base_offset(
      std::span<uint8_t>(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()),
      storage::offset(base));
  return bytes;
}

inline detail::fetched fetch_of(const std::string& topic, uint32_t partition,
                                const std::string& bytes) {
  detail::fetched f;
  f.tp = {topic, partition};
  f.bytes.assign(bytes);
  return f;
}

/// Decodes bytes of (topic, partition) from pos into q with CRC checks and
/// no TTLs; returns the outcome.
inline detail::record_decoder::outcome decode_into(detail::decoded_queue& q,
                                                   const std::string& topic, uint32_t partition,
                                                   const std::string& bytes, int64_t& pos) {
  detail::record_decoder dec(true, true);
  std::vector<message> expired;
  auto f = fetch_of(topic, partition, bytes);
  auto out = dec.decode(f, pos, q, expired);
  CHECK(expired.empty());
  return out;
}

/// Queues n records of (topic, partition) from offset base, valued first...
inline void queue_batch(detail::decoded_queue& q, const std::string& topic, uint32_t partition,
                        int64_t base, int first, int n) {
  int64_t pos = base;
  REQUIRE_FALSE(decode_into(q, topic, partition, batch(base, first, n), pos).err);
  CHECK(pos == base + n);
}

/// A decoded_queue::take() tracker that looks at nothing.
inline void ignore_taken(const detail::decoded_queue::chunk&, const message_view&) {}

}  // namespace actormq::client::test
