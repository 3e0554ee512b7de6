// Unit: the client's record decoder, from a fetch answer's bytes to the
// views poll() hands out. No broker needed.
#include "app/client/src/record_decoder.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <limits>
#include <string>

#include "fetched_batches.h"

using namespace actormq::client;
using namespace actormq::client::test;
using detail::decoded_queue;
using detail::record_decoder;
namespace storage = actormq::storage;

TEST_CASE("decoded records keep their offsets, values and ids, the id's header left out") {
  decoded_queue q;
  int64_t pos = 0;
  auto out = decode_into(q, "t", 0, batch(0, 0, 3, true) + batch(3, 3, 2), pos);
  REQUIRE_FALSE(out.err);
  CHECK(pos == 5);
  REQUIRE(q.size() == 5);
  auto b = q.take(100, ignore_taken);
  REQUIRE(b.size() == 5);
  for (size_t i = 0; i < 5; ++i) {
    CHECK(b[i].topic == "t");
    CHECK(b[i].offset == static_cast<int64_t>(i));
    CHECK(b[i].value == std::to_string(i));
    CHECK(b[i].id == message_id(7, i));
    CHECK(b[i].timestamp_ms == 1000 + static_cast<int64_t>(i % 3));
  }
  REQUIRE(b[0].headers.size() == 1);  // the producer's header, not the id's
  CHECK(b[0].headers[0].key == "h");
  CHECK(b[3].headers.empty());
  CHECK(q.empty());
}

TEST_CASE("records before the position are skipped, within a batch and whole batches") {
  decoded_queue q;
  int64_t pos = 4;
  auto out = decode_into(q, "t", 0, batch(0, 0, 3) + batch(3, 3, 3), pos);
  REQUIRE_FALSE(out.err);
  CHECK(pos == 6);
  auto b = q.take(100, ignore_taken);
  REQUIRE(b.size() == 2);
  CHECK(b[0].offset == 4);
  CHECK(b[1].offset == 5);
}

TEST_CASE("a corrupt batch after good ones is an error, the good ones stay decoded") {
  decoded_queue q;
  int64_t pos = 0;
  auto bad = batch(2, 2, 2);
  bad[bad.size() - 1] ^= 0x55;  // the CRC no longer matches
  auto out = decode_into(q, "t", 0, batch(0, 0, 2) + bad, pos);
  REQUIRE(out.err);
  CHECK(out.err.to_string().find("corrupt batch at offset 2") != std::string::npos);
  CHECK(pos == 2);
  CHECK(q.size() == 2);
}

TEST_CASE("a batch claiming two billion records fails after its one record and keeps none") {
  // CRC checks off: the record count is what the decoder meets first.
  auto bytes = batch(0, 0, 1);
  storage::store_le<int32_t>(
      reinterpret_cast<uint8_t*>(bytes.data()) + storage::batch_layout::record_count,
      std::numeric_limits<int32_t>::max());
  decoded_queue q;
  record_decoder dec(false, false);
  std::vector<message> expired;
  auto f = fetch_of("t", 0, bytes);
  int64_t pos = 0;
  auto out = dec.decode(f, pos, q, expired);
  REQUIRE(out.err);
  CHECK(out.err.to_string().find("undecodable batch") != std::string::npos);
  CHECK(q.empty());
  CHECK(pos == 0);
}

TEST_CASE("bytes without one whole batch ask for a bigger fetch") {
  decoded_queue q;
  int64_t pos = 0;
  auto whole = batch(0, 0, 2);
  auto out = decode_into(q, "t", 0, whole.substr(0, whole.size() - 1), pos);
  CHECK_FALSE(out.err);
  CHECK(out.no_whole_batch);
  CHECK(q.empty());
}

TEST_CASE("a batch whose CRC holds but whose records do not fill it is undecodable") {
  // Three records written, two claimed (count and last delta), CRC redone:
  // only the record parse sees the third.
  auto bytes = batch(0, 0, 3);
  auto* p = reinterpret_cast<uint8_t*>(bytes.data());
  storage::store_le<int32_t>(p + storage::batch_layout::record_count, 2);
  storage::store_le<int32_t>(p + storage::batch_layout::last_offset_delta, 1);
  storage::store_crc(std::span<uint8_t>(p, bytes.size()));
  decoded_queue q;
  int64_t pos = 0;
  auto out = decode_into(q, "t", 0, bytes, pos);
  REQUIRE(out.err);
  CHECK(out.err.to_string().find("undecodable batch at offset 0") != std::string::npos);
  CHECK(q.empty());
  CHECK(pos == 0);
}

TEST_CASE("records past their topic's ttl are set aside as expired copies, not queued") {
  record_decoder dec(true, true);
  dec.set_topic_ttls({{"t", 60'000}});
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  // Two records born at 1970 + 1 s, two born now.
  auto f = fetch_of("t", 0, batch(0, 0, 2) + batch(2, 2, 2, false, now));
  decoded_queue q;
  std::vector<message> expired;
  int64_t pos = 0;
  auto out = dec.decode(f, pos, q, expired);
  REQUIRE_FALSE(out.err);
  CHECK(pos == 4);
  REQUIRE(expired.size() == 2);
  CHECK(expired[0].offset == 0);
  CHECK(expired[1].value == std::optional<std::string>("1"));
  CHECK(expired[1].id == message_id(7, 1));
  REQUIRE(q.size() == 2);
  CHECK(q.first_offset({"t", 0}) == 2);
}

TEST_CASE("expired records of a batch that fails to decode are not set aside") {
  record_decoder dec(true, true);
  dec.set_topic_ttls({{"t", 60'000}});
  auto bad = batch(0, 0, 3);  // expired records, one more than the header claims
  auto* p = reinterpret_cast<uint8_t*>(bad.data());
  storage::store_le<int32_t>(p + storage::batch_layout::record_count, 2);
  storage::store_le<int32_t>(p + storage::batch_layout::last_offset_delta, 1);
  storage::store_crc(std::span<uint8_t>(p, bad.size()));
  auto f = fetch_of("t", 0, bad);
  decoded_queue q;
  std::vector<message> expired;
  int64_t pos = 0;
  auto out = dec.decode(f, pos, q, expired);
  REQUIRE(out.err);
  CHECK(expired.empty());  // the batch comes again: dead-lettered once, then
  CHECK(q.empty());
  CHECK(pos == 0);
}
