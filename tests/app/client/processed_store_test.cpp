// Unit: the processed-id stores and the idempotent processor, on a real
// file in a temporary directory.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "actormq/client/file_processed_store.h"
#include "actormq/client/idempotent_processor.h"
#include "actormq/client/memory_processed_store.h"
#include "support/temp_dir.h"

using namespace actormq::client;
namespace fs = std::filesystem;

namespace {
message with_id(uint64_t n) {
  message m;
  m.topic = "t";
  m.value = "v" + std::to_string(n);
  m.id = message_id(99, n);
  return m;
}
}  // namespace

TEST_CASE("the memory store forgets the oldest ids beyond its capacity", "[client][idempotence]") {
  memory_processed_store s(3);
  for (uint64_t i = 1; i <= 4; ++i) REQUIRE(s.mark(message_id(1, i)));
  CHECK(s.size() == 3);
  CHECK_FALSE(*s.seen(message_id(1, 1)));
  CHECK(*s.seen(message_id(1, 2)));
  CHECK(*s.seen(message_id(1, 4)));
}

TEST_CASE("the processor runs the handler once per id and skips the copies",
          "[client][idempotence]") {
  memory_processed_store s;
  idempotent_processor p(s);
  int runs = 0;
  auto count = [&](const message&) -> result<void> {
    ++runs;
    return {};
  };
  CHECK(*p.process(with_id(1), count) == idempotent_processor::outcome::processed);
  CHECK(*p.process(with_id(1), count) == idempotent_processor::outcome::skipped);
  CHECK(*p.process(with_id(2), count) == idempotent_processor::outcome::processed);
  CHECK(runs == 2);
  CHECK(p.processed() == 2);
  CHECK(p.skipped() == 1);
}

TEST_CASE("a failing handler leaves the id unmarked, so the redelivery runs it again",
          "[client][idempotence]") {
  memory_processed_store s;
  idempotent_processor p(s);
  auto r = p.process(with_id(1), [](const message&) -> result<void> {
    return error(errc::invalid_argument, "handler failed");
  });
  REQUIRE_FALSE(r);
  CHECK_FALSE(*s.seen(message_id(99, 1)));
  int runs = 0;
  CHECK(*p.process(with_id(1), [&](const message&) -> result<void> {
    ++runs;
    return {};
  }) == idempotent_processor::outcome::processed);
  CHECK(runs == 1);
}

TEST_CASE("a message without an id is always handled", "[client][idempotence]") {
  memory_processed_store s;
  idempotent_processor p(s);
  message m;
  int runs = 0;
  auto count = [&](const message&) -> result<void> {
    ++runs;
    return {};
  };
  (void)p.process(m, count);
  (void)p.process(m, count);
  CHECK(runs == 2);
  CHECK(p.without_id() == 2);
}

TEST_CASE("the file store remembers processed ids across a reopen", "[client][idempotence]") {
  actormq::test::temp_dir dir("actormq-ids");
  auto path = (dir.path() / "ids").string();
  {
    auto s = file_processed_store::open(path);
    REQUIRE(s);
    for (uint64_t i = 1; i <= 100; ++i) REQUIRE((*s)->mark(message_id(5, i)));
  }
  CHECK(fs::file_size(path) == 100 * file_processed_store::entry_size);
  auto s = file_processed_store::open(path);
  REQUIRE(s);
  CHECK((*s)->size() == 100);
  CHECK(*(*s)->seen(message_id(5, 1)));
  CHECK(*(*s)->seen(message_id(5, 100)));
  CHECK_FALSE(*(*s)->seen(message_id(5, 101)));
  CHECK((*s)->truncated_entries() == 0);
}

TEST_CASE("the file store cuts a torn tail and keeps every whole entry before it",
          "[client][idempotence]") {
  actormq::test::temp_dir dir("actormq-ids");
  auto path = (dir.path() / "ids").string();
  {
    auto s = file_processed_store::open(path);
    REQUIRE(s);
    for (uint64_t i = 1; i <= 10; ++i) REQUIRE((*s)->mark(message_id(5, i)));
  }
  {
    std::ofstream f(path, std::ios::binary | std::ios::app);
    f.write("\x01\x02\x03\x04\x05\x06\x07", 7);  // a write cut short by a crash
  }
  auto s = file_processed_store::open(path);
  REQUIRE(s);
  CHECK((*s)->truncated_entries() == 1);
  CHECK((*s)->size() == 10);
  CHECK(fs::file_size(path) == 10 * file_processed_store::entry_size);
  REQUIRE((*s)->mark(message_id(5, 11)));
  auto again = file_processed_store::open(path);
  REQUIRE(again);
  CHECK((*again)->size() == 11);
  CHECK(*(*again)->seen(message_id(5, 11)));
}

TEST_CASE("the file store cuts at a corrupt entry", "[client][idempotence]") {
  actormq::test::temp_dir dir("actormq-ids");
  auto path = (dir.path() / "ids").string();
  {
    auto s = file_processed_store::open(path);
    REQUIRE(s);
    for (uint64_t i = 1; i <= 5; ++i) REQUIRE((*s)->mark(message_id(5, i)));
  }
  {
    int fd = ::open(path.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    char bad = 0x55;
    REQUIRE(::pwrite(fd, &bad, 1, 3 * file_processed_store::entry_size + 2) == 1);
    ::close(fd);
  }
  auto s = file_processed_store::open(path);
  REQUIRE(s);
  CHECK((*s)->size() == 3);
  CHECK((*s)->truncated_entries() == 2);
  CHECK_FALSE(*(*s)->seen(message_id(5, 4)));
}

TEST_CASE("the file store rewrites itself at twice its capacity and keeps the newest",
          "[client][idempotence]") {
  actormq::test::temp_dir dir("actormq-ids");
  auto path = (dir.path() / "ids").string();
  auto s = file_processed_store::open(path, 10);
  REQUIRE(s);
  for (uint64_t i = 1; i <= 25; ++i) REQUIRE((*s)->mark(message_id(5, i)));
  CHECK(fs::file_size(path) <= 20 * file_processed_store::entry_size);
  s->reset();
  auto again = file_processed_store::open(path, 10);
  REQUIRE(again);
  CHECK((*again)->size() == 10);
  CHECK(*(*again)->seen(message_id(5, 25)));
  CHECK(*(*again)->seen(message_id(5, 16)));
  CHECK_FALSE(*(*again)->seen(message_id(5, 15)));
}

TEST_CASE("on a full disk mark fails with storage_error and the id counts as not processed",
          "[client][idempotence]") {
  // /dev/full: every write fails with ENOSPC.
  auto s = file_processed_store::open("/dev/full");
  REQUIRE(s);
  auto r = (*s)->mark(message_id(5, 1));
  REQUIRE_FALSE(r);
  CHECK(r.err().is(errc::storage_error));
  CHECK(r.err().to_string().find("No space left on device") != std::string::npos);
  CHECK_FALSE(*(*s)->seen(message_id(5, 1)));  // processed again on redelivery
  idempotent_processor p(**s);
  int runs = 0;
  auto count = [&](const message&) -> result<void> {
    ++runs;
    return {};
  };
  REQUIRE_FALSE(p.process(with_id(2), count));  // do not commit past it
  CHECK(runs == 1);
  CHECK(p.processed() == 0);
}

TEST_CASE("a file store in a directory it cannot create fails with storage_error",
          "[client][idempotence]") {
  auto s = file_processed_store::open("/nonexistent-dir/ids");
  REQUIRE_FALSE(s);
  CHECK(s.err().is(errc::storage_error));
}
