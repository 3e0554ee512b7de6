// Unit: what a consumer holds between a fetch and poll(): the record
// decoder's chunks and the queue they wait in. No broker needed.
#include <catch2/catch.hpp>
#include <limits>
#include <string>

#include "app/client/src/decoded_queue.h"
#include "app/client/src/record_decoder.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

using namespace actormq::client;
using detail::decoded_queue;
using detail::fetched;
using detail::record_decoder;
namespace storage = actormq::storage;

namespace {

/// A batch of n records valued "<first + i>" with base offset base, each
/// carrying a message id (prefix 7, counter first + i) and, when with_header,
/// a header "h" = "x".
std::string batch(int64_t base, int first, int n, bool with_header = false) {
  storage::record_batch_builder b;
  for (int i = 0; i < n; ++i) {
    message_id id(7, static_cast<uint64_t>(first + i));
    std::vector<storage::record_header> headers;
    if (with_header) headers.push_back({"h", std::string("x")});
    auto value = std::to_string(first + i);
    b.add(std::nullopt, std::string_view(value), storage::timestamp_ms(1000 + i),
          storage::record_header_view{message_id::header_key, id.bytes()}, headers);
  }
  auto bytes = b.build();
  storage::set_base_offset(
      std::span<uint8_t>(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()),
      storage::offset(base));
  return bytes;
}

fetched fetch_of(const std::string& topic, uint32_t partition, const std::string& bytes) {
  fetched f;
  f.tp = {topic, partition};
  f.bytes.assign(bytes);
  return f;
}

/// Decodes bytes of (topic, partition) from pos into q; returns the outcome.
record_decoder::outcome decode_into(decoded_queue& q, const std::string& topic, uint32_t partition,
                                    const std::string& bytes, int64_t& pos) {
  record_decoder dec(true, true);
  std::vector<message> expired;
  auto f = fetch_of(topic, partition, bytes);
  auto out = dec.decode(f, pos, q, expired);
  CHECK(expired.empty());
  return out;
}

/// Queues n records of (topic, partition) from offset base, valued first...
void queue_batch(decoded_queue& q, const std::string& topic, uint32_t partition, int64_t base,
                 int first, int n) {
  int64_t pos = base;
  REQUIRE_FALSE(decode_into(q, topic, partition, batch(base, first, n), pos).err);
  CHECK(pos == base + n);
}

void ignore(const decoded_queue::chunk&, const message_view&) {}

}  // namespace

TEST_CASE("decoded records keep their offsets, values and ids, the id's header left out") {
  decoded_queue q;
  int64_t pos = 0;
  auto out = decode_into(q, "t", 0, batch(0, 0, 3, true) + batch(3, 3, 2), pos);
  REQUIRE_FALSE(out.err);
  CHECK(pos == 5);
  REQUIRE(q.size() == 5);
  auto b = q.take(100, ignore);
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
  auto b = q.take(100, ignore);
  REQUIRE(b.size() == 2);
  CHECK(b[0].offset == 4);
  CHECK(b[1].offset == 5);
}

TEST_CASE("a poll takes at most its maximum, in fetch order, across chunks of two partitions") {
  decoded_queue q;
  queue_batch(q, "t", 0, 0, 0, 3);
  queue_batch(q, "t", 1, 0, 100, 4);
  REQUIRE(q.size() == 7);

  std::vector<std::pair<uint32_t, int64_t>> tracked;
  auto track = [&](const decoded_queue::chunk& c, const message_view& last) {
    CHECK(c.topic() == "t");
    tracked.emplace_back(c.partition, last.offset);
  };
  auto b1 = q.take(2, track);
  REQUIRE(b1.size() == 2);
  CHECK(b1[1].value == "1");
  auto b2 = q.take(3, track);  // the rest of partition 0, then the start of 1
  REQUIRE(b2.size() == 3);
  CHECK(b2[0].value == "2");
  CHECK(b2[1].value == "100");
  CHECK(b2[2].value == "101");
  auto b3 = q.take(0, track);  // at least one
  REQUIRE(b3.size() == 1);
  CHECK(b3[0].value == "102");
  auto b4 = q.take(100, track);
  REQUIRE(b4.size() == 1);
  CHECK(q.empty());
  CHECK(q.take(100, track).empty());
  // Once per chunk taken from, with the last offset taken of it.
  std::vector<std::pair<uint32_t, int64_t>> want = {{0, 1}, {0, 2}, {1, 1}, {1, 2}, {1, 3}};
  CHECK(tracked == want);
}

TEST_CASE("a batch's views stay valid after the queue and the fetch are gone") {
  message_batch b;
  {
    decoded_queue q;
    queue_batch(q, "topic-of-a-longer-name", 2, 0, 0, 4);
    b = q.take(3, ignore);
    auto whole = q.take(10, ignore);
    REQUIRE(whole.size() == 1);
  }
  REQUIRE(b.size() == 3);
  CHECK(b[2].topic == "topic-of-a-longer-name");
  CHECK(b[2].value == "2");
  CHECK(b.to_messages()[1].value == std::optional<std::string>("1"));
}

TEST_CASE(
    "dropping a partition from an offset keeps what comes before it and the other partitions") {
  decoded_queue q;
  queue_batch(q, "t", 0, 0, 0, 5);
  queue_batch(q, "t", 1, 0, 100, 2);
  queue_batch(q, "t", 0, 5, 5, 2);
  (void)q.take(1, ignore);  // offset 0 of p0
  CHECK(q.first_offset({"t", 0}) == 1);

  q.drop({"t", 0}, 3);  // 3, 4 of the first chunk and the whole third chunk
  CHECK(q.size() == 4);
  CHECK(q.first_offset({"t", 0}) == 1);
  auto b = q.take(100, ignore);
  REQUIRE(b.size() == 4);
  CHECK(b[0].offset == 1);
  CHECK(b[1].offset == 2);
  CHECK(b[2].value == "100");
  CHECK(b[3].value == "101");
}

TEST_CASE("dropping a whole partition, and keeping only the assigned ones") {
  decoded_queue q;
  queue_batch(q, "t", 0, 0, 0, 2);
  queue_batch(q, "t", 1, 0, 10, 2);
  queue_batch(q, "u", 0, 0, 20, 2);
  q.drop({"t", 1});
  CHECK(q.size() == 4);
  CHECK_FALSE(q.first_offset({"t", 1}));
  q.keep_only({{"u", 0}});
  CHECK(q.size() == 2);
  CHECK_FALSE(q.first_offset({"t", 0}));
  auto got = q.take(100, ignore);
  REQUIRE(got.size() == 2);
  CHECK(got[0].value == "20");
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

TEST_CASE("a batch whose header claims two billion records reserves no more than its bytes hold") {
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
