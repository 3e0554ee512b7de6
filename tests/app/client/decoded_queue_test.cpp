// Unit: what a consumer holds between a fetch and poll(): the decoded
// messages waiting a fetch at a time. No broker needed.
#include "app/client/src/decoded_queue.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "fetched_batches.h"

using namespace actormq::client;
using namespace actormq::client::test;
using detail::decoded_queue;

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
    b = q.take(3, ignore_taken);
    auto whole = q.take(10, ignore_taken);
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
  (void)q.take(1, ignore_taken);  // offset 0 of p0
  CHECK(q.first_offset({"t", 0}) == 1);

  q.drop({"t", 0}, 3);  // 3, 4 of the first chunk and the whole third chunk
  CHECK(q.size() == 4);
  CHECK(q.first_offset({"t", 0}) == 1);
  auto b = q.take(100, ignore_taken);
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
  auto got = q.take(100, ignore_taken);
  REQUIRE(got.size() == 2);
  CHECK(got[0].value == "20");
}

TEST_CASE("a poll that takes a whole fetch reports its last offset") {
  decoded_queue q;
  queue_batch(q, "t", 3, 10, 0, 4);
  std::vector<int64_t> last;
  auto b = q.take(4, [&](const decoded_queue::chunk& c, const message_view& m) {
    CHECK(c.partition == 3);
    last.push_back(m.offset);
  });
  REQUIRE(b.size() == 4);
  CHECK(b[0].offset == 10);
  CHECK(last == std::vector<int64_t>{13});
  CHECK(q.empty());
}

TEST_CASE("dropping from an offset before what was taken drops the rest of the fetch") {
  decoded_queue q;
  queue_batch(q, "t", 0, 0, 0, 5);
  (void)q.take(3, ignore_taken);  // offsets 0-2
  q.drop({"t", 0}, 1);
  CHECK(q.empty());
  CHECK_FALSE(q.first_offset({"t", 0}));
  CHECK(q.take(10, ignore_taken).empty());
}

TEST_CASE("batches taken from one fetch stay intact while later polls move the rest of it") {
  decoded_queue q;
  queue_batch(q, "t", 0, 0, 0, 5);
  queue_batch(q, "t", 1, 0, 100, 3);
  std::weak_ptr<decoded_queue::decoded_fetch> first_fetch;
  auto b1 = q.take(2, [&](const decoded_queue::chunk& c, const message_view&) {
    first_fetch = c.fetch;
  });                                 // within the first fetch: points into it
  auto copy = b1;                     // shares it
  auto b2 = q.take(4, ignore_taken);  // 2, 3, 4 of the first fetch, then 100
  REQUIRE(b2.size() == 4);
  CHECK(b2[2].value == "4");
  CHECK(b2[3].value == "100");
  q.drop({"t", 1});  // the rest of the second fetch
  CHECK(q.empty());
  b1 = message_batch{};
  CHECK(b1.empty());
  REQUIRE_FALSE(first_fetch.expired());  // the queue is done with it; the copy keeps it
  REQUIRE(copy.size() == 2);
  CHECK(copy[0].value == "0");
  CHECK(copy[1].value == "1");
  CHECK(copy[1].id == message_id(7, 1));
  std::vector<int64_t> offsets;
  for (const auto& m : b2) offsets.push_back(m.offset);
  CHECK(offsets == std::vector<int64_t>{2, 3, 4, 0});
  auto moved = std::move(copy);
  CHECK(copy.empty());  // NOLINT(bugprone-use-after-move): a moved-from batch is empty
  REQUIRE(moved.size() == 2);
  moved = message_batch{};
  CHECK(first_fetch.expired());  // the last batch that pointed into it is gone
  CHECK(b2[0].value == "2");     // b2 moved its views out: it needs nothing of the fetch
}

TEST_CASE("dropping the rest of a fetch leaves the batches taken from it intact") {
  decoded_queue q;
  queue_batch(q, "t", 0, 0, 0, 6);
  auto b = q.take(2, ignore_taken);
  q.drop({"t", 0}, 4);  // offsets 4, 5
  REQUIRE(q.size() == 2);
  auto rest = q.take(10, ignore_taken);
  REQUIRE(rest.size() == 2);
  CHECK(rest[0].offset == 2);
  CHECK(rest[1].offset == 3);
  REQUIRE(b.size() == 2);
  CHECK(b[0].value == "0");
  CHECK(b[1].value == "1");
  CHECK(b.to_messages()[1].offset == 1);
}
