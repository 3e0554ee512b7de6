// The worked example of docs/storage-format.md, byte for byte: if this test
// fails, the format changed and the document must change with it.

#include <catch2/catch.hpp>

#include "storage/log_test_util.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

using namespace actormq::storage;
using namespace actormq::storage::test;

TEST_CASE("the batch in the format document is what the builder writes") {
  record_batch_builder b;
  b.add(std::string_view("k1"), std::string_view("hello"), timestamp_ms(1'700'000'000'000));
  b.add(std::nullopt, std::string_view("x"), timestamp_ms(1'700'000'000'005),
        {{"h", std::string("1")}});
  auto batch = b.build();
  set_base_offset(mut_span(batch), offset(42));
  const uint8_t want[] = {0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00,
                          0xf0, 0x99, 0x66, 0xe5, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                          0x00, 0x68, 0xe5, 0xcf, 0x8b, 0x01, 0x00, 0x00, 0x05, 0x68, 0xe5, 0xcf,
                          0x8b, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x1a, 0x00,
                          0x00, 0x00, 0x04, 0x6b, 0x31, 0x0a, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
                          0x16, 0x00, 0x0a, 0x02, 0x01, 0x02, 0x78, 0x02, 0x02, 0x68, 0x02, 0x31};
  REQUIRE(batch.size() == sizeof(want));
  CHECK(batch == std::string(reinterpret_cast<const char*>(want), sizeof(want)));
  auto h = validate_batch(const_span(batch), 1 << 20, validation::full_records);
  REQUIRE(h);
  CHECK(h->base_offset == offset(42));
  CHECK(h->batch_length == 72);
  CHECK(h->crc == 0xe56699f0u);
  CHECK(h->next_offset() == offset(44));
}

TEST_CASE("segment files are named by their zero padded base offset") {
  CHECK(segment::file_name(offset(0), "log") == "00000000000000000000.log");
  CHECK(segment::file_name(offset(1234567), "index") == "00000000000001234567.index");
  CHECK(segment::file_name(offset(42), "timeindex") == "00000000000000000042.timeindex");
}
